#include "tokenizer/wordpiece_model.h"

#include <string>

#include "tokenizer/unicode.h"

namespace acorn {

Result<WordPieceModel> WordPieceModel::Create(const TokenizerSpec* spec, const StringIdMap* vocab_map) {
  if (spec->unk_id < 0) return ACORN_ERROR(kMalformed, "WordPiece tokenizer without an unknown token");
  WordPieceModel m;
  m.spec_ = spec;
  m.vocab_ = vocab_map;
  return m;
}

void WordPieceModel::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  const TokenizerSpec& spec = *spec_;
  size_t chars = 0;
  for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
  if (chars > spec.max_input_chars_per_word) {
    ids->push_back(spec.unk_id);
    return;
  }
  const size_t first = ids->size();
  std::string candidate;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    int32_t found = -1;
    while (start < end) {
      std::string_view sub = word.substr(start, end - start);
      if (start > 0) {
        candidate.assign(spec.continuing_subword_prefix);
        candidate.append(sub);
        found = vocab_->Find(candidate);
      } else {
        found = vocab_->Find(sub);
      }
      if (found >= 0) break;
      // Drop the last character of the candidate.
      do {
        --end;
      } while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      ids->resize(first);
      ids->push_back(spec.unk_id);
      return;
    }
    ids->push_back(found);
    start = end;
  }
}

}  // namespace acorn

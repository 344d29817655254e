#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "core/thread_local.h"
#include "tokenizer/unicode.h"

namespace acorn {

Result<BpeModel> BpeModel::Create(const TokenizerSpec* spec, const StringIdMap* vocab_map) {
  BpeModel m;
  m.spec_ = spec;
  m.vocab_ = vocab_map;
  const int32_t n = static_cast<int32_t>(spec->vocab.size());
  m.merges_.Reserve(spec->merges.size());
  std::string merged;
  for (size_t rank = 0; rank < spec->merges.size(); ++rank) {
    auto [left, right] = spec->merges[rank];
    if (left < 0 || left >= n || right < 0 || right >= n || spec->vocab[left].empty() || spec->vocab[right].empty()) {
      return ACORN_ERROR(kMalformed, "BPE merge %zu names a token id outside the vocabulary (%" PRId32 ", %" PRId32 ")",
                         rank, left, right);
    }
    // A merge's result drops the right side's continuing_subword_prefix (HF does the same).
    std::string_view right_text = spec->vocab[right];
    const std::string& prefix = spec->continuing_subword_prefix;
    if (!prefix.empty() && right_text.substr(0, prefix.size()) == prefix) right_text.remove_prefix(prefix.size());
    merged.assign(spec->vocab[left]);
    merged.append(right_text);
    int32_t merged_id = vocab_map->Find(merged);
    if (merged_id < 0) {
      return ACORN_ERROR(kMalformed, "BPE merge %zu (\"%s\" \"%s\") makes a token that is not in the vocabulary", rank,
                         spec->vocab[left].c_str(), spec->vocab[right].c_str());
    }
    m.merges_.Insert(left, right, {static_cast<int32_t>(rank), merged_id});
  }
  m.all_bytes_present_ = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    m.byte_ids_[b] = vocab_map->Find(name);
    if (m.byte_ids_[b] < 0) m.all_bytes_present_ = false;
  }
  return m;
}

void BpeModel::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  const TokenizerSpec& spec = *spec_;
  if (spec.ignore_merges) {
    int32_t whole = vocab_->Find(word);
    if (whole >= 0) {
      ids->push_back(whole);
      return;
    }
  }
  ACORN_THREAD_LOCAL std::vector<Symbol> symbols;
  ACORN_THREAD_LOCAL std::string piece;
  symbols.clear();
  const bool affixes = !spec.continuing_subword_prefix.empty() || !spec.end_of_word_suffix.empty();
  bool last_was_unk = false;
  for (size_t i = 0; i < word.size();) {
    int len = unicode::Utf8Length(static_cast<unsigned char>(word[i]));
    if (i + len > word.size()) len = static_cast<int>(word.size() - i);
    std::string_view ch = word.substr(i, len);
    int32_t id;
    if (affixes) {
      piece.clear();
      if (i > 0) piece += spec.continuing_subword_prefix;
      piece.append(ch);
      if (i + len == word.size()) piece += spec.end_of_word_suffix;
      id = vocab_->Find(piece);
    } else {
      id = vocab_->Find(ch);
    }
    i += len;
    if (id >= 0) {
      symbols.push_back({id, -1, -1});
      last_was_unk = false;
      continue;
    }
    if (spec.byte_fallback) {
      bool all = true;
      for (unsigned char b : ch) all = all && byte_ids_[b] >= 0;
      if (all) {
        for (unsigned char b : ch) symbols.push_back({byte_ids_[b], -1, -1});
        last_was_unk = false;
        continue;
      }
    }
    if (spec.unk_id >= 0) {
      if (!(spec.fuse_unk && last_was_unk)) symbols.push_back({spec.unk_id, -1, -1});
      last_was_unk = true;
    }
  }
  Merge(&symbols, ids);
}

void BpeModel::Merge(std::vector<Symbol>* symbols_ptr, std::vector<int32_t>* ids) const {
  std::vector<Symbol>& symbols = *symbols_ptr;
  const int32_t n = static_cast<int32_t>(symbols.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
  // Candidate merges ordered by (rank, position): a min-heap over a reused vector.
  struct Candidate {
    int32_t rank, pos, merged;
  };
  ACORN_THREAD_LOCAL std::vector<Candidate> heap;
  heap.clear();
  auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  auto push = [&](int32_t pos) {
    int32_t next = symbols[pos].next;
    if (next < 0) return;
    const MergeMap::Merge* m = merges_.Find(symbols[pos].id, symbols[next].id);
    if (!m) return;
    heap.push_back({m->rank, pos, m->merged});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[c.pos];
    if (left.id < 0 || left.next < 0) continue;  // merged away, or now the last symbol
    Symbol& right = symbols[left.next];
    // Stale when the pair no longer merges into the same token (the test HF makes).
    const MergeMap::Merge* m = merges_.Find(left.id, right.id);
    if (!m || m->merged != c.merged) continue;
    left.id = c.merged;
    int32_t removed = left.next;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.pos;
    symbols[removed].id = -1;
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i < n; ++i) {
    if (symbols[i].id >= 0) ids->push_back(symbols[i].id);
  }
}

}  // namespace acorn

// The WordPiece model (HF models.WordPiece, BERT): greedy longest match from the left, pieces
// after the first spelled with the continuing prefix ("##"); a word with any unmatched rest, or
// longer than max_input_chars_per_word characters, becomes the unknown token.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "tokenizer/hash_tables.h"

namespace acorn {

class WordPieceModel {
 public:
  static Result<WordPieceModel> Create(const TokenizerSpec* spec, const StringIdMap* vocab_map);
  void Encode(std::string_view word, std::vector<int32_t>* ids) const;

 private:
  const TokenizerSpec* spec_ = nullptr;
  const StringIdMap* vocab_ = nullptr;
};

}  // namespace acorn

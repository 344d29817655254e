// The BPE model (HF models.BPE): a pre-token is split into characters (or byte tokens <0xXX> when
// a character is not in the vocabulary and byte_fallback is on), then adjacent symbols are merged,
// lowest merge rank first, leftmost first on ties, until no merge applies.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "tokenizer/hash_tables.h"

namespace acorn {

class BpeModel {
 public:
  // spec and vocab_map must outlive the model.
  static Result<BpeModel> Create(const TokenizerSpec* spec, const StringIdMap* vocab_map);
  void Encode(std::string_view word, std::vector<int32_t>* ids) const;

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbours in the linked list, -1 at the ends
  };
  void Merge(std::vector<Symbol>* symbols, std::vector<int32_t>* ids) const;

  const TokenizerSpec* spec_ = nullptr;
  const StringIdMap* vocab_ = nullptr;
  MergeMap merges_;
  int32_t byte_ids_[256];
  bool all_bytes_present_ = false;
};

}  // namespace acorn

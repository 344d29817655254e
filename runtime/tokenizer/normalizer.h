// The normalizer pipeline (HF `normalizers`): Prepend, Replace, Lowercase, NFC/NFD/NFKC/NFKD,
// StripAccents, BertNormalizer and Strip, applied in order to each stretch of text between added
// tokens. Offsets are not tracked: acorn needs ids, not alignments.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "tokenizer/regex.h"

namespace acorn {

class Normalizer {
 public:
  static Result<Normalizer> Create(const std::vector<NormalizerStep>& steps);
  bool empty() const { return steps_.empty(); }
  // text is valid UTF-8; so is the result. `budget` is the regex step allowance of the caller's
  // whole job (Regex::FindAll); an error when a regex runs out of it or the text grows past
  // limits::kMaxTokenizerExpansion.
  Status Apply(std::string_view text, std::string* out, uint64_t* budget) const;

 private:
  std::vector<NormalizerStep> steps_;
  std::vector<std::unique_ptr<Regex>> regexes_;  // per step; null unless a regex Replace
};

// Replaces every non-overlapping occurrence of a pattern (literal or regex) left to right.
// Fails only when the regex runs out of steps (budget as in Regex::FindAll) or the result would be
// longer than max_bytes.
Status ReplaceAll(std::string_view text, const TokenizerPattern& pattern, const Regex* regex,
                  std::string_view content, uint64_t* budget, size_t max_bytes, std::string* out);
std::string ReplaceLiteral(std::string_view text, std::string_view needle, std::string_view content);
// The longest text normalizing (or decoding) `bytes` bytes may make (limits::kMaxTokenizerExpansion).
size_t MaxExpandedBytes(size_t bytes);

}  // namespace acorn

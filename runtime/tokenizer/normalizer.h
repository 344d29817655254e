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
  // text is valid UTF-8; so is the result.
  std::string Apply(std::string_view text) const;

 private:
  std::vector<NormalizerStep> steps_;
  std::vector<std::unique_ptr<Regex>> regexes_;  // per step; null unless a regex Replace
};

// Replaces every non-overlapping occurrence of a pattern (literal or regex) left to right.
std::string ReplaceAll(std::string_view text, const TokenizerPattern& pattern, const Regex* regex,
                       std::string_view content);

}  // namespace acorn

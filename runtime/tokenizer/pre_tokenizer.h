// The pre-tokenizer pipeline (HF `pre_tokenizers`): cuts normalized text into pre-tokens (words)
// that the model encodes one by one. Each step refines every piece of the previous step.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "tokenizer/regex.h"

namespace acorn {

struct PreToken {
  std::string text;
  bool at_origin;  // starts at offset 0 of the original input (Metaspace prepend_scheme "first")
};

class PreTokenizer {
 public:
  static Result<PreTokenizer> Create(const std::vector<PreTokenizerStep>& steps);
  // Appends the non-empty pre-tokens of text to out. `budget`: the regex step allowance of the
  // caller's whole job (Regex::FindAll); an error when a regex runs out of it.
  Status Split(std::string_view text, bool at_origin, std::vector<PreToken>* out, uint64_t* budget) const;

 private:
  std::vector<PreTokenizerStep> steps_;
  std::vector<std::unique_ptr<Regex>> regexes_;  // per step; null where none is needed
};

}  // namespace acorn

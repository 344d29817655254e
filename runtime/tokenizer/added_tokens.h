// Added tokens (HF AddedVocabulary): special and user tokens found in the text before the model
// runs, with HF's rules: leftmost-longest match, then single_word (skip a match inside a word),
// lstrip / rstrip (swallow white space beside the token).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acorn/tokenizer_spec.h"

namespace acorn {

struct TextSegment {
  int32_t id;  // the added token's id, or -1 for plain text
  size_t begin, end;
};

// Where special added tokens may be recognized (non-special ones always are): nowhere with
// split_all (HF's split_special_tokens), else outside the `untrusted` byte ranges of the text.
struct SpecialTokenPolicy {
  bool split_all = false;
  const std::vector<std::pair<size_t, size_t>>* untrusted = nullptr;  // sorted, disjoint [begin, end)
  // Whether a special token may be recognized at [begin, end).
  bool Allows(size_t begin, size_t end) const;
};

class AddedTokenMatcher {
 public:
  // patterns[i] is what to look for in the text for tokens[i] (the raw or the normalized content).
  void Build(std::vector<const AddedTokenSpec*> tokens, std::vector<std::string> patterns);
  bool empty() const { return tokens_.empty(); }
  // Cuts text into added tokens and the plain text between them (an empty text gives one empty
  // plain segment, as HF does). Without a policy every special token is recognized.
  void Split(std::string_view text, std::vector<TextSegment>* out, const SpecialTokenPolicy* policy = nullptr) const;

 private:
  std::vector<const AddedTokenSpec*> tokens_;
  std::vector<std::string> patterns_;
  std::vector<std::vector<uint32_t>> by_first_byte_;  // indices into tokens_, longest pattern first
};

}  // namespace acorn

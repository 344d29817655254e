// A small backtracking regular-expression engine for pre-tokenizer and Replace patterns, with the
// semantics of Oniguruma (what Hugging Face uses): leftmost-first alternation, greedy, lazy and
// possessive quantifiers, Unicode classes. Supported: literals and escapes (\n \r \t \f \v \e \xHH
// \x{H..} \uHHHH, escaped punctuation), `.`, classes [...] with ranges, negation and nested
// escapes, \s \S \d \D \w \W \h, \p{..} / \P{..} for general categories (L, Lu, N, Nd, P, ...) and
// White_Space / Alphabetic, groups (...), (?:...), (?i:...), (?i) for the rest of a group, lookahead
// (?=...) (?!...), anchors ^ $ \A \z, quantifiers ? * + {n} {n,} {n,m} with ? (lazy) or + (possessive).
// Not supported (Compile reports kUnsupported): backreferences, lookbehind, named groups, scripts.
// A match attempt that runs past kStepBudget steps (catastrophic backtracking) counts as no match.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acorn/status.h"

namespace acorn {

class Regex {
 public:
  static Result<Regex> Compile(std::string_view pattern);

  // Leftmost match at or after byte offset `from` of `text` (valid UTF-8). Offsets are bytes.
  bool Find(std::string_view text, size_t from, size_t* begin, size_t* end) const;
  // All non-overlapping matches, left to right (after an empty match the search moves on a char).
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

  const std::string& pattern() const { return pattern_; }

  // Internals, public for the parser and compiler in regex.cpp.
  struct ClassItem {
    enum Kind : uint8_t { kRange, kCategories, kWhiteSpace, kWord, kAlphabetic } kind;
    bool negated;
    uint32_t lo, hi;  // kRange
    uint32_t mask;    // kCategories
  };
  struct CharClass {
    bool negated = false;
    std::vector<ClassItem> items;
    uint64_t ascii[2] = {0, 0};
    bool Matches(uint32_t cp) const {
      if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1;
      return MatchesSlow(cp);
    }
    bool MatchesSlow(uint32_t cp) const;
    void Finish();  // fills the ASCII bitmap
  };
  enum class Op : uint8_t { kClass, kSplit, kJmp, kMatch, kRepeatClass, kLook, kBegin, kEnd };
  enum class Mode : uint8_t { kGreedy, kLazy, kPossessive };
  struct Inst {
    Op op;
    Mode mode;
    bool negate;
    int32_t x, y;  // jump targets (kSplit: preferred x, other y; kLook: body x, continue y)
    int32_t cls;
    uint32_t min, max;
  };

 private:
  bool MatchAt(std::string_view text, size_t pos, size_t* end) const;
  struct Frame {
    int32_t pc;
    uint8_t kind;  // 0: resume at pc, 1: greedy repeat gives back a char, 2: lazy repeat takes one more
    uint32_t remaining;
    size_t pos;
  };
  bool Run(int32_t pc, const char* text, size_t pos, size_t len, size_t* end, std::vector<Frame>* stack,
           uint64_t* budget) const;
  // Steps one match attempt may take (Oniguruma's default retry limit is of the same order).
  static constexpr uint64_t kStepBudget = 10000000;

  std::string pattern_;
  std::vector<CharClass> classes_;
  std::vector<Inst> program_;
};

}  // namespace acorn

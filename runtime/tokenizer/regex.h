// A small backtracking regular-expression engine for pre-tokenizer and Replace patterns, with the
// semantics of Oniguruma (what Hugging Face uses): leftmost-first alternation, greedy, lazy and
// possessive quantifiers, Unicode classes. Supported: literals and escapes (\n \r \t \f \v \e \xHH
// \x{H..} \uHHHH, escaped punctuation), `.`, classes [...] with ranges, negation and nested
// escapes, \s \S \d \D \w \W \h, \p{..} / \P{..} for general categories (L, Lu, N, Nd, P, ...) and
// White_Space / Alphabetic, groups (...), (?:...), (?i:...), (?i) for the rest of a group, lookahead
// (?=...) (?!...), anchors ^ $ \A \z, quantifiers ? * + {n} {n,} {n,m} with ? (lazy) or + (possessive).
// Not supported (Compile reports kUnsupported): backreferences, lookbehind, named groups, scripts.
//
// Patterns come from untrusted files, so every cost is bounded by core/limits.h: Compile refuses a
// pattern longer than kMaxRegexPatternBytes, nesting groups and quantifiers deeper than
// kMaxRegexNesting (which also bounds every recursion here: parse, compile, node destruction and
// lookahead), counted repeats above kMaxRegexRepeat and programs above kMaxRegexProgram (checked
// before anything is expanded). A search may take kRegexStepsBase + kRegexStepsPerByte * bytes
// steps; past that it fails with kOutOfRange rather than report "no match", which would silently
// change what the caller does with the text. An iteration of a loop that consumes nothing ends the
// loop, so `(a*)*` cannot spin.
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

  // The step allowance of one search of `bytes` bytes of input (limits.h).
  static uint64_t StepBudget(size_t bytes);

  // Leftmost match at or after byte offset `from` of `text` (valid UTF-8). Offsets are bytes.
  // *found tells whether there is one; an error means the search ran out of steps.
  Status Find(std::string_view text, size_t from, size_t* begin, size_t* end, bool* found) const;
  // All non-overlapping matches, left to right (after an empty match the search moves on a char).
  // `budget`, when given, is the caller's step allowance, shared by every search of one larger job
  // (a whole tokenize call) and decremented; without it the search gets StepBudget(text.size()).
  Status FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches,
                 uint64_t* budget = nullptr) const;

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
  // kMark saves the position in slot `cls` as an unbounded loop's iteration starts; kProgress fails
  // an iteration that ended where it started (the empty-loop guard).
  enum class Op : uint8_t { kClass, kSplit, kJmp, kMatch, kRepeatClass, kLook, kBegin, kEnd, kMark, kProgress };
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
  struct Frame {
    int32_t pc;
    uint8_t kind;  // 0: resume at pc, 1: greedy repeat gives back a char, 2: lazy repeat takes one
                   // more, 3: restore loop slot pc to pos
    uint32_t remaining;
    size_t pos;
  };
  enum class Outcome : uint8_t { kNoMatch, kMatch, kOutOfSteps, kOutOfStack };
  struct State;
  Outcome Run(int32_t pc, const char* text, size_t pos, size_t len, size_t* end, State* state) const;
  Status FindWithBudget(std::string_view text, size_t from, size_t* begin, size_t* end, bool* found,
                        uint64_t* budget) const;

  std::string pattern_;
  std::vector<CharClass> classes_;
  std::vector<Inst> program_;
  uint32_t loop_slots_ = 0;  // kMark/kProgress slots
};

}  // namespace acorn

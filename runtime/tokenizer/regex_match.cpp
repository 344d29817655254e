// Regex, part two: run the compiled program, backtracking (regex_compile.cpp builds it).
#include "tokenizer/regex.h"

#include "core/limits.h"
#include "core/thread_local.h"
#include "tokenizer/unicode.h"

namespace acorn {

namespace {
inline uint32_t DecodeAt(const char* text, size_t pos, size_t len, int* n) {
  unsigned char c = static_cast<unsigned char>(text[pos]);
  if (c < 0x80) {
    *n = 1;
    return c;
  }
  return unicode::DecodeUtf8(text + pos, text + len, n);
}
inline size_t StepBack(const char* text, size_t pos) {
  do {
    --pos;
  } while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80);
  return pos;
}
}  // namespace

struct Regex::State {
  std::vector<Frame>* stack;
  std::vector<size_t> slots;  // kMark positions, one per guarded loop
  uint64_t* budget;
};

uint64_t Regex::StepBudget(size_t bytes) {
  return limits::kRegexStepsBase + limits::kRegexStepsPerByte * static_cast<uint64_t>(bytes);
}

Regex::Outcome Regex::Run(int32_t start_pc, const char* text, size_t start_pos, size_t len, size_t* end,
                          State* state) const {
  std::vector<Frame>* stack = state->stack;
  uint64_t& budget = *state->budget;
  const size_t base = stack->size();
  int32_t pc = start_pc;
  size_t pos = start_pos;
  auto push = [&](const Frame& f) {
    if (stack->size() >= limits::kMaxRegexBacktrack) return false;
    stack->push_back(f);
    return true;
  };
  for (;;) {
    // A pattern that backtracks without end (possible in an untrusted tokenizer) stops here, with an
    // error for the caller rather than a silent "no match".
    if (budget == 0) {
      stack->resize(base);
      return Outcome::kOutOfSteps;
    }
    --budget;
    const Inst& in = program_[pc];
    bool ok = true;
    switch (in.op) {
      case Op::kClass: {
        if (pos >= len) {
          ok = false;
          break;
        }
        int n;
        uint32_t cp = DecodeAt(text, pos, len, &n);
        if (classes_[in.cls].Matches(cp)) {
          pos += n;
          ++pc;
        } else {
          ok = false;
        }
        break;
      }
      case Op::kSplit:
        if (!push({in.y, 0, 0, pos})) {
          stack->resize(base);
          return Outcome::kOutOfStack;
        }
        pc = in.x;
        break;
      case Op::kJmp:
        pc = in.x;
        break;
      case Op::kMatch:
        *end = pos;
        stack->resize(base);
        return Outcome::kMatch;
      case Op::kBegin:
        ok = pos == 0;
        ++pc;
        break;
      case Op::kEnd:
        ok = pos == len;
        ++pc;
        break;
      case Op::kMark: {
        size_t& slot = state->slots[static_cast<size_t>(in.cls)];
        if (!push({in.cls, 3, 0, slot})) {
          stack->resize(base);
          return Outcome::kOutOfStack;
        }
        slot = pos;
        ++pc;
        break;
      }
      case Op::kProgress:
        ok = state->slots[static_cast<size_t>(in.cls)] != pos;
        ++pc;
        break;
      case Op::kRepeatClass: {
        const CharClass& cls = classes_[in.cls];
        uint32_t limit = in.mode == Mode::kLazy ? in.min : in.max;
        uint32_t count = 0;
        // Each character taken is a step: otherwise a possessive or failing repeat retried at every
        // position would do quadratic work on few steps.
        while (count < limit && pos < len && budget > 0) {
          int n;
          uint32_t cp = DecodeAt(text, pos, len, &n);
          if (!cls.Matches(cp)) break;
          pos += n;
          ++count;
          --budget;
        }
        if (count < in.min) {
          ok = false;
          break;
        }
        bool pushed = true;
        if (in.mode == Mode::kGreedy && count > in.min) {
          pushed = push({pc + 1, 1, count - in.min, pos});
        } else if (in.mode == Mode::kLazy && in.max > in.min) {
          pushed = push({pc, 2, in.max - in.min, pos});
        }
        if (!pushed) {
          stack->resize(base);
          return Outcome::kOutOfStack;
        }
        ++pc;
        break;
      }
      case Op::kLook: {
        // Recursion as deep as lookaheads nest, which Compile bounds (kMaxRegexNesting).
        size_t ignored;
        Outcome inner = Run(in.x, text, pos, len, &ignored, state);
        if (inner == Outcome::kOutOfSteps || inner == Outcome::kOutOfStack) {
          stack->resize(base);
          return inner;
        }
        if ((inner == Outcome::kMatch) == in.negate) {
          ok = false;
        } else {
          pc = in.y;
        }
        break;
      }
    }
    if (ok) continue;
    // Backtrack.
    for (;;) {
      if (stack->size() == base) return Outcome::kNoMatch;
      Frame& f = stack->back();
      if (f.kind == 0) {
        pc = f.pc;
        pos = f.pos;
        stack->pop_back();
        break;
      }
      if (f.kind == 3) {  // leaving a loop iteration: its slot goes back to the outer value
        state->slots[static_cast<size_t>(f.pc)] = f.pos;
        stack->pop_back();
        continue;
      }
      if (f.kind == 1) {  // greedy: give back one character
        f.pos = StepBack(text, f.pos);
        pos = f.pos;
        pc = f.pc;
        if (--f.remaining == 0) stack->pop_back();
        break;
      }
      // lazy: take one more character if the class accepts it
      const Inst& rep = program_[f.pc];
      if (f.pos >= len) {
        stack->pop_back();
        continue;
      }
      int n;
      uint32_t cp = DecodeAt(text, f.pos, len, &n);
      if (!classes_[rep.cls].Matches(cp)) {
        stack->pop_back();
        continue;
      }
      f.pos += n;
      pos = f.pos;
      pc = f.pc + 1;
      if (--f.remaining == 0) stack->pop_back();
      break;
    }
  }
}

Status Regex::FindWithBudget(std::string_view text, size_t from, size_t* begin, size_t* end, bool* found,
                             uint64_t* budget) const {
  ACORN_THREAD_LOCAL std::vector<Frame> stack;
  State state{&stack, std::vector<size_t>(loop_slots_, 0), budget};
  *found = false;
  Outcome outcome = Outcome::kNoMatch;
  for (size_t pos = from; pos <= text.size();) {
    stack.clear();
    outcome = Run(0, text.data(), pos, text.size(), end, &state);
    if (outcome == Outcome::kMatch) {
      *begin = pos;
      *found = true;
      break;
    }
    if (outcome != Outcome::kNoMatch) break;
    if (pos == text.size()) break;
    pos += unicode::Utf8Length(static_cast<unsigned char>(text[pos]));
  }
  // A hostile search may have grown the stack far beyond what ordinary text needs; give it back.
  if (stack.capacity() > (size_t{1} << 16)) std::vector<Frame>().swap(stack);
  if (outcome != Outcome::kOutOfSteps && outcome != Outcome::kOutOfStack) return Status::Ok();
  std::string shown = pattern_.substr(0, 80);
  const char* more = pattern_.size() > shown.size() ? "..." : "";
  if (outcome == Outcome::kOutOfSteps) {
    return ACORN_ERROR(kOutOfRange,
                       "regex /%s%s/ on %zu bytes of text ran past its step limit (%llu + %llu per byte of input, "
                       "limits::kRegexStepsBase and kRegexStepsPerByte): the pattern backtracks catastrophically on "
                       "this text; fix the tokenizer's pattern",
                       shown.c_str(), more, text.size(), static_cast<unsigned long long>(limits::kRegexStepsBase),
                       static_cast<unsigned long long>(limits::kRegexStepsPerByte));
  }
  return ACORN_ERROR(kOutOfRange,
                     "regex /%s%s/ on %zu bytes of text holds more than %zu backtracking points "
                     "(limits::kMaxRegexBacktrack); fix the tokenizer's pattern",
                     shown.c_str(), more, text.size(), limits::kMaxRegexBacktrack);
}

Status Regex::Find(std::string_view text, size_t from, size_t* begin, size_t* end, bool* found) const {
  uint64_t budget = StepBudget(text.size());
  return FindWithBudget(text, from, begin, end, found, &budget);
}

Status Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches,
                      uint64_t* budget) const {
  matches->clear();
  uint64_t own = StepBudget(text.size());
  if (budget == nullptr) budget = &own;
  size_t pos = 0;
  size_t b, e;
  bool found = true;
  while (pos <= text.size()) {
    ACORN_RETURN_IF_ERROR(FindWithBudget(text, pos, &b, &e, &found, budget));
    if (!found) break;
    matches->push_back({b, e});
    if (e == b) {
      if (e >= text.size()) break;
      pos = e + unicode::Utf8Length(static_cast<unsigned char>(text[e]));
    } else {
      pos = e;
    }
  }
  return Status::Ok();
}

}  // namespace acorn

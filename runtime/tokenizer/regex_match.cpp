// Regex, part two: run the compiled program, backtracking (regex_compile.cpp builds it).
#include "tokenizer/regex.h"

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

bool Regex::Run(int32_t start_pc, const char* text, size_t start_pos, size_t len, size_t* end,
                std::vector<Frame>* stack, uint64_t* budget) const {
  const size_t base = stack->size();
  int32_t pc = start_pc;
  size_t pos = start_pos;
  for (;;) {
    // A pattern that backtracks without end (possible in an untrusted bundle) gives up here, as
    // Oniguruma does at its retry limit; the attempt at this position then counts as no match.
    if (*budget == 0) {
      stack->resize(base);
      return false;
    }
    --*budget;
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
        stack->push_back({in.y, 0, 0, pos});
        pc = in.x;
        break;
      case Op::kJmp:
        pc = in.x;
        break;
      case Op::kMatch:
        *end = pos;
        stack->resize(base);
        return true;
      case Op::kBegin:
        ok = pos == 0;
        ++pc;
        break;
      case Op::kEnd:
        ok = pos == len;
        ++pc;
        break;
      case Op::kRepeatClass: {
        const CharClass& cls = classes_[in.cls];
        uint32_t limit = in.mode == Mode::kLazy ? in.min : in.max;
        uint32_t count = 0;
        while (count < limit && pos < len) {
          int n;
          uint32_t cp = DecodeAt(text, pos, len, &n);
          if (!cls.Matches(cp)) break;
          pos += n;
          ++count;
        }
        if (count < in.min) {
          ok = false;
          break;
        }
        if (in.mode == Mode::kGreedy && count > in.min) {
          stack->push_back({pc + 1, 1, count - in.min, pos});
        } else if (in.mode == Mode::kLazy && in.max > in.min) {
          stack->push_back({pc, 2, in.max - in.min, pos});
        }
        ++pc;
        break;
      }
      case Op::kLook: {
        size_t ignored;
        bool matched = Run(in.x, text, pos, len, &ignored, stack, budget);
        if (matched == in.negate) {
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
      if (stack->size() == base) return false;
      Frame& f = stack->back();
      if (f.kind == 0) {
        pc = f.pc;
        pos = f.pos;
        stack->pop_back();
        break;
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

bool Regex::MatchAt(std::string_view text, size_t pos, size_t* end) const {
  thread_local std::vector<Frame> stack;
  stack.clear();
  uint64_t budget = kStepBudget;
  return Run(0, text.data(), pos, text.size(), end, &stack, &budget);
}

bool Regex::Find(std::string_view text, size_t from, size_t* begin, size_t* end) const {
  for (size_t pos = from; pos <= text.size();) {
    if (MatchAt(text, pos, end)) {
      *begin = pos;
      return true;
    }
    if (pos == text.size()) break;
    pos += unicode::Utf8Length(static_cast<unsigned char>(text[pos]));
  }
  return false;
}

void Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
  matches->clear();
  size_t pos = 0;
  size_t b, e;
  while (pos <= text.size() && Find(text, pos, &b, &e)) {
    matches->push_back({b, e});
    if (e == b) {
      if (e >= text.size()) break;
      pos = e + unicode::Utf8Length(static_cast<unsigned char>(text[e]));
    } else {
      pos = e;
    }
  }
}

}  // namespace acorn

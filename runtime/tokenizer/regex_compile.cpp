// Regex, part one: parse a pattern to a small tree and compile the tree to a backtracking program
// (regex_match.cpp runs it; regex.h lists what is supported).
#include "tokenizer/regex.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <memory>

#include "core/limits.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace {

using unicode::GeneralCategory;
constexpr uint32_t kUnbounded = 0xFFFFFFFFu;

struct Node {
  enum Type { kClass, kConcat, kAlt, kRepeat, kLook, kBegin, kEnd } type;
  int32_t cls = -1;
  std::vector<std::unique_ptr<Node>> kids;
  uint32_t min = 0, max = 0;
  Regex::Mode mode = Regex::Mode::kGreedy;
  bool negate = false;
  // Groups, quantifiers and lookaheads stacked in this subtree. The parser keeps it (plus the groups
  // open around the node) within kMaxRegexNesting, which bounds the height of the tree and so every
  // recursion over it, the destructor's included.
  uint32_t nest = 0;
};

// The pattern as error messages show it: long patterns cut (at a character boundary).
std::string Shown(std::string_view p) {
  if (p.size() <= 80) return std::string(p);
  size_t n = 80;
  while (n > 0 && (static_cast<unsigned char>(p[n]) & 0xC0) == 0x80) --n;
  return std::string(p.substr(0, n)) + "...";
}

bool CategoryMaskForName(std::string_view name, uint32_t* mask) {
  struct Entry {
    const char* name;
    uint32_t mask;
  };
  using unicode::CategoryBit;
  static const Entry kEntries[] = {
      {"L", unicode::kLetterMask}, {"Letter", unicode::kLetterMask},
      {"Lu", CategoryBit(GeneralCategory::kLu)}, {"Ll", CategoryBit(GeneralCategory::kLl)},
      {"Lt", CategoryBit(GeneralCategory::kLt)}, {"Lm", CategoryBit(GeneralCategory::kLm)},
      {"Lo", CategoryBit(GeneralCategory::kLo)},
      {"LC", CategoryBit(GeneralCategory::kLu) | CategoryBit(GeneralCategory::kLl) | CategoryBit(GeneralCategory::kLt)},
      {"M", unicode::kMarkMask}, {"Mark", unicode::kMarkMask},
      {"Mn", CategoryBit(GeneralCategory::kMn)}, {"Mc", CategoryBit(GeneralCategory::kMc)},
      {"Me", CategoryBit(GeneralCategory::kMe)},
      {"N", unicode::kNumberMask}, {"Number", unicode::kNumberMask},
      {"Nd", CategoryBit(GeneralCategory::kNd)}, {"Nl", CategoryBit(GeneralCategory::kNl)},
      {"No", CategoryBit(GeneralCategory::kNo)},
      {"P", unicode::kPunctuationMask}, {"Punctuation", unicode::kPunctuationMask},
      {"Pc", CategoryBit(GeneralCategory::kPc)}, {"Pd", CategoryBit(GeneralCategory::kPd)},
      {"Ps", CategoryBit(GeneralCategory::kPs)}, {"Pe", CategoryBit(GeneralCategory::kPe)},
      {"Pi", CategoryBit(GeneralCategory::kPi)}, {"Pf", CategoryBit(GeneralCategory::kPf)},
      {"Po", CategoryBit(GeneralCategory::kPo)},
      {"S", unicode::kSymbolMask}, {"Symbol", unicode::kSymbolMask},
      {"Sm", CategoryBit(GeneralCategory::kSm)}, {"Sc", CategoryBit(GeneralCategory::kSc)},
      {"Sk", CategoryBit(GeneralCategory::kSk)}, {"So", CategoryBit(GeneralCategory::kSo)},
      {"Z", unicode::kSeparatorMask}, {"Separator", unicode::kSeparatorMask},
      {"Zs", CategoryBit(GeneralCategory::kZs)}, {"Zl", CategoryBit(GeneralCategory::kZl)},
      {"Zp", CategoryBit(GeneralCategory::kZp)},
      {"C", unicode::kOtherMask}, {"Other", unicode::kOtherMask},
      {"Cc", CategoryBit(GeneralCategory::kCc)}, {"Cf", CategoryBit(GeneralCategory::kCf)},
      {"Cs", CategoryBit(GeneralCategory::kCs)}, {"Co", CategoryBit(GeneralCategory::kCo)},
      {"Cn", CategoryBit(GeneralCategory::kCn)},
  };
  for (const Entry& e : kEntries) {
    if (name == e.name) {
      *mask = e.mask;
      return true;
    }
  }
  return false;
}

class Parser {
 public:
  Parser(std::string_view pattern, std::vector<Regex::CharClass>* classes) : p_(pattern), classes_(classes) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    ACORN_ASSIGN_OR_RETURN(auto node, ParseAlt(false));
    if (i_ != p_.size()) return Error("unbalanced ')'");
    return node;
  }

 private:
  Status Error(const char* what) const {
    return ACORN_ERROR(kInvalidArgument, "regex /%s/ at offset %zu: %s", Shown(p_).c_str(), i_, what);
  }
  Status Unsupported(const char* what) const {
    return ACORN_ERROR(kUnsupported, "regex /%s/ at offset %zu: %s is not supported", Shown(p_).c_str(), i_, what);
  }
  Status TooDeep() const {
    return ACORN_ERROR(kUnsupported,
                       "regex /%s/ at offset %zu: groups, quantifiers and lookaheads nest deeper than %" PRIu32
                       " (limits::kMaxRegexNesting)",
                       Shown(p_).c_str(), i_, limits::kMaxRegexNesting);
  }
  bool AtEnd() const { return i_ >= p_.size(); }
  bool Peek(char c) const { return i_ < p_.size() && p_[i_] == c; }
  uint32_t NextCodepoint() {
    int n;
    uint32_t cp = unicode::DecodeUtf8(p_.data() + i_, p_.data() + p_.size(), &n);
    i_ += n;
    return cp;
  }

  // Class items count against the program limit: each is tested at match time, and Finish() walks
  // them for every ASCII code point.
  Result<int32_t> AddClass(Regex::CharClass cls) {
    class_items_ += cls.items.size() + 1;
    if (class_items_ > limits::kMaxRegexProgram) {
      return ACORN_ERROR(kUnsupported, "regex /%s/: its character classes hold more than %zu items "
                         "(limits::kMaxRegexProgram)", Shown(p_).c_str(), limits::kMaxRegexProgram);
    }
    cls.Finish();
    classes_->push_back(std::move(cls));
    return static_cast<int32_t>(classes_->size() - 1);
  }
  std::unique_ptr<Node> ClassNode(int32_t cls) {
    auto n = std::make_unique<Node>();
    n->type = Node::kClass;
    n->cls = cls;
    return n;
  }
  // Adds cp (and, case-insensitively, every code point that folds like it) to items.
  void AddLiteral(uint32_t cp, std::vector<Regex::ClassItem>* items) {
    items->push_back({Regex::ClassItem::kRange, false, cp, cp, 0});
    if (!case_insensitive_) return;
    uint32_t folded = unicode::SimpleCaseFold(cp);
    if (folded != cp) items->push_back({Regex::ClassItem::kRange, false, folded, folded, 0});
    unicode::ForEachFoldingTo(folded, [&](uint32_t other) {
      if (other != cp) items->push_back({Regex::ClassItem::kRange, false, other, other, 0});
    });
  }

  Result<std::unique_ptr<Node>> ParseAlt(bool in_group) {
    bool saved_ci = case_insensitive_;
    std::vector<std::unique_ptr<Node>> branches;
    for (;;) {
      ACORN_ASSIGN_OR_RETURN(auto branch, ParseConcat());
      branches.push_back(std::move(branch));
      if (Peek('|')) {
        ++i_;
        continue;
      }
      break;
    }
    if (!in_group && Peek(')')) return Error("unbalanced ')'");
    case_insensitive_ = saved_ci;  // (?i) lasts to the end of its group
    if (branches.size() == 1) return std::move(branches[0]);
    auto alt = std::make_unique<Node>();
    alt->type = Node::kAlt;
    for (const auto& b : branches) alt->nest = std::max(alt->nest, b->nest);
    alt->kids = std::move(branches);
    return alt;
  }

  Result<std::unique_ptr<Node>> ParseConcat() {
    auto concat = std::make_unique<Node>();
    concat->type = Node::kConcat;
    while (!AtEnd() && !Peek('|') && !Peek(')')) {
      ACORN_ASSIGN_OR_RETURN(auto atom, ParseAtom());
      if (!atom) continue;  // a flag group such as (?i)
      ACORN_ASSIGN_OR_RETURN(auto repeated, ParseQuantifier(std::move(atom)));
      concat->nest = std::max(concat->nest, repeated->nest);
      concat->kids.push_back(std::move(repeated));
    }
    return concat;
  }

  bool ParseNumber(uint32_t* out) {
    size_t start = i_;
    uint32_t v = 0;
    while (!AtEnd() && p_[i_] >= '0' && p_[i_] <= '9') {
      v = v * 10 + static_cast<uint32_t>(p_[i_] - '0');
      if (v > limits::kMaxRegexRepeat) v = limits::kMaxRegexRepeat + 1;  // refused by the caller
      ++i_;
    }
    *out = v;
    return i_ > start;
  }

  Result<std::unique_ptr<Node>> ParseQuantifier(std::unique_ptr<Node> atom) {
    for (;;) {
      if (AtEnd()) return atom;
      uint32_t min, max;
      char c = p_[i_];
      if (c == '*') {
        min = 0, max = kUnbounded, ++i_;
      } else if (c == '+') {
        min = 1, max = kUnbounded, ++i_;
      } else if (c == '?') {
        min = 0, max = 1, ++i_;
      } else if (c == '{') {
        size_t save = i_;
        ++i_;
        if (!ParseNumber(&min)) {
          i_ = save;  // a literal '{', as Oniguruma reads it
          return atom;
        }
        max = min;
        if (Peek(',')) {
          ++i_;
          if (!ParseNumber(&max)) max = kUnbounded;
        }
        if (!Peek('}') || max < min) return Error("malformed {n,m}");
        ++i_;
        if (min > limits::kMaxRegexRepeat || (max != kUnbounded && max > limits::kMaxRegexRepeat)) {
          return ACORN_ERROR(kUnsupported, "regex /%s/ at offset %zu: a counted repeat above %" PRIu32 " "
                             "(limits::kMaxRegexRepeat)", Shown(p_).c_str(), i_, limits::kMaxRegexRepeat);
        }
      } else {
        return atom;
      }
      if (atom->type == Node::kBegin || atom->type == Node::kEnd || atom->type == Node::kLook) {
        return Error("quantifier after an assertion");
      }
      if (depth_ + atom->nest + 1 > limits::kMaxRegexNesting) return TooDeep();
      auto rep = std::make_unique<Node>();
      rep->type = Node::kRepeat;
      rep->min = min;
      rep->max = max;
      rep->nest = atom->nest + 1;
      if (Peek('?')) {
        rep->mode = Regex::Mode::kLazy;
        ++i_;
      } else if (Peek('+')) {
        rep->mode = Regex::Mode::kPossessive;
        ++i_;
      }
      rep->kids.push_back(std::move(atom));
      atom = std::move(rep);
    }
  }

  // Parses an escape after '\' into class items; returns false for a non-class escape (anchors).
  Status ParseEscape(std::vector<Regex::ClassItem>* items, bool* is_anchor, Node::Type* anchor) {
    *is_anchor = false;
    if (AtEnd()) return Error("trailing backslash");
    char c = p_[i_++];
    using Item = Regex::ClassItem;
    switch (c) {
      case 's': items->push_back({Item::kWhiteSpace, false, 0, 0, 0}); return Status::Ok();
      case 'S': items->push_back({Item::kWhiteSpace, true, 0, 0, 0}); return Status::Ok();
      case 'd': items->push_back({Item::kCategories, false, 0, 0, unicode::CategoryBit(GeneralCategory::kNd)}); return Status::Ok();
      case 'D': items->push_back({Item::kCategories, true, 0, 0, unicode::CategoryBit(GeneralCategory::kNd)}); return Status::Ok();
      case 'w': items->push_back({Item::kWord, false, 0, 0, 0}); return Status::Ok();
      case 'W': items->push_back({Item::kWord, true, 0, 0, 0}); return Status::Ok();
      case 'h':
        items->push_back({Item::kRange, false, '0', '9', 0});
        items->push_back({Item::kRange, false, 'a', 'f', 0});
        items->push_back({Item::kRange, false, 'A', 'F', 0});
        return Status::Ok();
      case 'n': AddLiteral('\n', items); return Status::Ok();
      case 'r': AddLiteral('\r', items); return Status::Ok();
      case 't': AddLiteral('\t', items); return Status::Ok();
      case 'f': AddLiteral('\f', items); return Status::Ok();
      case 'v': AddLiteral('\v', items); return Status::Ok();
      case 'e': AddLiteral(0x1B, items); return Status::Ok();
      case 'A': *is_anchor = true, *anchor = Node::kBegin; return Status::Ok();
      case 'z': *is_anchor = true, *anchor = Node::kEnd; return Status::Ok();
      case 'x':
      case 'u': {
        uint32_t v = 0;
        int digits = 0;
        bool braced = c == 'x' && Peek('{');
        if (braced) ++i_;
        int max_digits = braced ? 8 : (c == 'x' ? 2 : 4);
        while (!AtEnd() && digits < max_digits && isxdigit(static_cast<unsigned char>(p_[i_]))) {
          char h = p_[i_++];
          v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++digits;
        }
        if (braced) {
          if (!Peek('}')) return Error("malformed \\x{...}");
          ++i_;
        }
        if (digits == 0 || v > 0x10FFFF) return Error("malformed hexadecimal escape");
        AddLiteral(v, items);
        return Status::Ok();
      }
      case 'p':
      case 'P': {
        bool negated = c == 'P';
        std::string name;
        if (Peek('{')) {
          ++i_;
          if (Peek('^')) {
            negated = !negated;
            ++i_;
          }
          while (!AtEnd() && p_[i_] != '}') name.push_back(p_[i_++]);
          if (AtEnd()) return Error("unterminated \\p{");
          ++i_;
        } else if (!AtEnd()) {
          name.push_back(p_[i_++]);
        }
        uint32_t mask;
        if (CategoryMaskForName(name, &mask)) {
          items->push_back({Item::kCategories, negated, 0, 0, mask});
        } else if (name == "White_Space" || name == "Space" || name == "space") {
          items->push_back({Item::kWhiteSpace, negated, 0, 0, 0});
        } else if (name == "Alphabetic" || name == "Alpha" || name == "alpha") {
          items->push_back({Item::kAlphabetic, negated, 0, 0, 0});
        } else {
          return Unsupported("this \\p{} property");
        }
        return Status::Ok();
      }
      default:
        if ((c >= '0' && c <= '9') || c == 'k' || c == 'g') return Unsupported("a back-reference");
        if (isalpha(static_cast<unsigned char>(c))) return Unsupported("this escape");
        --i_;
        AddLiteral(NextCodepoint(), items);
        return Status::Ok();
    }
  }

  Result<Regex::CharClass> ParseBracket() {
    Regex::CharClass cls;
    if (Peek('^')) {
      cls.negated = true;
      ++i_;
    }
    bool first = true;
    for (;;) {
      if (AtEnd()) return Error("unterminated [");
      if (Peek(']') && !first) {
        ++i_;
        break;
      }
      first = false;
      if (Peek('[')) return Unsupported("a nested class");
      uint32_t lo;
      if (Peek('\\')) {
        ++i_;
        std::vector<Regex::ClassItem> items;
        bool is_anchor;
        Node::Type anchor;
        ACORN_RETURN_IF_ERROR(ParseEscape(&items, &is_anchor, &anchor));
        if (is_anchor) return Error("anchor inside a class");
        // A single literal may start a range; anything else is a set of items.
        if (items.size() == 1 && items[0].kind == Regex::ClassItem::kRange && items[0].lo == items[0].hi &&
            !case_insensitive_ && Peek('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
          lo = items[0].lo;
        } else {
          cls.items.insert(cls.items.end(), items.begin(), items.end());
          continue;
        }
      } else {
        lo = NextCodepoint();
      }
      uint32_t hi = lo;
      if (Peek('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        if (Peek('\\')) {
          ++i_;
          std::vector<Regex::ClassItem> items;
          bool is_anchor;
          Node::Type anchor;
          ACORN_RETURN_IF_ERROR(ParseEscape(&items, &is_anchor, &anchor));
          if (is_anchor || items.empty() || items[0].kind != Regex::ClassItem::kRange) return Error("bad range end");
          hi = items[0].lo;
        } else {
          hi = NextCodepoint();
        }
        if (hi < lo) return Error("range out of order");
      }
      if (lo == hi) {
        AddLiteral(lo, &cls.items);
      } else {
        cls.items.push_back({Regex::ClassItem::kRange, false, lo, hi, 0});
        if (case_insensitive_ && hi - lo < 512) {
          for (uint32_t c = lo; c <= hi; ++c) AddLiteral(c, &cls.items);
        }
      }
    }
    return cls;
  }

  // Returns null for a flag-only group such as (?i).
  Result<std::unique_ptr<Node>> ParseAtom() {
    char c = p_[i_];
    if (c == '(') {
      if (depth_ + 1 > limits::kMaxRegexNesting) return TooDeep();
      ++i_;
      auto group_kind = Node::kConcat;
      bool negate = false;
      bool saved_ci = case_insensitive_;
      if (Peek('?')) {
        ++i_;
        if (Peek(':')) {
          ++i_;
        } else if (Peek('=') || Peek('!')) {
          group_kind = Node::kLook;
          negate = p_[i_] == '!';
          ++i_;
        } else if (Peek('<')) {
          return Unsupported("lookbehind or a named group");
        } else {
          bool on = true;
          bool flags_only = false;
          for (;;) {
            if (AtEnd()) return Error("unterminated group flags");
            char f = p_[i_++];
            if (f == 'i') {
              case_insensitive_ = on;
            } else if (f == '-') {
              on = false;
            } else if (f == ':') {
              break;
            } else if (f == ')') {
              flags_only = true;
              break;
            } else {
              return Unsupported("this group flag");
            }
          }
          if (flags_only) return std::unique_ptr<Node>();  // flag stays on to the group's end
        }
      }
      ++depth_;
      auto inner = ParseAlt(true);
      --depth_;
      if (!inner.ok()) return inner.status();
      if (!Peek(')')) return Error("missing ')'");
      ++i_;
      case_insensitive_ = saved_ci;
      if (group_kind == Node::kLook) {
        auto look = std::make_unique<Node>();
        look->type = Node::kLook;
        look->negate = negate;
        look->nest = inner.value()->nest + 1;
        look->kids.push_back(std::move(inner.value()));
        return look;
      }
      inner.value()->nest += 1;
      return std::move(inner.value());
    }
    if (c == '[') {
      ++i_;
      ACORN_ASSIGN_OR_RETURN(auto cls, ParseBracket());
      ACORN_ASSIGN_OR_RETURN(int32_t index, AddClass(std::move(cls)));
      return ClassNode(index);
    }
    if (c == '.') {
      ++i_;
      Regex::CharClass cls;
      cls.negated = true;
      cls.items.push_back({Regex::ClassItem::kRange, false, '\n', '\n', 0});
      ACORN_ASSIGN_OR_RETURN(int32_t index, AddClass(std::move(cls)));
      return ClassNode(index);
    }
    if (c == '^' || c == '$') {
      ++i_;
      auto n = std::make_unique<Node>();
      n->type = c == '^' ? Node::kBegin : Node::kEnd;
      return n;
    }
    if (c == '*' || c == '+' || c == '?') return Error("quantifier without a target");
    Regex::CharClass cls;
    if (c == '\\') {
      ++i_;
      bool is_anchor;
      Node::Type anchor;
      ACORN_RETURN_IF_ERROR(ParseEscape(&cls.items, &is_anchor, &anchor));
      if (is_anchor) {
        auto n = std::make_unique<Node>();
        n->type = anchor;
        return n;
      }
    } else {
      AddLiteral(NextCodepoint(), &cls.items);
    }
    ACORN_ASSIGN_OR_RETURN(int32_t index, AddClass(std::move(cls)));
    return ClassNode(index);
  }

  std::string_view p_;
  size_t i_ = 0;
  bool case_insensitive_ = false;
  uint32_t depth_ = 0;       // groups open around the parse position
  size_t class_items_ = 0;
  std::vector<Regex::CharClass>* classes_;
};

// Instructions Compiler::Emit will write for n, saturating just above the limit, so that a pattern
// whose counted repeats would expand to millions of instructions is refused before any is written.
uint64_t ProgramSize(const Node& n) {
  constexpr uint64_t kCap = limits::kMaxRegexProgram + 1;
  uint64_t size = 0;
  switch (n.type) {
    case Node::kClass:
    case Node::kBegin:
    case Node::kEnd:
      return 1;
    case Node::kConcat:
      for (const auto& k : n.kids) size = std::min(kCap, size + ProgramSize(*k));
      return size;
    case Node::kAlt:
      for (const auto& k : n.kids) size = std::min(kCap, size + ProgramSize(*k) + 2);
      return size;
    case Node::kLook:
      return std::min(kCap, ProgramSize(*n.kids[0]) + 2);
    case Node::kRepeat: {
      const Node& body = *n.kids[0];
      if (body.type == Node::kClass) return 1;
      const uint64_t b = ProgramSize(body);  // <= kCap, and min, max <= kMaxRegexRepeat: no overflow
      size = n.min * b;
      size += n.max == kUnbounded ? b + 4 : (n.max - n.min) * (b + 1);
      return std::min(kCap, size);
    }
  }
  return kCap;
}

// Whether n can match without consuming input (then a loop over it needs the empty-iteration guard).
bool CanBeEmpty(const Node& n) {
  switch (n.type) {
    case Node::kClass: return false;
    case Node::kBegin:
    case Node::kEnd:
    case Node::kLook: return true;
    case Node::kConcat:
      for (const auto& k : n.kids) {
        if (!CanBeEmpty(*k)) return false;
      }
      return true;
    case Node::kAlt:
      for (const auto& k : n.kids) {
        if (CanBeEmpty(*k)) return true;
      }
      return false;
    case Node::kRepeat: return n.min == 0 || CanBeEmpty(*n.kids[0]);
  }
  return true;
}

class Compiler {
 public:
  explicit Compiler(std::vector<Regex::Inst>* prog) : prog_(prog) {}
  uint32_t loop_slots() const { return loop_slots_; }

  Status Emit(const Node& n) {
    switch (n.type) {
      case Node::kClass:
        Add({Regex::Op::kClass, Regex::Mode::kGreedy, false, 0, 0, n.cls, 1, 1});
        return Status::Ok();
      case Node::kBegin:
        Add({Regex::Op::kBegin, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
        return Status::Ok();
      case Node::kEnd:
        Add({Regex::Op::kEnd, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
        return Status::Ok();
      case Node::kConcat:
        for (const auto& k : n.kids) ACORN_RETURN_IF_ERROR(Emit(*k));
        return Status::Ok();
      case Node::kAlt: {
        std::vector<int32_t> jumps;
        for (size_t b = 0; b < n.kids.size(); ++b) {
          int32_t split = -1;
          if (b + 1 < n.kids.size()) split = Add({Regex::Op::kSplit, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
          if (split >= 0) (*prog_)[split].x = Here();
          ACORN_RETURN_IF_ERROR(Emit(*n.kids[b]));
          if (b + 1 < n.kids.size()) {
            jumps.push_back(Add({Regex::Op::kJmp, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0}));
            (*prog_)[split].y = Here();
          }
        }
        for (int32_t j : jumps) (*prog_)[j].x = Here();
        return Status::Ok();
      }
      case Node::kLook: {
        int32_t look = Add({Regex::Op::kLook, Regex::Mode::kGreedy, n.negate, 0, 0, -1, 0, 0});
        (*prog_)[look].x = Here();
        ACORN_RETURN_IF_ERROR(Emit(*n.kids[0]));
        Add({Regex::Op::kMatch, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
        (*prog_)[look].y = Here();
        return Status::Ok();
      }
      case Node::kRepeat:
        return EmitRepeat(n);
    }
    return Status::Ok();
  }

 private:
  int32_t Here() const { return static_cast<int32_t>(prog_->size()); }
  int32_t Add(Regex::Inst inst) {
    prog_->push_back(inst);
    return Here() - 1;
  }

  Status EmitRepeat(const Node& n) {
    const Node& body = *n.kids[0];
    if (body.type == Node::kClass) {
      Add({Regex::Op::kRepeatClass, n.mode, false, 0, 0, body.cls, n.min, n.max});
      return Status::Ok();
    }
    if (n.mode == Regex::Mode::kPossessive) {
      return ACORN_ERROR(kUnsupported, "regex: a possessive quantifier on a group is not supported");
    }
    for (uint32_t i = 0; i < n.min; ++i) ACORN_RETURN_IF_ERROR(Emit(body));
    bool greedy = n.mode == Regex::Mode::kGreedy;
    if (n.max == kUnbounded) {
      int32_t split = Add({Regex::Op::kSplit, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
      int32_t body_start = Here();
      // An iteration that consumes nothing would loop forever: it fails instead, which leaves the
      // loop (the split's other branch) at the same position.
      const bool guard = CanBeEmpty(body);
      const int32_t slot = guard ? static_cast<int32_t>(loop_slots_++) : -1;
      if (guard) Add({Regex::Op::kMark, Regex::Mode::kGreedy, false, 0, 0, slot, 0, 0});
      ACORN_RETURN_IF_ERROR(Emit(body));
      if (guard) Add({Regex::Op::kProgress, Regex::Mode::kGreedy, false, 0, 0, slot, 0, 0});
      Add({Regex::Op::kJmp, Regex::Mode::kGreedy, false, split, 0, -1, 0, 0});
      (*prog_)[split].x = greedy ? body_start : Here();
      (*prog_)[split].y = greedy ? Here() : body_start;
      return Status::Ok();
    }
    std::vector<int32_t> splits;
    for (uint32_t i = n.min; i < n.max; ++i) {
      int32_t split = Add({Regex::Op::kSplit, Regex::Mode::kGreedy, false, 0, 0, -1, 0, 0});
      splits.push_back(split);
      (*prog_)[split].x = Here();  // provisional: body start
      ACORN_RETURN_IF_ERROR(Emit(body));
    }
    for (int32_t s : splits) {
      int32_t body_start = (*prog_)[s].x;
      (*prog_)[s].x = greedy ? body_start : Here();
      (*prog_)[s].y = greedy ? Here() : body_start;
    }
    return Status::Ok();
  }

  std::vector<Regex::Inst>* prog_;
  uint32_t loop_slots_ = 0;
};

}  // namespace

bool Regex::CharClass::MatchesSlow(uint32_t cp) const {
  bool hit = false;
  uint32_t category_bit = 0;
  for (const ClassItem& item : items) {
    bool m = false;
    switch (item.kind) {
      case ClassItem::kRange: m = cp >= item.lo && cp <= item.hi; break;
      case ClassItem::kCategories:
        if (category_bit == 0) category_bit = unicode::CategoryBit(unicode::Category(cp));
        m = (item.mask & category_bit) != 0;
        break;
      case ClassItem::kWhiteSpace: m = unicode::IsWhiteSpace(cp); break;
      case ClassItem::kWord: m = unicode::IsWordChar(cp); break;
      case ClassItem::kAlphabetic: m = unicode::IsAlphabetic(cp); break;
    }
    if (m != item.negated) {
      hit = true;
      break;
    }
  }
  return hit != negated;
}

void Regex::CharClass::Finish() {
  for (uint32_t cp = 0; cp < 128; ++cp) {
    if (MatchesSlow(cp)) ascii[cp >> 6] |= uint64_t{1} << (cp & 63);
  }
}

Result<Regex> Regex::Compile(std::string_view pattern) {
  if (pattern.size() > limits::kMaxRegexPatternBytes) {
    return ACORN_ERROR(kUnsupported, "regex /%s/ is %zu bytes long, above the limit of %zu (limits::kMaxRegexPatternBytes)",
                       Shown(pattern).c_str(), pattern.size(), limits::kMaxRegexPatternBytes);
  }
  if (!unicode::IsValidUtf8(pattern)) return ACORN_ERROR(kInvalidArgument, "regex pattern is not valid UTF-8");
  Regex re;
  re.pattern_ = std::string(pattern);
  Parser parser(pattern, &re.classes_);
  ACORN_ASSIGN_OR_RETURN(auto root, parser.ParseAll());
  const uint64_t size = ProgramSize(*root) + 1;
  if (size > limits::kMaxRegexProgram) {
    return ACORN_ERROR(kUnsupported, "regex /%s/ compiles to more than %zu instructions (limits::kMaxRegexProgram); "
                       "its counted repeats expand too far", Shown(pattern).c_str(), limits::kMaxRegexProgram);
  }
  re.program_.reserve(static_cast<size_t>(size));
  Compiler compiler(&re.program_);
  ACORN_RETURN_IF_ERROR(compiler.Emit(*root));
  re.program_.push_back({Op::kMatch, Mode::kGreedy, false, 0, 0, -1, 0, 0});
  re.loop_slots_ = compiler.loop_slots();
  return re;
}

}  // namespace acorn

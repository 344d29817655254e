// Rendering a parsed chat template: values behave as their Python counterparts do under jinja2
// (truthiness, str(), ==, slicing by code point, dict attribute lookup falling back to items,
// undefined names that print as nothing but fail when used), so that the text equals what
// transformers' apply_chat_template produces.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "jinja.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace jinja {
namespace {

using Body = std::vector<std::unique_ptr<Node>>;
using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;

// ---- strings ----------------------------------------------------------------------------------

// Stepping and decoding stay inside the string whatever its bytes (templates and messages are
// untrusted and need not be valid UTF-8).
size_t Utf8Next(const std::string& s, size_t at) {
  return std::min(s.size(), at + static_cast<size_t>(unicode::Utf8Length(static_cast<unsigned char>(s[at]))));
}

uint32_t Utf8At(const std::string& s, size_t at) {
  int length = 0;
  return unicode::DecodeUtf8(s.data() + at, s.data() + s.size(), &length);
}

// Byte offset of every code point, plus the end: Python indexes strings by code point.
std::vector<size_t> CodePoints(const std::string& s) {
  std::vector<size_t> at;
  for (size_t k = 0; k < s.size(); k = Utf8Next(s, k)) at.push_back(k);
  at.push_back(s.size());
  return at;
}

// Python's str.isspace(): the White_Space property and the separators U+001C..U+001F.
bool IsPySpace(uint32_t cp) { return unicode::IsWhiteSpace(cp) || (cp >= 0x1C && cp <= 0x1F); }

// The part [b, e) of a string, with the spans that fall inside it.
Value Sub(const Value& v, size_t b, size_t e) {
  Value out = Value::Str(v.s.substr(b, e - b));
  for (const Span& sp : v.spans) {
    const size_t lo = std::max(sp.first, b), hi = std::min(sp.second, e);
    if (lo < hi) out.spans.push_back({lo - b, hi - b});
  }
  return out;
}

void AppendSpans(const std::vector<Span>& spans, size_t shift, std::vector<Span>* out) {
  for (const Span& sp : spans) {
    const Span moved{sp.first + shift, sp.second + shift};
    if (!out->empty() && out->back().second == moved.first) out->back().second = moved.second;
    else out->push_back(moved);
  }
}

// A transformed string keeps no exact spans: if any input byte came from a message, all of it counts.
Value Derived(std::string text, bool tainted) {
  Value out = Value::Str(std::move(text));
  if (tainted && !out.s.empty()) out.spans.push_back({0, out.s.size()});
  return out;
}

// Strips code points in `chars` (Python whitespace when null) from the chosen ends.
Value Strip(const Value& v, const std::string* chars, bool left, bool right) {
  auto strip_me = [&](uint32_t cp) {
    if (!chars) return IsPySpace(cp);
    for (size_t k = 0; k < chars->size(); k = Utf8Next(*chars, k)) {
      if (Utf8At(*chars, k) == cp) return true;
    }
    return false;
  };
  const std::vector<size_t> at = CodePoints(v.s);
  size_t b = 0, e = at.size() - 1;
  if (left) while (b < e && strip_me(Utf8At(v.s, at[b]))) ++b;
  if (right) while (e > b && strip_me(Utf8At(v.s, at[e - 1]))) --e;
  return Sub(v, at[b], at[e]);
}

std::string AsciiMap(const std::string& s, int (*f)(int)) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(c));
  }
  return out;
}

std::string Title(const std::string& s) {
  std::string out = s;
  bool prev_letter = false;
  for (char& c : out) {
    const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (letter) c = static_cast<char>(prev_letter ? std::tolower(c) : std::toupper(c));
    prev_letter = letter || static_cast<unsigned char>(c) >= 0x80;
  }
  return out;
}

std::string Capitalize(const std::string& s) {
  std::string out = AsciiMap(s, [](int c) { return std::tolower(c); });
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(out[0]));
  return out;
}

// Python's repr() of a float: the shortest digits that read back the same.
std::string FloatRepr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string m = buf;  // d.ddde±XX
  const size_t epos = m.find('e');
  const int exp = std::atoi(m.c_str() + epos + 1);
  std::string mant = m.substr(0, epos);
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string ds;
  for (char c : mant) if (c != '.') ds += c;
  while (ds.size() > 1 && ds.back() == '0') ds.pop_back();
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + ds;
    } else if (static_cast<size_t>(exp) + 1 >= ds.size()) {
      out = ds + std::string(static_cast<size_t>(exp) + 1 - ds.size(), '0') + ".0";
    } else {
      out = ds.substr(0, static_cast<size_t>(exp) + 1) + "." + ds.substr(static_cast<size_t>(exp) + 1);
    }
  } else {
    out = ds.substr(0, 1) + (ds.size() > 1 ? "." + ds.substr(1) : "");
    std::snprintf(buf, sizeof buf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += buf;
  }
  return neg ? "-" + out : out;
}

std::string PyRepr(const std::string& s) {
  const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\') out += "\\\\";
    else if (c == q) { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7F) { char b[8]; std::snprintf(b, sizeof b, "\\x%02x", u); out += b; }
    else out += c;
  }
  return out + q;
}

// Dict keys are strings; an integer key (Python allows any hashable) is kept as "\0" and its
// digits, so that lookups by that integer find it and items() gives the integer back.
bool DictKey(const Value& k, std::string* key) {
  if (k.kind == Value::kString) { *key = k.s; return true; }
  if (k.kind == Value::kInt) { *key = std::string(1, '\0') + std::to_string(k.i); return true; }
  return false;
}

Value KeyValue(const std::string& key) {
  if (!key.empty() && key[0] == '\0') return Value::Int(std::strtoll(key.c_str() + 1, nullptr, 10));
  return Value::Str(key);
}

std::string Repr(const Value& v);

// Python's str().
std::string Str(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "";
    case Value::kNone: return "None";
    case Value::kBool: return v.b ? "True" : "False";
    case Value::kInt: return std::to_string(v.i);
    case Value::kFloat: return FloatRepr(v.f);
    case Value::kString: return v.s;
    case Value::kFunction: return "<function " + v.s + ">";
    default: return Repr(v);
  }
}

std::string Repr(const Value& v) {
  switch (v.kind) {
    case Value::kString: return PyRepr(v.s);
    case Value::kList: {
      std::string out = "[";
      for (size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + Repr((*v.list)[k]);
      return out + "]";
    }
    case Value::kDict: {
      std::string out = "{";
      for (size_t k = 0; k < v.dict->size(); ++k) {
        out += (k ? ", " : "") + Repr(KeyValue((*v.dict)[k].first)) + ": " + Repr((*v.dict)[k].second);
      }
      return out + "}";
    }
    case Value::kNamespace: return "<Namespace>";
    default: return Str(v);
  }
}

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: case Value::kNone: return false;
    case Value::kBool: return v.b;
    case Value::kInt: return v.i != 0;
    case Value::kFloat: return v.f != 0;
    case Value::kString: return !v.s.empty();
    case Value::kList: return !v.list->empty();
    case Value::kDict: return !v.dict->empty();
    default: return true;
  }
}

bool IsNumber(const Value& v) { return v.kind == Value::kInt || v.kind == Value::kFloat || v.kind == Value::kBool; }
double Num(const Value& v) { return v.kind == Value::kFloat ? v.f : v.kind == Value::kInt ? static_cast<double>(v.i) : v.b; }

bool Equal(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind != Value::kFloat && b.kind != Value::kFloat) {
      return (a.kind == Value::kInt ? a.i : a.b) == (b.kind == Value::kInt ? b.i : b.b);
    }
    return Num(a) == Num(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::kUndefined: case Value::kNone: return true;
    case Value::kString: return a.s == b.s;
    case Value::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) if (!Equal((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case Value::kDict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& kv : *a.dict) {
        const Value* other = b.Find(kv.first);
        if (!other || !Equal(kv.second, *other)) return false;
      }
      return true;
    default: return a.dict == b.dict && a.s == b.s && a.macro == b.macro;
  }
}

const char* TypeName(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "undefined";
    case Value::kNone: return "NoneType";
    case Value::kBool: return "bool";
    case Value::kInt: return "int";
    case Value::kFloat: return "float";
    case Value::kString: return "str";
    case Value::kList: return "list";
    case Value::kDict: return "dict";
    case Value::kNamespace: return "Namespace";
    case Value::kFunction: return "function";
  }
  return "?";
}

// ---- JSON (transformers' tojson: json.dumps with ensure_ascii=False by default) ----------------

struct JsonStyle {
  int indent = -1;  // -1: none
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

void JsonString(const std::string& s, bool ensure_ascii, std::string* out) {
  *out += '"';
  for (size_t k = 0; k < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    char buf[16];
    if (c == '"') *out += "\\\"";
    else if (c == '\\') *out += "\\\\";
    else if (c == '\n') *out += "\\n";
    else if (c == '\r') *out += "\\r";
    else if (c == '\t') *out += "\\t";
    else if (c == '\b') *out += "\\b";
    else if (c == '\f') *out += "\\f";
    else if (c < 0x20) { std::snprintf(buf, sizeof buf, "\\u%04x", c); *out += buf; }
    else if (c >= 0x80 && ensure_ascii) {
      uint32_t cp = Utf8At(s, k);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (cp >> 10)),
                      static_cast<unsigned>(0xDC00 + (cp & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      }
      *out += buf;
      k = Utf8Next(s, k);
      continue;
    } else {
      *out += static_cast<char>(c);
    }
    ++k;
  }
  *out += '"';
}

bool Json(const Value& v, const JsonStyle& style, int level, std::string* out, std::string* error) {
  if (level > kMaxDepth) { *error = "tojson: value nested too deeply"; return false; }
  if (out->size() > kMaxString) { *error = "tojson: output too large"; return false; }
  auto newline = [&](int l) {
    if (style.indent < 0) return;
    *out += '\n';
    out->append(static_cast<size_t>(style.indent) * static_cast<size_t>(l), ' ');
  };
  switch (v.kind) {
    case Value::kNone: *out += "null"; return true;
    case Value::kBool: *out += v.b ? "true" : "false"; return true;
    case Value::kInt: *out += std::to_string(v.i); return true;
    case Value::kFloat:
      *out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f < 0 ? "-Infinity" : "Infinity") : FloatRepr(v.f);
      return true;
    case Value::kString: JsonString(v.s, style.ensure_ascii, out); return true;
    case Value::kList: {
      if (v.list->empty()) { *out += "[]"; return true; }
      *out += '[';
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) *out += style.item_sep;
        newline(level + 1);
        if (!Json((*v.list)[k], style, level + 1, out, error)) return false;
      }
      newline(level);
      *out += ']';
      return true;
    }
    case Value::kDict: {
      if (v.dict->empty()) { *out += "{}"; return true; }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : *v.dict) items.push_back(&kv);
      if (style.sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      *out += '{';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) *out += style.item_sep;
        newline(level + 1);
        const std::string& key = items[k]->first;
        JsonString(!key.empty() && key[0] == '\0' ? key.substr(1) : key, style.ensure_ascii, out);
        *out += style.key_sep;
        if (!Json(items[k]->second, style, level + 1, out, error)) return false;
      }
      newline(level);
      *out += '}';
      return true;
    }
    default:
      *error = std::string("tojson: Object of type ") + TypeName(v) + " is not JSON serializable";
      return false;
  }
}

bool HasTaint(const Value& v, int depth = 0) {
  if (depth > kMaxDepth) return true;
  if (v.kind == Value::kString) return !v.spans.empty();
  if (v.kind == Value::kList) {
    for (const Value& x : *v.list) if (HasTaint(x, depth + 1)) return true;
  }
  if (v.kind == Value::kDict) {
    for (const auto& kv : *v.dict) if (HasTaint(kv.second, depth + 1)) return true;
  }
  return false;
}

// ---- the renderer -----------------------------------------------------------------------------

enum class Flow { kNormal, kBreak, kContinue };

class Renderer {
 public:
  Renderer(const Dict& globals, std::time_t now) : now_(now) { scopes_.push_back(globals); }

  Status Run(const Body& body, std::string* out, std::vector<Span>* spans) {
    Flow flow = Flow::kNormal;
    Exec(body, &flow);
    if (!status_.ok()) return status_;
    *out = std::move(out_.s);
    if (spans) *spans = std::move(out_.spans);
    return Status::Ok();
  }

 private:
  // ---- errors ----
  bool Fail(const Expr* at, const std::string& message) {
    if (status_.ok()) {
      status_ = ACORN_ERROR(kInvalidArgument, "chat template line %d: %s", at ? at->line + 1 : 0, message.c_str());
    }
    return false;
  }
  bool Unsupported(const Expr* at, const std::string& what) {
    if (status_.ok()) {
      status_ = ACORN_ERROR(kUnsupported, "chat template line %d: %s is not supported by acorn's template engine",
                            at ? at->line + 1 : 0, what.c_str());
    }
    return false;
  }
  bool Step(const Expr* at) {
    if (++steps_ > kMaxSteps) return Fail(at, "the template ran too many steps");
    return true;
  }
  bool CheckSize(const Expr* at, size_t n) {
    return n <= kMaxString || Fail(at, "a string grew past 16 MiB");
  }
  // Copies of strings and lists are charged to one budget per render, which bounds both the memory
  // a template can hold and the time it can spend copying.
  // A list value is shared, not copied, so only the places that copy items (iteration,
  // concatenation, split) charge for a list.
  bool Charge(const Expr* at, const Value& v) {
    work_ += v.kind == Value::kString ? v.s.size() : 0;
    return work_ <= kMaxWork || Fail(at, "the template copied more than 256 MiB of text");
  }
  bool ChargeList(const Expr* at, const List& items) {
    if (items.size() > kMaxItems) return Fail(at, "a list grew past 65536 items");
    for (const Value& x : items) work_ += sizeof(Value) + x.s.size();
    return work_ <= kMaxWork || Fail(at, "the template copied more than 256 MiB of text");
  }
  bool Undefined(const Expr* at, const Value& v) {
    return Fail(at, "'" + v.s + "' is undefined");
  }

  // ---- variables ----
  const Value* Lookup(const std::string& name) const {
    for (size_t k = scopes_.size(); k-- > floor_;) {
      for (const auto& kv : scopes_[k]) if (kv.first == name) return &kv.second;
    }
    for (const auto& kv : scopes_[0]) if (kv.first == name) return &kv.second;
    return nullptr;
  }
  void Assign(const std::string& name, Value v) {
    Dict& scope = scopes_.back();
    for (auto& kv : scope) {
      if (kv.first == name) { kv.second = std::move(v); return; }
    }
    scope.emplace_back(name, std::move(v));
  }

  // ---- output ----
  bool Emit(const Expr* at, const Value& v) {
    const std::string text = Str(v);
    if (!CheckSize(at, out_.s.size() + text.size())) return false;
    if (v.kind == Value::kString) AppendSpans(v.spans, out_.s.size(), &out_.spans);
    out_.s += text;
    return true;
  }

  // ---- statements ----
  void Exec(const Body& body, Flow* flow) {
    for (const auto& node : body) {
      if (!status_.ok() || *flow != Flow::kNormal) return;
      ExecNode(*node, flow);
    }
  }

  void ExecNode(const Node& n, Flow* flow) {
    Value v;
    switch (n.kind) {
      case Node::kText:
        if (CheckSize(nullptr, out_.s.size() + n.text.size())) out_.s += n.text;
        return;
      case Node::kOutput:
        if (Step(n.expr.get()) && Eval(*n.expr, &v)) Emit(n.expr.get(), v);
        return;
      case Node::kIf:
        for (const auto& branch : n.branches) {
          if (branch.first) {
            if (!Eval(*branch.first, &v)) return;
            if (!Truthy(v)) continue;
          }
          Exec(branch.second, flow);
          return;
        }
        return;
      case Node::kFor: ExecFor(n); return;
      case Node::kSet:
        if (!Eval(*n.expr, &v)) return;
        if (n.attr_set) {
          const Value* ns = Lookup(n.targets[0]);
          if (!ns || ns->kind != Value::kNamespace) {
            Fail(n.expr.get(), "cannot assign an attribute of '" + n.targets[0] + "': only a namespace() can be changed");
            return;
          }
          Dict& d = *ns->dict;
          for (auto& kv : d) {
            if (kv.first == n.targets[1]) { kv.second = std::move(v); return; }
          }
          d.emplace_back(n.targets[1], std::move(v));
        } else if (n.targets.size() == 1) {
          Assign(n.targets[0], std::move(v));
        } else {
          Unpack(n.expr.get(), n.targets, v);
        }
        return;
      case Node::kSetBlock: {
        Value captured;
        if (Capture(n.body, &captured)) Assign(n.targets[0], std::move(captured));
        return;
      }
      case Node::kMacro: {
        Value f;
        f.kind = Value::kFunction;
        f.s = n.name;
        f.macro = &n;
        Assign(n.name, std::move(f));
        return;
      }
      case Node::kBreak: *flow = Flow::kBreak; return;
      case Node::kContinue: *flow = Flow::kContinue; return;
      case Node::kBody: Exec(n.body, flow); return;
      case Node::kFilterBlock: {
        Value captured, filtered;
        Args args;
        Kwargs kwargs;
        if (!Capture(n.body, &captured) || !EvalArgs(*n.expr, 1, &args, &kwargs)) return;
        if (Filter(n.expr.get(), n.expr->name, captured, args, kwargs, &filtered)) Emit(n.expr.get(), filtered);
        return;
      }
    }
  }

  bool Unpack(const Expr* at, const std::vector<std::string>& names, const Value& v) {
    if (v.kind != Value::kList || v.list->size() != names.size()) {
      return Fail(at, "cannot unpack " + std::string(TypeName(v)) + " into " + std::to_string(names.size()) + " names");
    }
    for (size_t k = 0; k < names.size(); ++k) Assign(names[k], (*v.list)[k]);
    return true;
  }

  // Renders `body` into a string of its own (set blocks, macro calls).
  bool Capture(const Body& body, Value* out) {
    Value saved = std::move(out_);
    out_ = Value::Str("");
    Flow flow = Flow::kNormal;
    Exec(body, &flow);
    *out = std::move(out_);
    out_ = std::move(saved);
    return status_.ok();
  }

  // The items a for loop or a filter walks. A list is shared, not copied; what is built from a dict or
  // a string is charged.
  bool Iterate(const Expr* at, const Value& v, std::shared_ptr<const List>* out) {
    List items;
    switch (v.kind) {
      case Value::kUndefined: break;
      case Value::kList: *out = v.list; return true;
      case Value::kDict:
        for (const auto& kv : *v.dict) items.push_back(KeyValue(kv.first));
        break;
      case Value::kString: {
        const std::vector<size_t> cp = CodePoints(v.s);
        if (cp.size() - 1 > kMaxItems) return Fail(at, "iterating over a string of more than 65536 characters");
        for (size_t k = 0; k + 1 < cp.size(); ++k) items.push_back(Sub(v, cp[k], cp[k + 1]));
        break;
      }
      default: return Fail(at, std::string("'") + TypeName(v) + "' object is not iterable");
    }
    if (!ChargeList(at, items)) return false;
    *out = std::make_shared<const List>(std::move(items));
    return true;
  }

  void ExecFor(const Node& n) {
    Value seq;
    if (!Eval(*n.expr, &seq)) return;
    std::shared_ptr<const List> all;
    if (!Iterate(n.expr.get(), seq, &all)) return;
    scopes_.emplace_back();
    if (n.filter) {
      List kept;
      for (const Value& item : *all) {
        if (!Step(n.expr.get())) break;
        if (n.targets.size() == 1) Assign(n.targets[0], item);
        else if (!Unpack(n.expr.get(), n.targets, item)) break;
        Value keep;
        if (!Eval(*n.filter, &keep)) break;
        if (Truthy(keep)) kept.push_back(item);
      }
      all = std::make_shared<const List>(std::move(kept));
    }
    const List& items = *all;
    // One loop object, updated in place each iteration (as jinja2's LoopContext is).
    const int64_t len = static_cast<int64_t>(items.size());
    Value loop = Value::Map({{"index", Value()}, {"index0", Value()}, {"revindex", Value()}, {"revindex0", Value()},
                             {"first", Value()}, {"last", Value()}, {"length", Value::Int(len)},
                             {"previtem", Value()}, {"nextitem", Value()}});
    Assign("loop", loop);
    for (size_t k = 0; k < items.size() && status_.ok(); ++k) {
      if (!Step(n.expr.get())) break;
      const int64_t idx = static_cast<int64_t>(k);
      Dict& d = *loop.dict;
      d[0].second = Value::Int(idx + 1);
      d[1].second = Value::Int(idx);
      d[2].second = Value::Int(len - idx);
      d[3].second = Value::Int(len - idx - 1);
      d[4].second = Value::Bool(k == 0);
      d[5].second = Value::Bool(k + 1 == items.size());
      d[7].second = k > 0 ? items[k - 1] : Value::Undefined("loop.previtem");
      d[8].second = k + 1 < items.size() ? items[k + 1] : Value::Undefined("loop.nextitem");
      if (n.targets.size() == 1) Assign(n.targets[0], items[k]);
      else if (!Unpack(n.expr.get(), n.targets, items[k])) break;
      Flow flow = Flow::kNormal;
      Exec(n.body, &flow);
      if (flow == Flow::kBreak) break;
    }
    if (items.empty() && status_.ok()) {
      Flow flow = Flow::kNormal;
      Exec(n.else_body, &flow);
    }
    scopes_.pop_back();
  }

  // ---- expressions ----
  bool Eval(const Expr& e, Value* out) {
    if (++depth_ > kMaxDepth * 16) { --depth_; return Fail(&e, "expression evaluated too deeply"); }
    const bool ok = EvalInner(e, out) && Charge(&e, *out);
    --depth_;
    return ok;
  }

  bool EvalInner(const Expr& e, Value* out) {
    Value a, b;
    switch (e.kind) {
      case Expr::kLiteral: *out = e.literal; return true;
      case Expr::kName: {
        const Value* v = Lookup(e.name);
        if (v) { *out = *v; return true; }
        static const char* const kBuiltins[] = {"range", "namespace", "dict", "raise_exception", "strftime_now"};
        for (const char* f : kBuiltins) {
          if (e.name == f) { out->kind = Value::kFunction; out->s = f; return true; }
        }
        *out = Value::Undefined(e.name);
        return true;
      }
      case Expr::kList: case Expr::kTuple: {
        List items;
        for (const auto& x : e.args) {
          if (!Eval(*x, &a)) return false;
          items.push_back(std::move(a));
        }
        *out = Value::Lst(std::move(items));
        return true;
      }
      case Expr::kDict: {
        Dict items;
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          if (!Eval(*e.args[k], &a) || !Eval(*e.args[k + 1], &b)) return false;
          std::string key;
          if (!DictKey(a, &key)) return Unsupported(&e, "a dict key that is not a string or an integer");
          bool replaced = false;
          for (auto& kv : items) if (kv.first == key) { kv.second = b; replaced = true; }
          if (!replaced) items.emplace_back(key, std::move(b));
        }
        *out = Value::Map(std::move(items));
        return true;
      }
      case Expr::kAttr:
        if (!Eval(*e.args[0], &a)) return false;
        return GetAttr(&e, a, e.name, out);
      case Expr::kItem:
        if (!Eval(*e.args[0], &a) || !Eval(*e.args[1], &b)) return false;
        return GetItem(&e, a, b, out);
      case Expr::kSlice: return EvalSlice(e, out);
      case Expr::kCall: return EvalCall(e, out);
      case Expr::kFilter: return EvalFilter(e, out);
      case Expr::kTest: {
        bool result = false;
        if (!EvalTest(e, &result)) return false;
        *out = Value::Bool(result != e.negated);
        return true;
      }
      case Expr::kNeg: case Expr::kPos:
        if (!Eval(*e.args[0], &a)) return false;
        if (!IsNumber(a)) return Fail(&e, std::string("bad operand type for unary -: '") + TypeName(a) + "'");
        if (e.kind == Expr::kPos) { *out = a; return true; }
        *out = a.kind == Value::kFloat ? Value::Float(-a.f) : Value::Int(-(a.kind == Value::kInt ? a.i : a.b));
        return true;
      case Expr::kNot:
        if (!Eval(*e.args[0], &a)) return false;
        *out = Value::Bool(!Truthy(a));
        return true;
      case Expr::kAnd: case Expr::kOr:
        if (!Eval(*e.args[0], &a)) return false;
        if (Truthy(a) == (e.kind == Expr::kOr)) { *out = std::move(a); return true; }
        return Eval(*e.args[1], out);
      case Expr::kCond:
        if (!Eval(*e.args[1], &a)) return false;
        if (Truthy(a)) return Eval(*e.args[0], out);
        if (e.args[2]) return Eval(*e.args[2], out);
        *out = Value::Undefined("the else branch of a conditional expression");
        return true;
      case Expr::kCompare: {
        if (!Eval(*e.args[0], &a)) return false;
        for (size_t k = 0; k < e.ops.size(); ++k) {
          if (!Eval(*e.args[k + 1], &b)) return false;
          bool r = false;
          if (!Compare(&e, e.ops[k], a, b, &r)) return false;
          if (!r) { *out = Value::Bool(false); return true; }
          a = std::move(b);
        }
        *out = Value::Bool(true);
        return true;
      }
      case Expr::kBinary:
        if (!Eval(*e.args[0], &a) || !Eval(*e.args[1], &b)) return false;
        return Binary(&e, e.name, a, b, out);
    }
    return Fail(&e, "unknown expression");
  }

  bool Contains(const Expr* at, const Value& hay, const Value& needle, bool* r) {
    switch (hay.kind) {
      case Value::kString:
        if (needle.kind != Value::kString) return Fail(at, "'in <string>' requires a string on the left");
        *r = hay.s.find(needle.s) != std::string::npos;
        return true;
      case Value::kList:
        *r = false;
        for (const Value& x : *hay.list) if (Equal(x, needle)) { *r = true; break; }
        return true;
      case Value::kDict: {
        std::string key;
        *r = DictKey(needle, &key) && hay.Find(key) != nullptr;
        return true;
      }
      case Value::kUndefined: *r = false; return true;
      default: return Fail(at, std::string("argument of type '") + TypeName(hay) + "' is not iterable");
    }
  }

  bool Less(const Expr* at, const Value& a, const Value& b, bool* r) {
    if (IsNumber(a) && IsNumber(b)) { *r = Num(a) < Num(b); return true; }
    if (a.kind == Value::kString && b.kind == Value::kString) { *r = a.s < b.s; return true; }
    if (a.kind == Value::kList && b.kind == Value::kList) {
      for (size_t k = 0; k < std::min(a.list->size(), b.list->size()); ++k) {
        if (Equal((*a.list)[k], (*b.list)[k])) continue;
        return Less(at, (*a.list)[k], (*b.list)[k], r);
      }
      *r = a.list->size() < b.list->size();
      return true;
    }
    return Fail(at, std::string("'<' not supported between '") + TypeName(a) + "' and '" + TypeName(b) + "'");
  }

  bool Compare(const Expr* at, const std::string& op, const Value& a, const Value& b, bool* r) {
    if (op == "==") { *r = Equal(a, b); return true; }
    if (op == "!=") { *r = !Equal(a, b); return true; }
    if (op == "in" || op == "not in") {
      if (!Contains(at, b, a, r)) return false;
      if (op == "not in") *r = !*r;
      return true;
    }
    if (op == "<") return Less(at, a, b, r);
    if (op == ">") return Less(at, b, a, r);
    bool lt = false;
    if (op == "<=") { if (!Less(at, b, a, &lt)) return false; *r = !lt; return true; }
    if (!Less(at, a, b, &lt)) return false;  // ">="
    *r = !lt;
    return true;
  }

  bool Binary(const Expr* at, const std::string& op, const Value& a, const Value& b, Value* out) {
    if (op == "~") {
      const std::string sa = Str(a), sb = Str(b);
      if (!CheckSize(at, sa.size() + sb.size())) return false;
      *out = Value::Str(sa + sb);
      if (a.kind == Value::kString) out->spans = a.spans;
      if (b.kind == Value::kString) AppendSpans(b.spans, sa.size(), &out->spans);
      return true;
    }
    if (!a.defined()) return Undefined(at, a);
    if (!b.defined()) return Undefined(at, b);
    if (op == "+" && a.kind == Value::kString && b.kind == Value::kString) {
      if (!CheckSize(at, a.s.size() + b.s.size())) return false;
      *out = Value::Str(a.s + b.s, a.spans);
      AppendSpans(b.spans, a.s.size(), &out->spans);
      return true;
    }
    if (op == "+" && a.kind == Value::kList && b.kind == Value::kList) {
      if (a.list->size() + b.list->size() > kMaxItems) return Fail(at, "a list grew past 65536 items");
      List items = *a.list;
      items.insert(items.end(), b.list->begin(), b.list->end());
      if (!ChargeList(at, items)) return false;
      *out = Value::Lst(std::move(items));
      return true;
    }
    if (op == "*" && ((a.kind == Value::kString && b.kind == Value::kInt) || (a.kind == Value::kInt && b.kind == Value::kString))) {
      const Value& s = a.kind == Value::kString ? a : b;
      const int64_t n = std::max<int64_t>(0, a.kind == Value::kInt ? a.i : b.i);
      if (n > 0 && !CheckSize(at, s.s.size() * static_cast<size_t>(std::min<int64_t>(n, kMaxString + 1)))) return false;
      std::string r;
      for (int64_t k = 0; k < n; ++k) r += s.s;
      *out = Derived(std::move(r), !s.spans.empty());
      return true;
    }
    if (op == "%" && a.kind == Value::kString) return Unsupported(at, "printf-style formatting ('...' % values)");
    if (!IsNumber(a) || !IsNumber(b)) {
      return Fail(at, "unsupported operand types for " + op + ": '" + TypeName(a) + "' and '" + TypeName(b) + "'");
    }
    if (a.kind != Value::kFloat && b.kind != Value::kFloat && op != "/") {
      const int64_t x = a.kind == Value::kInt ? a.i : a.b, y = b.kind == Value::kInt ? b.i : b.b;
      if (op == "+") { *out = Value::Int(x + y); return true; }
      if (op == "-") { *out = Value::Int(x - y); return true; }
      if (op == "*") { *out = Value::Int(x * y); return true; }
      if (op == "**") {
        if (y < 0) { *out = Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y))); return true; }
        int64_t r = 1;
        for (int64_t k = 0; k < std::min<int64_t>(y, 64); ++k) r *= x;
        *out = Value::Int(r);
        return true;
      }
      if (y == 0) return Fail(at, "integer division or modulo by zero");
      if (y == -1 && x == INT64_MIN) return Fail(at, "integer overflow");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) { q -= 1; m += y; }  // Python floors
      *out = Value::Int(op == "//" ? q : m);
      return true;
    }
    const double x = Num(a), y = Num(b);
    if (op == "+") *out = Value::Float(x + y);
    else if (op == "-") *out = Value::Float(x - y);
    else if (op == "*") *out = Value::Float(x * y);
    else if (op == "**") *out = Value::Float(std::pow(x, y));
    else {
      if (y == 0) return Fail(at, "division by zero");
      if (op == "/") *out = Value::Float(x / y);
      else if (op == "//") *out = Value::Float(std::floor(x / y));
      else *out = Value::Float(x - std::floor(x / y) * y);
    }
    return true;
  }

  // ---- attributes, items, slices ----
  bool IsMethod(const Value& v, const std::string& name) {
    static const char* const kStr[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                       "replace", "upper", "lower", "title", "capitalize", "find", "rfind", "count",
                                       "join", "format", "splitlines", "isdigit", "isalpha", "isspace", "isalnum",
                                       "islower", "isupper", "index"};
    static const char* const kDict[] = {"items", "keys", "values", "get"};
    if (v.kind == Value::kString) {
      for (const char* m : kStr) if (name == m) return true;
    }
    if (v.kind == Value::kDict) {
      for (const char* m : kDict) if (name == m) return true;
    }
    return false;
  }

  Value Method(const Value& v, const std::string& name) {
    Value f;
    f.kind = Value::kFunction;
    f.s = name;
    f.self = std::make_shared<const Value>(v);
    return f;
  }

  bool GetAttr(const Expr* at, const Value& v, const std::string& name, Value* out) {
    if (!v.defined()) return Undefined(at, v);
    if (IsMethod(v, name)) { *out = Method(v, name); return true; }
    if (v.kind == Value::kDict || v.kind == Value::kNamespace) {
      const Value* x = v.Find(name);
      *out = x ? *x : Value::Undefined(name);
      return true;
    }
    if (v.kind == Value::kList && (name == "append" || name == "pop" || name == "insert" || name == "extend")) {
      return Fail(at, "lists cannot be changed in a chat template (transformers' sandbox refuses ." + name + ")");
    }
    *out = Value::Undefined(name);
    return true;
  }

  static bool Index(int64_t i, size_t size, size_t* k) {
    if (i < 0) i += static_cast<int64_t>(size);
    if (i < 0 || static_cast<size_t>(i) >= size) return false;
    *k = static_cast<size_t>(i);
    return true;
  }

  bool GetItem(const Expr* at, const Value& v, const Value& key, Value* out) {
    if (!v.defined()) return Undefined(at, v);
    if (v.kind == Value::kDict || v.kind == Value::kNamespace) {
      std::string k;
      if (DictKey(key, &k)) {
        const Value* x = v.Find(k);
        if (x) { *out = *x; return true; }
        if (key.kind == Value::kString && IsMethod(v, key.s)) { *out = Method(v, key.s); return true; }
      }
      *out = Value::Undefined(Str(key));
      return true;
    }
    if ((v.kind == Value::kList || v.kind == Value::kString) && (key.kind == Value::kInt || key.kind == Value::kBool)) {
      const int64_t i = key.kind == Value::kInt ? key.i : key.b;
      size_t k = 0;
      // Out of range is undefined, as jinja2's getitem makes it (using that value then fails).
      if (v.kind == Value::kList) {
        if (!Index(i, v.list->size(), &k)) { *out = Value::Undefined("item " + std::to_string(i)); return true; }
        *out = (*v.list)[k];
      } else {
        const std::vector<size_t> cp = CodePoints(v.s);
        if (!Index(i, cp.size() - 1, &k)) { *out = Value::Undefined("item " + std::to_string(i)); return true; }
        *out = Sub(v, cp[k], cp[k + 1]);
      }
      return true;
    }
    if (key.kind == Value::kString) return GetAttr(at, v, key.s, out);
    *out = Value::Undefined(Str(key));
    return true;
  }

  bool EvalSlice(const Expr& e, Value* out) {
    Value v, parts[3];
    if (!Eval(*e.args[0], &v)) return false;
    for (int k = 0; k < 3; ++k) {
      if (e.args[k + 1] && !Eval(*e.args[k + 1], &parts[k])) return false;
      if (parts[k].defined() && parts[k].kind != Value::kNone && parts[k].kind != Value::kInt) {
        return Fail(&e, "slice indices must be integers");
      }
    }
    if (v.kind != Value::kList && v.kind != Value::kString) {
      if (!v.defined()) return Undefined(&e, v);
      return Fail(&e, std::string("'") + TypeName(v) + "' object is not subscriptable");
    }
    const std::vector<size_t> cp = v.kind == Value::kString ? CodePoints(v.s) : std::vector<size_t>();
    const int64_t n = v.kind == Value::kList ? static_cast<int64_t>(v.list->size()) : static_cast<int64_t>(cp.size()) - 1;
    const int64_t step = parts[2].kind == Value::kInt ? parts[2].i : 1;
    if (step == 0) return Fail(&e, "slice step cannot be zero");
    // Python's slice.indices().
    auto bound = [&](const Value& p, int64_t def) {
      if (p.kind != Value::kInt) return def;
      int64_t x = p.i;
      if (x < 0) x += n;
      if (step > 0) return std::min(std::max<int64_t>(x, 0), n);
      return std::min(std::max<int64_t>(x, -1), n - 1);
    };
    const int64_t start = bound(parts[0], step > 0 ? 0 : n - 1), stop = bound(parts[1], step > 0 ? n : -1);
    if (v.kind == Value::kString && step == 1) {
      *out = start < stop ? Sub(v, cp[static_cast<size_t>(start)], cp[static_cast<size_t>(stop)]) : Value::Str("");
      return true;
    }
    List items;
    std::string text;
    bool tainted = false;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
      if (v.kind == Value::kList) {
        items.push_back((*v.list)[static_cast<size_t>(k)]);
      } else {
        const Value piece = Sub(v, cp[static_cast<size_t>(k)], cp[static_cast<size_t>(k) + 1]);
        text += piece.s;
        tainted = tainted || !piece.spans.empty();
      }
    }
    *out = v.kind == Value::kList ? Value::Lst(std::move(items)) : Derived(std::move(text), tainted);
    return true;
  }

  // ---- calls ----
  bool EvalArgs(const Expr& e, size_t first, Args* args, Kwargs* kwargs) {
    for (size_t k = first; k < e.args.size(); ++k) {
      Value v;
      if (!Eval(*e.args[k], &v)) return false;
      args->push_back(std::move(v));
    }
    for (const auto& kw : e.kwargs) {
      Value v;
      if (!Eval(*kw.second, &v)) return false;
      kwargs->emplace_back(kw.first, std::move(v));
    }
    return true;
  }

  // Positional argument k, else keyword `name`, else null.
  static const Value* Arg(const Args& args, const Kwargs& kwargs, size_t k, const char* name) {
    if (k < args.size()) return &args[k];
    for (const auto& kw : kwargs) if (kw.first == name) return &kw.second;
    return nullptr;
  }

  bool EvalCall(const Expr& e, Value* out) {
    Value f;
    if (!Eval(*e.args[0], &f)) return false;
    Args args;
    Kwargs kwargs;
    if (!EvalArgs(e, 1, &args, &kwargs)) return false;
    if (f.kind != Value::kFunction) {
      if (!f.defined()) return Unsupported(&e, "the function " + f.s + "()");
      return Fail(&e, std::string("'") + TypeName(f) + "' object is not callable");
    }
    if (f.macro) return CallMacro(&e, *f.macro, args, kwargs, out);
    if (f.self) return CallMethod(&e, *f.self, f.s, args, kwargs, out);
    return CallGlobal(&e, f.s, args, kwargs, out);
  }

  bool CallMacro(const Expr* at, const Node& m, const Args& args, const Kwargs& kwargs, Value* out) {
    if (args.size() > m.params.size()) return Fail(at, "macro '" + m.name + "' takes " + std::to_string(m.params.size()) + " arguments");
    if (++macro_depth_ > kMaxDepth) { --macro_depth_; return Fail(at, "macros call each other too deeply"); }
    const size_t saved_floor = floor_;
    scopes_.emplace_back();
    floor_ = scopes_.size() - 1;
    bool ok = true;
    for (size_t k = 0; k < m.params.size() && ok; ++k) {
      const Value* v = Arg(args, kwargs, k, m.params[k].c_str());
      Value def;
      if (!v && m.defaults[k]) {
        ok = Eval(*m.defaults[k], &def);
        v = &def;
      }
      Assign(m.params[k], v ? *v : Value::Undefined(m.params[k]));
    }
    if (ok) ok = Capture(m.body, out);
    scopes_.pop_back();
    floor_ = saved_floor;
    --macro_depth_;
    return ok;
  }

  bool CallGlobal(const Expr* at, const std::string& name, const Args& args, const Kwargs& kwargs, Value* out) {
    if (name == "raise_exception") {
      return Fail(at, "the template refused the conversation: " + (args.empty() ? std::string() : Str(args[0])));
    }
    if (name == "strftime_now") {
      if (args.empty() || args[0].kind != Value::kString) return Fail(at, "strftime_now takes a format string");
      std::tm tm_now;
      localtime_r(&now_, &tm_now);
      char buf[256];
      const size_t n = std::strftime(buf, sizeof buf, args[0].s.c_str(), &tm_now);
      *out = Value::Str(std::string(buf, n));
      return true;
    }
    if (name == "namespace" || name == "dict") {
      Dict d;
      if (!args.empty()) {
        if (args[0].kind != Value::kDict) return Unsupported(at, name + "() with a positional argument that is not a dict");
        d = *args[0].dict;
      }
      for (const auto& kw : kwargs) d.push_back(kw);
      *out = Value::Map(std::move(d));
      if (name == "namespace") out->kind = Value::kNamespace;
      return true;
    }
    if (name == "range") {
      int64_t start = 0, stop = 0, step = 1;
      for (const Value& a : args) if (a.kind != Value::kInt) return Fail(at, "range() takes integers");
      if (args.size() == 1) stop = args[0].i;
      else if (args.size() >= 2) { start = args[0].i; stop = args[1].i; }
      if (args.size() >= 3) step = args[2].i;
      if (args.empty() || args.size() > 3 || step == 0) return Fail(at, "range() takes 1 to 3 integers, step not 0");
      List items;
      for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
        if (!Step(at)) return false;
        if (items.size() >= kMaxItems) return Fail(at, "range() of more than 65536 items");
        items.push_back(Value::Int(k));
      }
      *out = Value::Lst(std::move(items));
      return true;
    }
    return Unsupported(at, "the function " + name + "()");
  }

  bool SplitString(const Expr* at, const Value& s, const Value* sep, int64_t maxsplit, bool from_right, Value* out) {
    List parts;
    if (!sep || sep->kind == Value::kNone) {
      // Runs of whitespace separate; none at either end.
      const std::vector<size_t> cp = CodePoints(s.s);
      std::vector<Span> words;
      size_t k = 0;
      while (k + 1 < cp.size()) {
        while (k + 1 < cp.size() && IsPySpace(Utf8At(s.s, cp[k]))) ++k;
        if (k + 1 >= cp.size()) break;
        size_t e = k;
        while (e + 1 < cp.size() && !IsPySpace(Utf8At(s.s, cp[e]))) ++e;
        words.push_back({cp[k], cp[e]});
        if (words.size() > kMaxItems) return Fail(at, "split() into more than 65536 parts");
        k = e;
      }
      if (maxsplit >= 0 && static_cast<int64_t>(words.size()) > maxsplit + 1) {
        if (from_right) {
          const size_t keep = words.size() - static_cast<size_t>(maxsplit);
          Value head = Strip(Sub(s, 0, words[keep - 1].second), nullptr, true, false);
          parts.push_back(head);
          for (size_t w = keep; w < words.size(); ++w) parts.push_back(Sub(s, words[w].first, words[w].second));
        } else {
          for (size_t w = 0; w < static_cast<size_t>(maxsplit); ++w) parts.push_back(Sub(s, words[w].first, words[w].second));
          parts.push_back(Strip(Sub(s, words[static_cast<size_t>(maxsplit)].first, s.s.size()), nullptr, false, true));
        }
      } else {
        for (const Span& w : words) parts.push_back(Sub(s, w.first, w.second));
      }
    } else {
      if (sep->kind != Value::kString) return Fail(at, "split() takes a string separator");
      if (sep->s.empty()) return Fail(at, "split(): empty separator");
      std::vector<size_t> cuts;
      if (!from_right) {
        for (size_t p = s.s.find(sep->s); p != std::string::npos && (maxsplit < 0 || static_cast<int64_t>(cuts.size()) < maxsplit);
             p = s.s.find(sep->s, p + sep->s.size())) {
          cuts.push_back(p);
          if (cuts.size() > kMaxItems) return Fail(at, "split() into more than 65536 parts");
        }
      } else {
        size_t end = s.s.size();
        while (end >= sep->s.size() && (maxsplit < 0 || static_cast<int64_t>(cuts.size()) < maxsplit)) {
          const size_t p = s.s.rfind(sep->s, end - sep->s.size());
          if (p == std::string::npos) break;
          cuts.push_back(p);
          if (cuts.size() > kMaxItems) return Fail(at, "split() into more than 65536 parts");
          end = p;
        }
        std::reverse(cuts.begin(), cuts.end());
      }
      size_t b = 0;
      for (size_t c : cuts) {
        parts.push_back(Sub(s, b, c));
        b = c + sep->s.size();
      }
      parts.push_back(Sub(s, b, s.s.size()));
    }
    if (!ChargeList(at, parts)) return false;
    *out = Value::Lst(std::move(parts));
    return true;
  }

  bool CallMethod(const Expr* at, const Value& self, const std::string& name, const Args& args, const Kwargs& kwargs,
                  Value* out) {
    const Value* a0 = Arg(args, kwargs, 0, "");
    const Value* a1 = Arg(args, kwargs, 1, "");
    if (self.kind == Value::kDict) {
      if (name == "get") {
        if (!a0) return Fail(at, "get() takes a key");
        const Value* x = a0->kind == Value::kString ? self.Find(a0->s) : nullptr;
        *out = x ? *x : a1 ? *a1 : Value::None();
        return true;
      }
      List items;
      for (const auto& kv : *self.dict) {
        if (name == "items") items.push_back(Value::Lst({KeyValue(kv.first), kv.second}));
        else if (name == "keys") items.push_back(KeyValue(kv.first));
        else items.push_back(kv.second);
      }
      *out = Value::Lst(std::move(items));
      return true;
    }
    const bool tainted = !self.spans.empty();
    auto string_arg = [&](const Value* v, const char* what) {
      if (v && v->kind == Value::kString) return true;
      return Fail(at, std::string(name) + "() takes " + what);
    };
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      const std::string* chars = a0 && a0->kind == Value::kString ? &a0->s : nullptr;
      *out = Strip(self, chars, name != "rstrip", name != "lstrip");
      return true;
    }
    if (name == "split" || name == "rsplit") {
      const Value* sep = Arg(args, kwargs, 0, "sep");
      const Value* maxsplit = Arg(args, kwargs, 1, "maxsplit");
      return SplitString(at, self, sep, maxsplit && maxsplit->kind == Value::kInt ? maxsplit->i : -1, name == "rsplit", out);
    }
    if (name == "splitlines") {
      Value sep = Value::Str("\n");
      if (!SplitString(at, self, &sep, -1, false, out)) return false;
      List parts = *out->list;
      if (!parts.empty() && parts.back().s.empty()) parts.pop_back();
      for (Value& p : parts) if (!p.s.empty() && p.s.back() == '\r') p = Sub(p, 0, p.s.size() - 1);
      *out = Value::Lst(std::move(parts));
      return true;
    }
    if (name == "startswith" || name == "endswith") {
      if (!a0) return Fail(at, name + "() takes a prefix");
      List options = a0->kind == Value::kList ? *a0->list : List{*a0};
      bool r = false;
      for (const Value& o : options) {
        if (!string_arg(&o, "a string or a tuple of strings")) return false;
        const std::string& p = o.s;
        r = r || (p.size() <= self.s.size() &&
                  (name == "startswith" ? self.s.compare(0, p.size(), p) == 0
                                        : self.s.compare(self.s.size() - p.size(), p.size(), p) == 0));
      }
      *out = Value::Bool(r);
      return true;
    }
    if (name == "replace") {
      if (!string_arg(a0, "two strings") || !string_arg(a1, "two strings")) return false;
      const Value* count = Arg(args, kwargs, 2, "count");
      *out = Derived(Replace(self.s, a0->s, a1->s, count && count->kind == Value::kInt ? count->i : -1),
                     tainted || !a1->spans.empty());
      return CheckSize(at, out->s.size());
    }
    if (name == "upper") { *out = Derived(AsciiMap(self.s, [](int c) { return std::toupper(c); }), tainted); return true; }
    if (name == "lower") { *out = Derived(AsciiMap(self.s, [](int c) { return std::tolower(c); }), tainted); return true; }
    if (name == "title") { *out = Derived(Title(self.s), tainted); return true; }
    if (name == "capitalize") { *out = Derived(Capitalize(self.s), tainted); return true; }
    if (name == "find" || name == "rfind" || name == "index" || name == "count") {
      if (!string_arg(a0, "a string")) return false;
      if (name == "count") {
        int64_t n = 0;
        if (a0->s.empty()) n = static_cast<int64_t>(CodePoints(self.s).size());
        else for (size_t p = self.s.find(a0->s); p != std::string::npos; p = self.s.find(a0->s, p + a0->s.size())) ++n;
        *out = Value::Int(n);
        return true;
      }
      const size_t p = name == "rfind" ? self.s.rfind(a0->s) : self.s.find(a0->s);
      if (p == std::string::npos && name == "index") return Fail(at, "substring not found");
      *out = Value::Int(p == std::string::npos ? -1 : static_cast<int64_t>(CodePoints(self.s.substr(0, p)).size()) - 1);
      return true;
    }
    if (name == "join") {
      if (!a0) return Fail(at, "join() takes a list");
      return Join(at, *a0, self, nullptr, out);
    }
    if (name == "format") {
      std::string r;
      bool t = tainted;
      size_t next = 0;
      for (size_t k = 0; k < self.s.size(); ++k) {
        if (self.s.compare(k, 2, "{{") == 0 || self.s.compare(k, 2, "}}") == 0) { r += self.s[k++]; continue; }
        if (self.s.compare(k, 2, "{}") == 0) {
          if (next >= args.size()) return Fail(at, "format(): not enough arguments");
          r += Str(args[next]);
          t = t || HasTaint(args[next]);
          ++next;
          ++k;
          continue;
        }
        if (self.s[k] == '{') return Unsupported(at, "format() with named or numbered fields");
        r += self.s[k];
      }
      *out = Derived(std::move(r), t);
      return CheckSize(at, out->s.size());
    }
    bool all = !self.s.empty();
    for (size_t k = 0; k < self.s.size(); k = Utf8Next(self.s, k)) {
      const uint32_t c = Utf8At(self.s, k);
      bool ok = false;
      if (name == "isdigit") ok = c >= '0' && c <= '9';
      else if (name == "isalpha") ok = (c | 32) >= 'a' && (c | 32) <= 'z';
      else if (name == "isalnum") ok = ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9');
      else if (name == "isspace") ok = IsPySpace(c);
      else if (name == "islower") ok = !(c >= 'A' && c <= 'Z');
      else if (name == "isupper") ok = !(c >= 'a' && c <= 'z');
      all = all && ok;
    }
    *out = Value::Bool(all);
    return true;
  }

  static std::string Replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    if (from.empty()) return s;
    std::string r;
    size_t b = 0;
    int64_t n = 0;
    for (size_t p = s.find(from); p != std::string::npos && (count < 0 || n < count); p = s.find(from, b), ++n) {
      r += s.substr(b, p - b) + to;
      b = p + from.size();
      if (r.size() > kMaxString) break;
    }
    return r + s.substr(b);
  }

  bool Join(const Expr* at, const Value& seq, const Value& sep, const Value* attribute, Value* out) {
    std::shared_ptr<const List> walked;
    if (!Iterate(at, seq, &walked)) return false;
    const List& items = *walked;
    Value r = Value::Str("");
    for (size_t k = 0; k < items.size(); ++k) {
      Value item = items[k];
      if (attribute && !GetItem(at, items[k], *attribute, &item)) return false;
      if (k && !Binary(at, "~", r, sep, &r)) return false;
      if (!Binary(at, "~", r, item, &r)) return false;
    }
    *out = std::move(r);
    return true;
  }

  // ---- filters ----
  bool EvalFilter(const Expr& e, Value* out) {
    Value v;
    if (!Eval(*e.args[0], &v)) return false;
    Args args;
    Kwargs kwargs;
    if (!EvalArgs(e, 1, &args, &kwargs)) return false;
    return Filter(&e, e.name, v, args, kwargs, out);
  }

  bool Filter(const Expr* at, const std::string& name, const Value& v, const Args& args, const Kwargs& kwargs, Value* out) {
    const Value* a0 = Arg(args, kwargs, 0, "");
    const bool tainted = HasTaint(v);
    if (name == "default" || name == "d") {
      const Value* def = Arg(args, kwargs, 0, "default_value");
      const Value* boolean = Arg(args, kwargs, 1, "boolean");
      const bool use_default = !v.defined() || (boolean && Truthy(*boolean) && !Truthy(v));
      *out = use_default ? (def ? *def : Value::Str("")) : v;
      return true;
    }
    if (name == "safe") { *out = v; return true; }
    if (name == "string") { *out = v.kind == Value::kString ? v : Derived(Str(v), tainted); return true; }
    if (name == "tojson") return ToJson(at, v, args, kwargs, out);
    if (name == "trim") {
      const Value s = v.kind == Value::kString ? v : Value::Str(Str(v));
      const Value* chars = Arg(args, kwargs, 0, "chars");
      *out = Strip(s, chars && chars->kind == Value::kString ? &chars->s : nullptr, true, true);
      return true;
    }
    if (name == "length" || name == "count") {
      switch (v.kind) {
        case Value::kString: *out = Value::Int(static_cast<int64_t>(CodePoints(v.s).size()) - 1); return true;
        case Value::kList: *out = Value::Int(static_cast<int64_t>(v.list->size())); return true;
        case Value::kDict: *out = Value::Int(static_cast<int64_t>(v.dict->size())); return true;
        case Value::kUndefined: *out = Value::Int(0); return true;
        default: return Fail(at, std::string("object of type '") + TypeName(v) + "' has no len()");
      }
    }
    if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
      const Value s = v.kind == Value::kString ? v : Value::Str(Str(v));
      return CallMethod(at, s, name, {}, {}, out);
    }
    if (name == "replace") {
      const Value s = v.kind == Value::kString ? v : Value::Str(Str(v));
      return CallMethod(at, s, name, args, kwargs, out);
    }
    if (name == "join") {
      const Value* sep = Arg(args, kwargs, 0, "d");
      const Value* attribute = Arg(args, kwargs, 1, "attribute");
      return Join(at, v, sep ? *sep : Value::Str(""), attribute, out);
    }
    if (name == "first" || name == "last" || name == "list" || name == "reverse" || name == "unique" ||
        name == "sort" || name == "dictsort" || name == "items" || name == "min" || name == "max" || name == "sum") {
      return SequenceFilter(at, name, v, args, kwargs, out);
    }
    if ((name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject" || name == "map") &&
        !Truthy(v)) {
      *out = Value::Lst({});  // jinja2 yields nothing for an empty or false sequence (none included)
      return true;
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
      std::shared_ptr<const List> walked;
      if (!Iterate(at, v, &walked)) return false;
      const List& items = *walked;
      List kept;
      const bool by_attr = name == "selectattr" || name == "rejectattr";
      const bool want = name == "selectattr" || name == "select";
      size_t first_test = by_attr ? 1 : 0;
      if (by_attr && (!a0 || a0->kind != Value::kString)) return Fail(at, name + " takes an attribute name");
      for (const Value& item : items) {
        if (!Step(at)) return false;
        Value subject = item;
        if (by_attr && !GetItem(at, item, *a0, &subject)) return false;
        bool r = Truthy(subject);
        if (args.size() > first_test) {
          if (args[first_test].kind != Value::kString) return Fail(at, name + " takes a test name");
          Args test_args(args.begin() + static_cast<long>(first_test) + 1, args.end());
          if (!Test(at, args[first_test].s, subject, test_args, &r)) return false;
        }
        if (r == want) kept.push_back(item);
      }
      *out = Value::Lst(std::move(kept));
      return true;
    }
    if (name == "map") {
      std::shared_ptr<const List> walked;
      if (!Iterate(at, v, &walked)) return false;
      const List& items = *walked;
      List mapped;
      const Value* attribute = Arg({}, kwargs, 0, "attribute");
      const Value* def = Arg({}, kwargs, 0, "default");
      for (const Value& item : items) {
        if (!Step(at)) return false;
        Value r;
        if (attribute) {
          if (!GetItem(at, item, *attribute, &r)) return false;
          if (!r.defined() && def) r = *def;
        } else {
          if (!a0 || a0->kind != Value::kString) return Fail(at, "map() takes a filter name or attribute=");
          if (!Filter(at, a0->s, item, Args(args.begin() + 1, args.end()), {}, &r)) return false;
        }
        mapped.push_back(std::move(r));
      }
      *out = Value::Lst(std::move(mapped));
      return true;
    }
    if (name == "int") {
      if (v.kind == Value::kString) {
        char* end = nullptr;
        const long long x = std::strtoll(Strip(v, nullptr, true, true).s.c_str(), &end, 10);
        *out = Value::Int(end && *end == '\0' ? x : (a0 && a0->kind == Value::kInt ? a0->i : 0));
      } else {
        *out = Value::Int(IsNumber(v) ? static_cast<int64_t>(Num(v)) : 0);
      }
      return true;
    }
    if (name == "float") {
      *out = Value::Float(v.kind == Value::kString ? std::strtod(v.s.c_str(), nullptr) : IsNumber(v) ? Num(v) : 0.0);
      return true;
    }
    if (name == "abs") {
      if (!IsNumber(v)) return Fail(at, "abs() takes a number");
      *out = v.kind == Value::kFloat ? Value::Float(std::fabs(v.f)) : Value::Int(std::llabs(v.kind == Value::kInt ? v.i : v.b));
      return true;
    }
    if (name == "round") {
      if (!IsNumber(v)) return Fail(at, "round() takes a number");
      const Value* precision = Arg(args, kwargs, 0, "precision");
      const double scale = std::pow(10.0, precision && precision->kind == Value::kInt ? static_cast<double>(precision->i) : 0.0);
      *out = Value::Float(std::round(Num(v) * scale) / scale);
      return true;
    }
    if (name == "indent") {
      const Value* width = Arg(args, kwargs, 0, "width");
      const Value* first = Arg(args, kwargs, 1, "first");
      const Value* blank = Arg(args, kwargs, 2, "blank");
      const std::string pad = width && width->kind == Value::kString ? width->s
                              : std::string(static_cast<size_t>(width && width->kind == Value::kInt ? std::max<int64_t>(0, std::min<int64_t>(width->i, 1024)) : 4), ' ');
      const std::string s = Str(v);
      std::string r;
      size_t b = 0;
      bool first_line = true;
      while (true) {
        const size_t nl = s.find('\n', b);
        const std::string line = s.substr(b, nl == std::string::npos ? std::string::npos : nl - b);
        if (!first_line || (first && Truthy(*first))) {
          if (!line.empty() || (blank && Truthy(*blank))) r += pad;
        }
        r += line;
        if (nl == std::string::npos) break;
        r += '\n';
        b = nl + 1;
        first_line = false;
        if (!CheckSize(at, r.size())) return false;
      }
      *out = Derived(std::move(r), tainted);
      return true;
    }
    if (name == "e" || name == "escape" || name == "forceescape") {
      std::string r;
      for (char c : Str(v)) {
        switch (c) {
          case '&': r += "&amp;"; break;
          case '<': r += "&lt;"; break;
          case '>': r += "&gt;"; break;
          case '"': r += "&#34;"; break;
          case '\'': r += "&#39;"; break;
          default: r += c;
        }
      }
      *out = Derived(std::move(r), tainted);
      return CheckSize(at, out->s.size());
    }
    if (name == "wordcount") {
      Value words;
      const Value s = Value::Str(Str(v));
      if (!SplitString(at, s, nullptr, -1, false, &words)) return false;
      *out = Value::Int(static_cast<int64_t>(words.list->size()));
      return true;
    }
    return Unsupported(at, "the filter '" + name + "'");
  }

  bool SequenceFilter(const Expr* at, const std::string& name, const Value& v, const Args& args, const Kwargs& kwargs,
                      Value* out) {
    if (name == "items") {
      if (v.kind == Value::kUndefined) { *out = Value::Lst({}); return true; }
      if (v.kind != Value::kDict) return Fail(at, "items() takes a mapping");
      return CallMethod(at, v, "items", {}, {}, out);
    }
    std::shared_ptr<const List> walked;
    if (!Iterate(at, v, &walked)) return false;
    if (name == "first" || name == "last") {
      *out = walked->empty() ? Value::Undefined(name) : name == "first" ? walked->front() : walked->back();
      return true;
    }
    if (name == "list") {
      *out = Value::Lst({});
      out->list = std::move(walked);
      return true;
    }
    List items = *walked;  // the filters below reorder or pick: a copy, charged
    if (!ChargeList(at, items)) return false;
    if (name == "reverse") {
      if (v.kind == Value::kString) {
        std::string r;
        for (auto it = items.rbegin(); it != items.rend(); ++it) r += it->s;
        *out = Derived(std::move(r), HasTaint(v));
      } else {
        std::reverse(items.begin(), items.end());
        *out = Value::Lst(std::move(items));
      }
      return true;
    }
    // sort, dictsort, unique, min and max ignore case unless told otherwise, as jinja2's do.
    const Value* case_sensitive = Arg({}, kwargs, 0, "case_sensitive");
    const bool fold = !(case_sensitive && Truthy(*case_sensitive));
    auto folded = [&](const Value& x) {
      return fold && x.kind == Value::kString ? Value::Str(AsciiMap(x.s, [](int c) { return std::tolower(c); })) : x;
    };
    if (name == "unique") {
      List kept;
      for (const Value& x : items) {
        bool seen = false;
        for (const Value& y : kept) seen = seen || Equal(folded(x), folded(y));
        if (!seen) kept.push_back(x);
        if (!Step(at)) return false;
      }
      *out = Value::Lst(std::move(kept));
      return true;
    }
    if (name == "sum") {
      Value total = Value::Int(0);
      for (const Value& x : items) if (!Binary(at, "+", total, x, &total)) return false;
      *out = total;
      return true;
    }
    const Value* attribute = Arg({}, kwargs, 0, "attribute");
    if (name == "dictsort") {
      if (v.kind != Value::kDict) return Fail(at, "dictsort takes a mapping");
      if (!CallMethod(at, v, "items", {}, {}, out)) return false;
      items = *out->list;
    }
    std::vector<Value> keys;
    for (const Value& x : items) {
      Value key = name == "dictsort" ? (*x.list)[0] : x;
      if (attribute && !GetItem(at, x, *attribute, &key)) return false;
      keys.push_back(folded(key));
    }
    std::vector<size_t> order(items.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    bool ok = true;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      bool r = false;
      if (ok && !Less(at, keys[a], keys[b], &r)) ok = false;
      return r;
    });
    if (!ok) return false;
    if (name == "min" || name == "max") {
      if (items.empty()) { *out = Value::Undefined(name); return true; }
      *out = items[name == "min" ? order.front() : order.back()];
      return true;
    }
    const Value* reverse = Arg(name == "sort" ? args : Args(), kwargs, 0, "reverse");
    if (reverse && Truthy(*reverse)) std::reverse(order.begin(), order.end());
    List sorted;
    for (size_t k : order) sorted.push_back(items[k]);
    *out = Value::Lst(std::move(sorted));
    return true;
  }

  bool ToJson(const Expr* at, const Value& v, const Args& args, const Kwargs& kwargs, Value* out) {
    JsonStyle style;
    const Value* ensure_ascii = Arg(args, kwargs, 0, "ensure_ascii");
    const Value* indent = Arg(args, kwargs, 1, "indent");
    const Value* separators = Arg(args, kwargs, 2, "separators");
    const Value* sort_keys = Arg(args, kwargs, 3, "sort_keys");
    if (ensure_ascii) style.ensure_ascii = Truthy(*ensure_ascii);
    if (indent && indent->kind == Value::kInt) {
      style.indent = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(indent->i, 64)));
      style.item_sep = ",";
    } else if (indent && indent->kind != Value::kNone) {
      return Unsupported(at, "tojson(indent=) that is not an integer");
    }
    if (separators && separators->kind == Value::kList && separators->list->size() == 2 &&
        (*separators->list)[0].kind == Value::kString && (*separators->list)[1].kind == Value::kString) {
      style.item_sep = (*separators->list)[0].s;
      style.key_sep = (*separators->list)[1].s;
    }
    if (sort_keys) style.sort_keys = Truthy(*sort_keys);
    std::string text, error;
    if (!Json(v, style, 0, &text, &error)) return Fail(at, error);
    *out = Derived(std::move(text), HasTaint(v));
    return true;
  }

  // ---- tests ----
  bool EvalTest(const Expr& e, bool* r) {
    Value v;
    if (!Eval(*e.args[0], &v)) return false;
    Args args;
    Kwargs kwargs;
    if (!EvalArgs(e, 1, &args, &kwargs)) return false;
    return Test(&e, e.name, v, args, r);
  }

  bool Test(const Expr* at, const std::string& name, const Value& v, const Args& args, bool* r) {
    const Value* a0 = args.empty() ? nullptr : &args[0];
    if (name == "defined") *r = v.defined();
    else if (name == "undefined") *r = !v.defined();
    else if (name == "none") *r = v.kind == Value::kNone;
    else if (name == "string") *r = v.kind == Value::kString;
    else if (name == "mapping") *r = v.kind == Value::kDict;
    else if (name == "iterable") *r = v.kind == Value::kList || v.kind == Value::kDict || v.kind == Value::kString || v.kind == Value::kUndefined;
    else if (name == "sequence") *r = v.kind == Value::kList || v.kind == Value::kDict || v.kind == Value::kString;
    else if (name == "number") *r = IsNumber(v);
    else if (name == "integer") *r = v.kind == Value::kInt;
    else if (name == "float") *r = v.kind == Value::kFloat;
    else if (name == "boolean") *r = v.kind == Value::kBool;
    else if (name == "true") *r = v.kind == Value::kBool && v.b;
    else if (name == "false") *r = v.kind == Value::kBool && !v.b;
    else if (name == "callable") *r = v.kind == Value::kFunction;
    else if (name == "lower" || name == "upper") {
      Value x;
      if (!CallMethod(at, Value::Str(Str(v)), name == "lower" ? "islower" : "isupper", {}, {}, &x)) return false;
      *r = x.b;
    } else if (name == "odd" || name == "even" || name == "divisibleby") {
      if (v.kind != Value::kInt) return Fail(at, "the test '" + name + "' takes an integer");
      if (name == "divisibleby") {
        if (!a0 || a0->kind != Value::kInt || a0->i == 0) return Fail(at, "divisibleby takes a non-zero integer");
        *r = v.i % a0->i == 0;
      } else {
        *r = (v.i % 2 != 0) == (name == "odd");
      }
    } else {
      static const char* const kCompare[][2] = {{"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="},
                                                {"lt", "<"}, {"lessthan", "<"}, {"<", "<"}, {"le", "<="}, {"<=", "<="},
                                                {"gt", ">"}, {"greaterthan", ">"}, {">", ">"}, {"ge", ">="}, {">=", ">="},
                                                {"in", "in"}, {"sameas", "=="}};
      for (const auto& c : kCompare) {
        if (name == c[0]) {
          if (!a0) return Fail(at, "the test '" + name + "' takes an argument");
          return Compare(at, c[1], v, *a0, r);
        }
      }
      return Unsupported(at, "the test '" + name + "'");
    }
    return true;
  }

  std::vector<Dict> scopes_;  // [0]: the globals; then for loops and macro calls
  size_t floor_ = 0;          // inside a macro, scopes below this (but the globals) are hidden
  Value out_ = Value::Str("");
  Status status_;
  std::time_t now_;
  int64_t steps_ = 0;
  size_t work_ = 0;
  int depth_ = 0;
  int macro_depth_ = 0;
};

}  // namespace

Status Template::Render(const Dict& globals, std::time_t now, std::string* out, std::vector<Span>* out_spans) const {
  if (!body_) return ACORN_ERROR(kInvalidArgument, "the chat template was not parsed");
  Renderer r(globals, now);
  return r.Run(*body_, out, out_spans);
}

}  // namespace jinja
}  // namespace acorn

// Jinja source → tree. The lexer applies jinja2's whitespace rules as transformers configures them
// (trim_blocks, lstrip_blocks, "-" and "+" markers, newlines normalized, one trailing newline
// dropped); the parser follows jinja2's grammar and precedence for the statements and expressions
// chat templates use.
#include <cstring>
#include <initializer_list>

#include "jinja.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace jinja {

const Value* Value::Find(const std::string& key) const {
  if ((kind != kDict && kind != kNamespace) || !dict) return nullptr;
  for (const auto& kv : *dict) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

namespace {

struct Token {
  enum Kind { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind;
  std::string text;  // kText data, name, unescaped string, operator
  int64_t i = 0;
  double f = 0;
  int line = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's unicode-escape decoding, as jinja2 applies it to string literals: "\n" written as two
// characters and a literal newline both become a newline; unknown escapes stay as written.
std::string Unescape(const std::string& raw) {
  std::string out;
  for (size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (c != '\\' || k + 1 >= raw.size()) { out.push_back(c); continue; }
    const char e = raw[++k];
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case '\n': break;  // a backslash before a newline continues the line
      case 'x': case 'u': case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        bool ok = true;
        for (size_t d = 1; ok && d <= n; ++d) {
          const int h = k + d < raw.size() ? HexDigit(raw[k + d]) : -1;
          if (h < 0) ok = false; else cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (!ok || cp > 0x10FFFF) { out.push_back('\\'); out.push_back(e); break; }
        unicode::AppendUtf8(cp, &out);
        k += n;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int d = 0; d < 2 && k + 1 < raw.size() && raw[k + 1] >= '0' && raw[k + 1] <= '7'; ++d) {
            cp = cp * 8 + static_cast<uint32_t>(raw[++k] - '0');
          }
          unicode::AppendUtf8(cp, &out);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(const std::string& source) {
    // Newlines normalized to \n, and one trailing newline dropped (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t k = 0; k < source.size(); ++k) {
      if (source[k] == '\r') {
        src_.push_back('\n');
        if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
      } else {
        src_.push_back(source[k]);
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  Status Run(std::vector<Token>* tokens) {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t at = pos;
      while (true) {
        at = src_.find('{', at);
        if (at == std::string::npos || at + 1 >= src_.size()) { at = std::string::npos; break; }
        const char n = src_[at + 1];
        if (n == '{' || n == '%' || n == '#') break;
        ++at;
      }
      std::string text = src_.substr(pos, at == std::string::npos ? std::string::npos : at - pos);
      if (at == std::string::npos) {
        Emit(Token::kText, text);
        break;
      }
      const char kind = src_[at + 1];
      const char marker = at + 2 < src_.size() ? src_[at + 2] : '\0';
      if (marker == '-') {
        size_t e = text.size();
        while (e > 0 && IsSpace(text[e - 1])) --e;
        text.resize(e);
      } else if (marker != '+' && kind != '{') {
        // lstrip_blocks: spaces and tabs between a line's start and a block or comment tag go.
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          if (text.find_first_not_of(" \t", l_pos) == std::string::npos) text.resize(l_pos);
        }
      }
      CountLines(src_.substr(pos, at - pos));
      Emit(Token::kText, text);
      pos = at + 2 + ((marker == '-' || marker == '+') ? 1 : 0);
      if (kind == '#') {
        const size_t end = src_.find("#}", pos);
        if (end == std::string::npos) return Error("a comment {# is never closed");
        const char before = end > pos ? src_[end - 1] : '\0';
        CountLines(src_.substr(pos, end + 2 - pos));
        pos = AfterTag(end + 2, before, &line_starting);
        continue;
      }
      tokens_.push_back({kind == '{' ? Token::kVarBegin : Token::kBlockBegin, "", 0, 0, line_});
      ACORN_RETURN_IF_ERROR(LexTag(kind == '{' ? '}' : '%', &pos, &line_starting));
    }
    tokens_.push_back({Token::kEnd, "", 0, 0, line_});
    *tokens = std::move(tokens_);
    return Status::Ok();
  }

 private:
  void Emit(Token::Kind kind, const std::string& text) {
    if (!text.empty()) tokens_.push_back({kind, text, 0, 0, line_});
  }
  void CountLines(const std::string& s) {
    for (char c : s) line_ += c == '\n';
  }
  Status Error(const char* what) const {
    return ACORN_ERROR(kMalformed, "chat template line %d: %s", line_ + 1, what);
  }

  // Where text resumes after a tag that ends at `end`: "-" strips all whitespace, "+" keeps it,
  // otherwise trim_blocks drops one newline after a block or comment.
  size_t AfterTag(size_t end, char before_close, bool* line_starting) {
    size_t p = end;
    if (before_close == '-') {
      while (p < src_.size() && IsSpace(src_[p])) ++p;
    } else if (before_close != '+' && p < src_.size() && src_[p] == '\n' && closing_is_block_) {
      ++p;
    }
    CountLines(src_.substr(end, p - end));
    *line_starting = p > 0 && src_[p - 1] == '\n';
    return p;
  }

  Status LexTag(char close, size_t* pos_io, bool* line_starting) {
    size_t p = *pos_io;
    int depth = 0;
    while (true) {
      while (p < src_.size() && IsSpace(src_[p])) {
        line_ += src_[p] == '\n';
        ++p;
      }
      if (p >= src_.size()) return Error(close == '}' ? "a {{ is never closed" : "a {% is never closed");
      if (depth == 0) {
        const bool marked =
            (src_[p] == '-' || src_[p] == '+') && src_.compare(p + 1, 2, std::string(1, close) + "}") == 0;
        if (marked || src_.compare(p, 2, std::string(1, close) + "}") == 0) {
          const char before = marked ? src_[p] : '\0';
          const size_t end = p + (marked ? 3 : 2);
          tokens_.push_back({close == '}' ? Token::kVarEnd : Token::kBlockEnd, "", 0, 0, line_});
          closing_is_block_ = close == '%';
          *pos_io = AfterTag(end, before, line_starting);
          return Status::Ok();
        }
      }
      const char c = src_[p];
      if (IsNameStart(c)) {
        size_t e = p;
        while (e < src_.size() && (IsNameStart(src_[e]) || IsDigit(src_[e]))) ++e;
        tokens_.push_back({Token::kName, src_.substr(p, e - p), 0, 0, line_});
        p = e;
      } else if (IsDigit(c)) {
        size_t e = p;
        std::string digits;
        bool is_float = false;
        while (e < src_.size() && (IsDigit(src_[e]) || src_[e] == '_')) { if (src_[e] != '_') digits += src_[e]; ++e; }
        if (e + 1 < src_.size() && src_[e] == '.' && IsDigit(src_[e + 1])) {
          is_float = true;
          digits += src_[e++];
          while (e < src_.size() && (IsDigit(src_[e]) || src_[e] == '_')) { if (src_[e] != '_') digits += src_[e]; ++e; }
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
          size_t x = e + 1;
          if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
          if (x < src_.size() && IsDigit(src_[x])) {
            is_float = true;
            digits += src_.substr(e, x - e);
            e = x;
            while (e < src_.size() && IsDigit(src_[e])) digits += src_[e++];
          }
        }
        Token t{is_float ? Token::kFloat : Token::kInt, digits, 0, 0, line_};
        if (is_float) {
          t.f = std::strtod(digits.c_str(), nullptr);
        } else {
          if (digits.size() > 18) return Error("an integer literal is too large");
          t.i = std::strtoll(digits.c_str(), nullptr, 10);
        }
        tokens_.push_back(t);
        p = e;
      } else if (c == '\'' || c == '"') {
        size_t e = p + 1;
        while (e < src_.size() && src_[e] != c) {
          if (src_[e] == '\\') ++e;
          ++e;
        }
        if (e >= src_.size()) return Error("a string literal is never closed");
        const std::string raw = src_.substr(p + 1, e - p - 1);
        tokens_.push_back({Token::kString, Unescape(raw), 0, 0, line_});
        CountLines(raw);
        p = e + 1;
      } else {
        static const char* const kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op(1, c);
        for (const char* two : kTwo) {
          if (src_.compare(p, 2, two) == 0) op = two;
        }
        if (op.size() == 1 && !std::strchr("+-*/%~<>=()[]{},.:|", c)) {
          return ACORN_ERROR(kUnsupported, "chat template line %d: unexpected character '%c' in a tag", line_ + 1, c);
        }
        if (c == '(' || c == '[' || c == '{') ++depth;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
        tokens_.push_back({Token::kOp, op, 0, 0, line_});
        p += op.size();
      }
    }
  }

  std::string src_;
  std::vector<Token> tokens_;
  int line_ = 0;
  bool closing_is_block_ = true;  // comments count as blocks for trim_blocks
};

using Body = std::vector<std::unique_ptr<Node>>;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Status ParseAll(Body* body) {
    std::string end;
    ACORN_RETURN_IF_ERROR(ParseBody(body, {}, &end));
    return Status::Ok();
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kOp && Peek(ahead).text == op;
  }
  bool IsName(const char* name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kName && Peek(ahead).text == name;
  }
  Status Error(const std::string& what) const {
    return ACORN_ERROR(kMalformed, "chat template line %d: %s", Peek().line + 1, what.c_str());
  }
  Status Unsupported(const std::string& what) const {
    return ACORN_ERROR(kUnsupported, "chat template line %d: %s is not supported by acorn's template engine",
                       Peek().line + 1, what.c_str());
  }
  Status Expect(const char* op) {
    if (!IsOp(op)) return Error(std::string("expected '") + op + "', found '" + Peek().text + "'");
    ++p_;
    return Status::Ok();
  }
  Status ExpectBlockEnd() {
    if (Peek().kind != Token::kBlockEnd) return Error("expected the end of the tag, found '" + Peek().text + "'");
    ++p_;
    return Status::Ok();
  }
  Status ExpectName(std::string* name) {
    if (Peek().kind != Token::kName) return Error("expected a name, found '" + Peek().text + "'");
    *name = t_[p_++].text;
    return Status::Ok();
  }

  // Parses nodes until a block tag whose keyword is in `ends` (left for the caller in *end, the
  // keyword consumed) or the end of input (only when `ends` is empty).
  Status ParseBody(Body* body, const std::vector<const char*>& ends, std::string* end) {
    if (++depth_ > kMaxDepth) return Error("blocks nested too deeply");
    while (true) {
      const Token& tok = Peek();
      if (tok.kind == Token::kEnd) {
        if (!ends.empty()) return Error(std::string("missing {% ") + ends.back() + " %}");
        break;
      }
      if (tok.kind == Token::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::kText;
        n->text = tok.text;
        body->push_back(std::move(n));
        ++p_;
      } else if (tok.kind == Token::kVarBegin) {
        ++p_;
        auto n = std::make_unique<Node>();
        n->kind = Node::kOutput;
        n->line = tok.line;
        ACORN_RETURN_IF_ERROR(ParseTuple(&n->expr));
        if (Peek().kind != Token::kVarEnd) return Error("expected '}}', found '" + Peek().text + "'");
        ++p_;
        body->push_back(std::move(n));
      } else if (tok.kind == Token::kBlockBegin) {
        const Token& kw = Peek(1);
        if (kw.kind != Token::kName) return Error("expected a statement after {%");
        bool is_end = false;
        for (const char* e : ends) is_end = is_end || kw.text == e;
        if (is_end) {
          p_ += 2;
          *end = kw.text;
          --depth_;
          return Status::Ok();
        }
        p_ += 2;
        std::unique_ptr<Node> n;
        ACORN_RETURN_IF_ERROR(ParseStatement(kw.text, kw.line, &n));
        body->push_back(std::move(n));
      } else {
        return Error("unexpected '" + tok.text + "'");
      }
    }
    --depth_;
    return Status::Ok();
  }

  // The rest of a block's opening tag, its body, and its closing tag {% end_keyword %}.
  Status ParseBlock(Body* body, const char* end_keyword) {
    std::string end;
    ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
    ACORN_RETURN_IF_ERROR(ParseBody(body, {end_keyword}, &end));
    return ExpectBlockEnd();
  }

  Status ParseStatement(const std::string& kw, int line, std::unique_ptr<Node>* out) {
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (kw == "if") {
      n->kind = Node::kIf;
      ExprPtr cond;
      ACORN_RETURN_IF_ERROR(ParseExpression(&cond));
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
      while (true) {
        Body body;
        ACORN_RETURN_IF_ERROR(ParseBody(&body, {"elif", "else", "endif"}, &end));
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (end == "endif") break;
        if (end == "else") {
          ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
          Body last;
          ACORN_RETURN_IF_ERROR(ParseBody(&last, {"endif"}, &end));
          n->branches.emplace_back(nullptr, std::move(last));
          break;
        }
        ACORN_RETURN_IF_ERROR(ParseExpression(&cond));
        ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
      }
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "for") {
      n->kind = Node::kFor;
      do {
        std::string name;
        ACORN_RETURN_IF_ERROR(ExpectName(&name));
        n->targets.push_back(name);
      } while (IsOp(",") && (++p_, true));
      if (!IsName("in")) return Error("expected 'in' in a for loop");
      ++p_;
      ACORN_RETURN_IF_ERROR(ParseExpression(&n->expr, /*with_condexpr=*/false));
      if (IsName("if")) {
        ++p_;
        ACORN_RETURN_IF_ERROR(ParseExpression(&n->filter));
      }
      if (IsName("recursive")) return Unsupported("a recursive for loop");
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
      ACORN_RETURN_IF_ERROR(ParseBody(&n->body, {"else", "endfor"}, &end));
      if (end == "else") {
        ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
        ACORN_RETURN_IF_ERROR(ParseBody(&n->else_body, {"endfor"}, &end));
      }
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "set") {
      std::string name;
      ACORN_RETURN_IF_ERROR(ExpectName(&name));
      n->targets.push_back(name);
      if (IsOp(".")) {
        ++p_;
        ACORN_RETURN_IF_ERROR(ExpectName(&name));
        n->targets.push_back(name);
        n->attr_set = true;
      } else {
        while (IsOp(",")) {
          ++p_;
          ACORN_RETURN_IF_ERROR(ExpectName(&name));
          n->targets.push_back(name);
        }
      }
      if (IsOp("=")) {
        ++p_;
        n->kind = Node::kSet;
        ACORN_RETURN_IF_ERROR(ParseTuple(&n->expr));
        ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
      } else {
        if (n->targets.size() != 1 || n->attr_set) return Error("a {% set %} block takes one name");
        if (IsOp("|")) return Unsupported("a filtered {% set %} block");
        n->kind = Node::kSetBlock;
        ACORN_RETURN_IF_ERROR(ParseBlock(&n->body, "endset"));
      }
    } else if (kw == "macro") {
      n->kind = Node::kMacro;
      ACORN_RETURN_IF_ERROR(ExpectName(&n->name));
      ACORN_RETURN_IF_ERROR(Expect("("));
      while (!IsOp(")")) {
        std::string param;
        ACORN_RETURN_IF_ERROR(ExpectName(&param));
        n->params.push_back(param);
        ExprPtr def;
        if (IsOp("=")) {
          ++p_;
          ACORN_RETURN_IF_ERROR(ParseExpression(&def));
        }
        n->defaults.push_back(std::move(def));
        if (!IsOp(",")) break;
        ++p_;
      }
      ACORN_RETURN_IF_ERROR(Expect(")"));
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
      ACORN_RETURN_IF_ERROR(ParseBody(&n->body, {"endmacro"}, &end));
      if (Peek().kind == Token::kName) ++p_;  // {% endmacro name %}
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "break" || kw == "continue") {
      n->kind = kw == "break" ? Node::kBreak : Node::kContinue;
      ACORN_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "generation") {
      // transformers' AssistantTracker: marks the assistant's text, renders its body unchanged.
      n->kind = Node::kBody;
      ACORN_RETURN_IF_ERROR(ParseBlock(&n->body, "endgeneration"));
    } else if (kw == "filter") {
      // {% filter name(args) %}body{% endfilter %}: the rendered body goes through the filter.
      n->kind = Node::kFilterBlock;
      n->expr = Make(Expr::kFilter);
      ACORN_RETURN_IF_ERROR(ExpectName(&n->expr->name));
      n->expr->args.push_back(nullptr);
      if (IsOp("(")) ACORN_RETURN_IF_ERROR(ParseArgs(n->expr.get()));
      if (IsOp("|")) return Unsupported("a chain of filters in {% filter %}");
      ACORN_RETURN_IF_ERROR(ParseBlock(&n->body, "endfilter"));
    } else if (kw == "raw") {
      return Unsupported("{% raw %}");
    } else {
      return Unsupported("the {% " + kw + " %} statement");
    }
    *out = std::move(n);
    return Status::Ok();
  }

  ExprPtr Make(Expr::Kind kind) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = Peek().line;
    return e;
  }

  // A comma-separated list without brackets is a tuple ({{ a, b }}, {% set x = 1, 2 %}).
  Status ParseTuple(ExprPtr* out) {
    ACORN_RETURN_IF_ERROR(ParseExpression(out));
    if (!IsOp(",")) return Status::Ok();
    ExprPtr tuple = Make(Expr::kTuple);
    tuple->args.push_back(std::move(*out));
    while (IsOp(",")) {
      ++p_;
      if (Peek().kind == Token::kVarEnd || Peek().kind == Token::kBlockEnd) break;
      ExprPtr item;
      ACORN_RETURN_IF_ERROR(ParseExpression(&item));
      tuple->args.push_back(std::move(item));
    }
    *out = std::move(tuple);
    return Status::Ok();
  }

  struct DepthGuard {
    explicit DepthGuard(int* d) : d_(d) { ++*d_; }
    ~DepthGuard() { --*d_; }
    int* d_;
  };

  Status ParseExpression(ExprPtr* out, bool with_condexpr = true) {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Error("expression nested too deeply");
    ACORN_RETURN_IF_ERROR(ParseOr(out));
    if (!with_condexpr) return Status::Ok();
    while (IsName("if")) {
      ++p_;
      ExprPtr cond = Make(Expr::kCond);
      ExprPtr test, other;
      ACORN_RETURN_IF_ERROR(ParseOr(&test));
      if (IsName("else")) {
        ++p_;
        ACORN_RETURN_IF_ERROR(ParseExpression(&other));
      }
      cond->args.push_back(std::move(*out));
      cond->args.push_back(std::move(test));
      cond->args.push_back(std::move(other));  // null: undefined when the test fails
      *out = std::move(cond);
    }
    return Status::Ok();
  }

  Status ParseOr(ExprPtr* out) { return ParseLeft(out, &Parser::ParseAnd, {"or"}, true, Expr::kOr); }
  Status ParseAnd(ExprPtr* out) { return ParseLeft(out, &Parser::ParseNot, {"and"}, true, Expr::kAnd); }

  Status ParseNot(ExprPtr* out) {
    if (IsName("not")) {
      DepthGuard guard(&depth_);
      if (depth_ > kMaxDepth) return Error("expression nested too deeply");
      ++p_;
      ExprPtr e = Make(Expr::kNot), operand;
      ACORN_RETURN_IF_ERROR(ParseNot(&operand));
      e->args.push_back(std::move(operand));
      *out = std::move(e);
      return Status::Ok();
    }
    return ParseCompare(out);
  }

  Status ParseCompare(ExprPtr* out) {
    ACORN_RETURN_IF_ERROR(ParseMath1(out));
    ExprPtr cmp;
    int chain = 0;
    while (true) {
      ACORN_RETURN_IF_ERROR(Chain(&chain));
      std::string op;
      if (Peek().kind == Token::kOp && (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" ||
                                        Peek().text == ">" || Peek().text == "<=" || Peek().text == ">=")) {
        op = Peek().text;
        ++p_;
      } else if (IsName("in")) {
        op = "in";
        ++p_;
      } else if (IsName("not") && IsName("in", 1)) {
        op = "not in";
        p_ += 2;
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(Expr::kCompare);
        cmp->args.push_back(std::move(*out));
      }
      ExprPtr rhs;
      ACORN_RETURN_IF_ERROR(ParseMath1(&rhs));
      cmp->ops.push_back(op);
      cmp->args.push_back(std::move(rhs));
    }
    if (cmp) *out = std::move(cmp);
    return Status::Ok();
  }

  // Chains (a + b + c, a.b.c, a|f|g) grow the tree without recursion in the parser; bounding
  // them bounds the tree's depth, and so the renderer's recursion and the tree's destruction.
  Status Chain(int* n) {
    if (++*n > kMaxChain) return Error("an expression chains too many operators");
    return Status::Ok();
  }

  // One level of left-associative operators: operands from `next`, operators from `ops` (keywords
  // when `names`), each joined into an Expr of `kind` named after its operator.
  using Level = Status (Parser::*)(ExprPtr*);
  Status ParseLeft(ExprPtr* out, Level next, std::initializer_list<const char*> ops, bool names, Expr::Kind kind) {
    ACORN_RETURN_IF_ERROR((this->*next)(out));
    int chain = 0;
    while (true) {
      const char* op = nullptr;
      for (const char* o : ops) {
        if (names ? IsName(o) : IsOp(o)) op = o;
      }
      if (op == nullptr) return Status::Ok();
      ACORN_RETURN_IF_ERROR(Chain(&chain));
      ++p_;
      ExprPtr e = Make(kind), rhs;
      ACORN_RETURN_IF_ERROR((this->*next)(&rhs));
      e->name = op;
      e->args.push_back(std::move(*out));
      e->args.push_back(std::move(rhs));
      *out = std::move(e);
    }
  }

  Status ParseMath1(ExprPtr* out) { return ParseLeft(out, &Parser::ParseConcat, {"+", "-"}, false, Expr::kBinary); }
  Status ParseConcat(ExprPtr* out) { return ParseLeft(out, &Parser::ParseMath2, {"~"}, false, Expr::kBinary); }
  Status ParseMath2(ExprPtr* out) {
    return ParseLeft(out, &Parser::ParsePow, {"*", "/", "//", "%"}, false, Expr::kBinary);
  }
  Status ParsePow(ExprPtr* out) { return ParseLeft(out, &Parser::ParseFilteredUnary, {"**"}, false, Expr::kBinary); }
  Status ParseFilteredUnary(ExprPtr* out) { return ParseUnary(out, true); }

  Status ParseUnary(ExprPtr* out, bool with_filter) {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Error("expression nested too deeply");
    if (IsOp("-") || IsOp("+")) {
      ExprPtr e = Make(IsOp("-") ? Expr::kNeg : Expr::kPos), operand;
      ++p_;
      ACORN_RETURN_IF_ERROR(ParseUnary(&operand, false));
      e->args.push_back(std::move(operand));
      *out = std::move(e);
    } else {
      ACORN_RETURN_IF_ERROR(ParsePrimary(out));
      ACORN_RETURN_IF_ERROR(ParsePostfix(out));
    }
    if (with_filter) ACORN_RETURN_IF_ERROR(ParseFilterExpr(out));
    return Status::Ok();
  }

  Status ParsePrimary(ExprPtr* out) {
    const Token& tok = Peek();
    if (tok.kind == Token::kName) {
      ExprPtr e = Make(Expr::kLiteral);
      const std::string& n = tok.text;
      if (n == "true" || n == "True") e->literal = Value::Bool(true);
      else if (n == "false" || n == "False") e->literal = Value::Bool(false);
      else if (n == "none" || n == "None") e->literal = Value::None();
      else { e->kind = Expr::kName; e->name = n; }
      ++p_;
      *out = std::move(e);
    } else if (tok.kind == Token::kString) {
      std::string s;
      while (Peek().kind == Token::kString) s += t_[p_++].text;  // adjacent literals concatenate
      ExprPtr e = Make(Expr::kLiteral);
      e->literal = Value::Str(s);
      *out = std::move(e);
    } else if (tok.kind == Token::kInt || tok.kind == Token::kFloat) {
      ExprPtr e = Make(Expr::kLiteral);
      e->literal = tok.kind == Token::kInt ? Value::Int(tok.i) : Value::Float(tok.f);
      ++p_;
      *out = std::move(e);
    } else if (IsOp("(")) {
      ++p_;
      if (IsOp(")")) {
        ++p_;
        *out = Make(Expr::kTuple);
        return Status::Ok();
      }
      ACORN_RETURN_IF_ERROR(ParseExpression(out));
      if (IsOp(",")) {
        ExprPtr tuple = Make(Expr::kTuple);
        tuple->args.push_back(std::move(*out));
        while (IsOp(",")) {
          ++p_;
          if (IsOp(")")) break;
          ExprPtr item;
          ACORN_RETURN_IF_ERROR(ParseExpression(&item));
          tuple->args.push_back(std::move(item));
        }
        *out = std::move(tuple);
      }
      ACORN_RETURN_IF_ERROR(Expect(")"));
    } else if (IsOp("[")) {
      ++p_;
      ExprPtr list = Make(Expr::kList);
      while (!IsOp("]")) {
        ExprPtr item;
        ACORN_RETURN_IF_ERROR(ParseExpression(&item));
        list->args.push_back(std::move(item));
        if (!IsOp(",")) break;
        ++p_;
      }
      ACORN_RETURN_IF_ERROR(Expect("]"));
      *out = std::move(list);
    } else if (IsOp("{")) {
      ++p_;
      ExprPtr dict = Make(Expr::kDict);
      while (!IsOp("}")) {
        ExprPtr key, value;
        ACORN_RETURN_IF_ERROR(ParseExpression(&key));
        ACORN_RETURN_IF_ERROR(Expect(":"));
        ACORN_RETURN_IF_ERROR(ParseExpression(&value));
        dict->args.push_back(std::move(key));
        dict->args.push_back(std::move(value));
        if (!IsOp(",")) break;
        ++p_;
      }
      ACORN_RETURN_IF_ERROR(Expect("}"));
      *out = std::move(dict);
    } else {
      return Error("unexpected '" + tok.text + "' in an expression");
    }
    return Status::Ok();
  }

  Status ParseArgs(Expr* call) {
    ACORN_RETURN_IF_ERROR(Expect("("));
    while (!IsOp(")")) {
      if (IsOp("*") || IsOp("**")) return Unsupported("*args and **kwargs in a call");
      if (Peek().kind == Token::kName && IsOp("=", 1)) {
        std::string key = Peek().text;
        p_ += 2;
        ExprPtr value;
        ACORN_RETURN_IF_ERROR(ParseExpression(&value));
        call->kwargs.emplace_back(std::move(key), std::move(value));
      } else {
        if (!call->kwargs.empty()) return Error("a positional argument after a keyword argument");
        ExprPtr arg;
        ACORN_RETURN_IF_ERROR(ParseExpression(&arg));
        call->args.push_back(std::move(arg));
      }
      if (!IsOp(",")) break;
      ++p_;
    }
    return Expect(")");
  }

  Status ParsePostfix(ExprPtr* out) {
    int chain = 0;
    while (true) {
      ACORN_RETURN_IF_ERROR(Chain(&chain));
      if (IsOp(".")) {
        ++p_;
        ExprPtr e = Make(Expr::kAttr);
        if (Peek().kind == Token::kInt) {  // foo.0 is foo[0]
          e->kind = Expr::kItem;
          ExprPtr index = Make(Expr::kLiteral);
          index->literal = Value::Int(Peek().i);
          ++p_;
          e->args.push_back(std::move(*out));
          e->args.push_back(std::move(index));
        } else {
          ACORN_RETURN_IF_ERROR(ExpectName(&e->name));
          e->args.push_back(std::move(*out));
        }
        *out = std::move(e);
      } else if (IsOp("[")) {
        ++p_;
        ExprPtr parts[3];
        bool slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!IsOp(":") && !IsOp("]")) ACORN_RETURN_IF_ERROR(ParseExpression(&parts[k]));
          if (k < 2 && IsOp(":")) {
            slice = true;
            ++p_;
          } else {
            break;
          }
        }
        ACORN_RETURN_IF_ERROR(Expect("]"));
        ExprPtr e = Make(slice ? Expr::kSlice : Expr::kItem);
        e->args.push_back(std::move(*out));
        e->args.push_back(std::move(parts[0]));
        if (slice) {
          e->args.push_back(std::move(parts[1]));
          e->args.push_back(std::move(parts[2]));
        } else if (!e->args[1]) {
          return Error("an empty subscript []");
        }
        *out = std::move(e);
      } else if (IsOp("(")) {
        ExprPtr e = Make(Expr::kCall);
        e->args.push_back(std::move(*out));
        ACORN_RETURN_IF_ERROR(ParseArgs(e.get()));
        *out = std::move(e);
      } else {
        return Status::Ok();
      }
    }
  }

  Status ParseFilterExpr(ExprPtr* out) {
    int chain = 0;
    while (true) {
      ACORN_RETURN_IF_ERROR(Chain(&chain));
      if (IsOp("|")) {
        ++p_;
        ExprPtr e = Make(Expr::kFilter);
        ACORN_RETURN_IF_ERROR(ExpectName(&e->name));
        while (IsOp(".")) {  // dotted filter names
          ++p_;
          std::string more;
          ACORN_RETURN_IF_ERROR(ExpectName(&more));
          e->name += "." + more;
        }
        e->args.push_back(std::move(*out));
        if (IsOp("(")) ACORN_RETURN_IF_ERROR(ParseArgs(e.get()));
        *out = std::move(e);
      } else if (IsName("is")) {
        ++p_;
        ExprPtr e = Make(Expr::kTest);
        if (IsName("not")) {
          e->negated = true;
          ++p_;
        }
        ACORN_RETURN_IF_ERROR(ExpectName(&e->name));
        e->args.push_back(std::move(*out));
        if (IsOp("(")) {
          ACORN_RETURN_IF_ERROR(ParseArgs(e.get()));
        } else if ((Peek().kind == Token::kName && Peek().text != "else" && Peek().text != "or" &&
                    Peek().text != "and" && Peek().text != "if" && Peek().text != "not" && Peek().text != "in" &&
                    Peek().text != "is") ||
                   Peek().kind == Token::kString || Peek().kind == Token::kInt || Peek().kind == Token::kFloat ||
                   IsOp("[") || IsOp("{")) {
          ExprPtr arg;
          ACORN_RETURN_IF_ERROR(ParsePrimary(&arg));
          ACORN_RETURN_IF_ERROR(ParsePostfix(&arg));
          e->args.push_back(std::move(arg));
        }
        *out = std::move(e);
      } else if (IsOp("(")) {  // a call on a filter's result: x|f(a)(b)
        ACORN_RETURN_IF_ERROR(ParsePostfix(out));
      } else {
        return Status::Ok();
      }
    }
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<Template> Template::Parse(const std::string& source) {
  std::vector<Token> tokens;
  Lexer lexer(source);
  ACORN_RETURN_IF_ERROR(lexer.Run(&tokens));
  auto body = std::make_shared<Body>();
  Parser parser(std::move(tokens));
  ACORN_RETURN_IF_ERROR(parser.ParseAll(body.get()));
  Template t;
  t.body_ = std::move(body);
  return t;
}

}  // namespace jinja
}  // namespace acorn

// The Jinja subset that chat templates are written in, interpreted the way transformers'
// apply_chat_template renders them: jinja2's sandboxed environment with trim_blocks, lstrip_blocks,
// loop controls (break/continue), the {% generation %} block, and transformers' globals
// (raise_exception, strftime_now, namespace, tojson with indent/separators/sort_keys).
//
// A template is parsed once (jinja_parse.cpp) into a tree, then rendered per conversation
// (jinja_render.cpp). A construct outside the subset is refused at parse time (or, for a filter,
// test or method, when the render reaches it) with a message naming it. The text is untrusted bundle
// content: nesting, loop steps, output size and macro recursion are bounded, and every failure is a
// Status. Strings remember which bytes came from the caller's messages (spans), so that the chat
// code can keep special tokens typed by a user from becoming markup.
//
// Internal to runtime/llm; acorn/chat_template.h is the public face.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "acorn/status.h"

namespace acorn {
namespace jinja {

using Span = std::pair<size_t, size_t>;  // [begin, end) byte range in a string

struct Node;
struct Value;
using List = std::vector<Value>;
// A dict keeps insertion order, as Python's does (tojson and items() follow it).
using Dict = std::vector<std::pair<std::string, Value>>;

struct Value {
  enum Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };
  Kind kind = kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                     // string value; for kUndefined the name that was missing;
                                     // for kFunction the function's or method's name
  std::vector<Span> spans;           // kString: sorted, disjoint ranges of message text
  std::shared_ptr<const List> list;  // kList (also tuples)
  std::shared_ptr<Dict> dict;        // kDict (treated as immutable) and kNamespace (mutable, shared)
  std::shared_ptr<const Value> self; // kFunction: the receiver of a method
  const Node* macro = nullptr;       // kFunction: a template macro

  static Value None() { Value v; v.kind = kNone; return v; }
  static Value Bool(bool x) { Value v; v.kind = kBool; v.b = x; return v; }
  static Value Int(int64_t x) { Value v; v.kind = kInt; v.i = x; return v; }
  static Value Float(double x) { Value v; v.kind = kFloat; v.f = x; return v; }
  static Value Str(std::string x, std::vector<Span> spans = {}) {
    Value v; v.kind = kString; v.s = std::move(x); v.spans = std::move(spans); return v;
  }
  static Value Lst(List items) { Value v; v.kind = kList; v.list = std::make_shared<const List>(std::move(items)); return v; }
  static Value Map(Dict items) { Value v; v.kind = kDict; v.dict = std::make_shared<Dict>(std::move(items)); return v; }
  static Value Undefined(std::string name) { Value v; v.s = std::move(name); return v; }

  bool defined() const { return kind != kUndefined; }
  // The value for a key of a dict or namespace, or null.
  const Value* Find(const std::string& key) const;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum Kind {
    kLiteral, kName, kList, kTuple, kDict, kAttr, kItem, kSlice, kCall, kFilter, kTest,
    kNeg, kPos, kNot, kBinary, kCompare, kAnd, kOr, kCond
  };
  Kind kind = kLiteral;
  Value literal;
  std::string name;                                  // kName, kAttr, kFilter, kTest, kBinary's operator
  std::vector<ExprPtr> args;                         // operands; kCall/kFilter/kTest: [target, positional...]
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;                      // kCompare: the operators between args
  bool negated = false;                              // kTest: "is not"
  int line = 0;
};

struct Node {
  enum Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kBody, kFilterBlock };
  Kind kind = kText;
  std::string text;                                  // kText
  ExprPtr expr;                                      // kOutput, kSet value, kFor iterable, kFilterBlock's
                                                     // filter (its args[0], the text, left null)
  std::vector<std::pair<ExprPtr, std::vector<std::unique_ptr<Node>>>> branches;  // kIf (null condition: else)
  std::vector<std::string> targets;                  // kFor/kSet names; kSet "ns.attr" as {ns, attr} with attr_set
  bool attr_set = false;
  ExprPtr filter;                                    // kFor's "if"
  std::vector<std::unique_ptr<Node>> body, else_body;
  std::string name;                                  // kMacro
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;                     // kMacro: one per param, null where none
  int line = 0;
};

class Template {
 public:
  // Parses template source; a construct outside the subset is a kUnsupported Status naming it.
  static Result<Template> Parse(const std::string& source);
  // Renders with `globals` (name → value); `out_spans` receives the output's message-text ranges.
  Status Render(const Dict& globals, std::time_t now, std::string* out, std::vector<Span>* out_spans) const;

 private:
  std::shared_ptr<const std::vector<std::unique_ptr<Node>>> body_;
};

// Shared by the parser and the renderer.
constexpr int kMaxDepth = 64;                 // nesting of expressions, blocks and macro calls
constexpr int64_t kMaxSteps = 1 << 22;        // loop iterations and output statements per render
constexpr size_t kMaxString = 16u << 20;      // bytes in any string, the output included
constexpr size_t kMaxItems = 1u << 16;        // items in a list made by the template
constexpr size_t kMaxWork = 256u << 20;       // bytes of strings and lists a render may copy in all
constexpr int kMaxChain = 256;                // operators chained without brackets (a + b + ...)

}  // namespace jinja
}  // namespace acorn

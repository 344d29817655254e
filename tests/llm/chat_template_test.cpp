// acorn's chat template renderings equal transformers' apply_chat_template on the real templates
// of many model families (tests/fixtures/chat, goldens by scripts/llm/make_chat_goldens.py), and
// what the engine cannot do it refuses with a message naming the construct.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "acorn/chat_template.h"

namespace acorn {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const nlohmann::json& Goldens() {
  static const nlohmann::json g = nlohmann::json::parse(ReadFile(std::string(ACORN_CHAT_FIXTURES) + "/goldens.json"));
  return g;
}

Result<ChatTemplate> Fixture(const std::string& name) {
  const auto& tokens = Goldens()["tokens"][name];
  auto t = ChatTemplate::Parse(ReadFile(std::string(ACORN_CHAT_FIXTURES) + "/" + name + ".jinja"), tokens[0], tokens[1]);
  if (t.ok()) t->set_now(Goldens()["now"].get<std::time_t>());
  return t;
}

TEST(ChatTemplate, MatchesTransformersOnRealTemplates) {
  const nlohmann::json& g = Goldens();
  int checked = 0, refused = 0;
  std::set<std::string> templates;
  for (const auto& e : g["goldens"]) {
    const std::string name = e["template"];
    auto t = Fixture(name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    std::vector<ChatMessage> messages;
    for (const auto& m : g["conversations"][e["conversation"].get<int>()]) messages.push_back({m["role"], m["content"]});
    std::vector<std::pair<size_t, size_t>> ranges;
    auto text = t->Render(messages, e["add_generation_prompt"], &ranges);
    const std::string where = name + " conversation " + std::to_string(e["conversation"].get<int>()) +
                              (e["add_generation_prompt"].get<bool>() ? " +gen" : "");
    if (e.contains("error")) {
      EXPECT_FALSE(text.ok()) << where << " should be refused as transformers refuses it: " << e["error"];
      ++refused;
    } else {
      ASSERT_TRUE(text.ok()) << where << ": " << text.status().ToString();
      EXPECT_EQ(*text, e["text"].get<std::string>()) << where;
      // Every byte marked as message text is message text.
      for (const auto& r : ranges) {
        ASSERT_LE(r.second, text->size()) << where;
        const std::string piece = text->substr(r.first, r.second - r.first);
        bool found = false;
        for (const ChatMessage& m : messages) found = found || m.content.find(piece) != std::string::npos;
        EXPECT_TRUE(found) << where << ": range '" << piece << "' is not from a message";
      }
    }
    templates.insert(name);
    ++checked;
  }
  EXPECT_GE(templates.size(), 34u);
  EXPECT_GE(checked, 540);
  EXPECT_GT(refused, 100);
}

// A template's own default system prompt comes out whether its Jinja strings spell newlines as
// "\n" escapes or hold them literally.
TEST(ChatTemplate, DefaultSystemPromptWhateverTheNewlineSpelling) {
  const std::string literal = ReadFile(std::string(ACORN_CHAT_FIXTURES) + "/smollm2-1.7b-instruct.jinja");
  ASSERT_NE(literal.find("<|im_start|>system\nYou are"), std::string::npos);
  std::string escaped;
  for (char c : literal) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  const std::string want =
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
  for (const std::string& source : {literal, escaped}) {
    auto t = ChatTemplate::Parse(source, "<|im_start|>", "<|im_end|>");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto text = t->Render({{"user", "Hi"}}, true);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    EXPECT_EQ(*text, want);
  }
  // Llama 3.1's date line and Qwen2.5's default come from the templates, with no system message.
  auto llama = Fixture("llama-3.1-8b-instruct");
  ASSERT_TRUE(llama.ok());
  EXPECT_NE(llama->Render({{"user", "Hi"}}, true)->find("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024"),
            std::string::npos);
  auto qwen = Fixture("qwen2.5-7b-instruct");
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ(qwen->Render({{"user", "Hi"}}, false)->rfind("<|im_start|>system\nYou are Qwen", 0), 0u);
}

TEST(ChatTemplate, EndOfTurnComesFromTheTemplate) {
  const std::pair<const char*, const char*> cases[] = {
      {"qwen3-0.6b", "<|im_end|>"},          {"llama-3.1-8b-instruct", "<|eot_id|>"},
      {"gemma-3-4b-it", "<end_of_turn>"},    {"phi-3.5-mini-instruct", "<|end|>"},
      {"mistral-7b-instruct-v0.3", "</s>"},  {"granite-3.3-2b-instruct", "<|end_of_text|>"},
      {"deepseek-r1-distill-qwen-32b", "<｜end▁of▁sentence｜>"}};
  for (const auto& c : cases) {
    auto t = Fixture(c.first);
    ASSERT_TRUE(t.ok()) << c.first;
    ASSERT_FALSE(t->EndOfTurn().empty()) << c.first;
    EXPECT_EQ(t->EndOfTurn()[0], c.second) << c.first;
  }
  EXPECT_EQ(Fixture("qwen3-0.6b")->family(), ChatFamily::kChatML);
  EXPECT_EQ(Fixture("gemma-3-4b-it")->family(), ChatFamily::kGemma);
  EXPECT_EQ(Fixture("phi-3.5-mini-instruct")->family(), ChatFamily::kOther);
}

Status RenderError(const std::string& source) {
  auto t = ChatTemplate::Parse(source, "<s>", "</s>");
  if (!t.ok()) return t.status();
  return t->Render({{"user", "x"}}, true).status();
}

TEST(ChatTemplate, UnsupportedConstructsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"{% include 'other.jinja' %}", "{% include %}"},
      {"{% extends 'base' %}", "{% extends %}"},
      {"{% for m in messages recursive %}{% endfor %}", "recursive for loop"},
      {"{{ messages | wordwrap }}", "filter 'wordwrap'"},
      {"{% if messages is escaped %}{% endif %}", "test 'escaped'"},
      {"{{ lipsum(2) }}", "lipsum()"},
      {"{{ f(*messages) }}", "*args"},
      {"{{ '%s!' % messages[0].role }}", "printf-style formatting"},
  };
  for (const auto& c : cases) {
    Status st = RenderError(c.first);
    ASSERT_FALSE(st.ok()) << c.first;
    EXPECT_EQ(st.code(), ErrorCode::kUnsupported) << c.first << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.second), std::string::npos) << st.ToString();
  }
  // What the template itself refuses carries its message.
  Status raised = RenderError("{{ raise_exception('Only user and assistant roles are supported!') }}");
  EXPECT_NE(raised.message().find("Only user and assistant roles are supported!"), std::string::npos);
  // Syntax errors say where.
  Status syntax = RenderError("{% if messages %}\n{{ 1 + }}\n{% endif %}");
  EXPECT_EQ(syntax.code(), ErrorCode::kMalformed);
  EXPECT_NE(syntax.message().find("line 2"), std::string::npos) << syntax.ToString();
  EXPECT_EQ(RenderError("{% for m in messages %}").code(), ErrorCode::kMalformed);
  EXPECT_EQ(RenderError("{{ 'unclosed }}").code(), ErrorCode::kMalformed);
}

// Bundle text is untrusted: loops, nesting, recursion and string growth are bounded.
TEST(ChatTemplate, HostileTemplatesEndInAnError) {
  EXPECT_FALSE(RenderError("{% for i in range(100000000) %}x{% endfor %}").ok());
  EXPECT_FALSE(RenderError("{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}").ok());
  EXPECT_FALSE(RenderError("{{ 'abc' * 100000000 }}").ok());
  EXPECT_FALSE(RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").ok());
  EXPECT_FALSE(RenderError("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").ok());
  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "{% if true %}";
  EXPECT_FALSE(RenderError(nested).ok());
  EXPECT_FALSE(RenderError("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}").ok());
  EXPECT_FALSE(RenderError("{{ messages.append(1) }}").ok());
}

// The bounds leave room for real use: a long conversation renders under every template.
TEST(ChatTemplate, LongConversationsStayWithinTheBounds) {
  std::vector<ChatMessage> messages = {{"system", "Be brief."}};
  for (int i = 0; i < 2000; ++i) {
    messages.push_back({i % 2 ? "assistant" : "user", std::string(300, static_cast<char>('a' + i % 26))});
  }
  messages.push_back({"user", "last"});
  // Templates that refuse a system message (or fail on one, as transformers does) fail here too.
  std::set<std::string> refuse_system;
  for (const auto& g : Goldens()["goldens"]) {
    if (g["conversation"] == 1 && g.contains("error")) refuse_system.insert(g["template"].get<std::string>());
  }
  for (const auto& e : Goldens()["tokens"].items()) {
    auto t = Fixture(e.key());
    ASSERT_TRUE(t.ok()) << e.key();
    auto text = t->Render(messages, true);
    if (refuse_system.count(e.key())) {
      EXPECT_FALSE(text.ok()) << e.key();
      continue;
    }
    ASSERT_TRUE(text.ok()) << e.key() << ": " << text.status().ToString();
    EXPECT_GT(text->size(), 600000u) << e.key();
  }
}

TEST(ChatTemplate, JinjaSemantics) {
  auto render = [](const std::string& source) {
    auto t = ChatTemplate::Parse(source, "<s>", "</s>");
    if (!t.ok()) return "parse: " + t.status().ToString();
    auto text = t->Render({{"system", "sys"}, {"user", "Hello World"}}, true);
    return text.ok() ? *text : "render: " + text.status().ToString();
  };
  EXPECT_EQ(render("{{ messages[1].content.split(' ')[::-1] | join('-') }}"), "World-Hello");
  EXPECT_EQ(render("{{ messages[1]['content'][1:4] }}|{{ messages[-1].content[-5:] }}"), "ell|World");
  EXPECT_EQ(render("{% for m in messages if m.role != 'system' %}{{ loop.index0 }}{{ loop.last }}{% endfor %}"), "0True");
  EXPECT_EQ(render("{% set x = 1 %}{% for m in messages %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}"), "2");
  EXPECT_EQ(render("{{ {'b': [1, 2.5, none, true], 'a': 'x\"y'} | tojson }}"), "{\"b\": [1, 2.5, null, true], \"a\": \"x\\\"y\"}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': [2]} | tojson(indent=2, sort_keys=true) }}"), "{\n  \"a\": [\n    2\n  ],\n  \"b\": 1\n}");
  EXPECT_EQ(render("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }}"),
            "['Hello World']");
  EXPECT_EQ(render("{{ undefined_name }}{{ undefined_name is defined }}{{ none is none }}{{ 'a' in 'cat' }}"),
            "FalseTrueTrue");
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 }}"), "3 -4 1 0.5 1024 a1");
  EXPECT_EQ(render("  {%- if true %}\n  yes\n  {% endif %}\n{{ 'x' }}"), "  yes\nx");
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }}"), "Hi Bo!");
  EXPECT_EQ(render("{{ '  pad \\t'.strip() }}|{{ 'x-y-z'.rsplit('-', 1) }}|{{ 'AbC'.lower() }}|{{ 'hello'.startswith(('x', 'he')) }}"),
            "pad|['x-y', 'z']|abc|True");
  EXPECT_EQ(render("{{ messages[5] is defined }}{{ (messages | length) > 1 }}{{ messages[0].get('x', 'd') }}"), "FalseTrued");
  EXPECT_EQ(render("{{ ['b', 'A', 'c'] | sort | join }}{{ ['a', 'A'] | unique | list }}{{ ['b', 'A'] | sort(case_sensitive=true) | join }}"),
            "Abc['a']Ab");
  EXPECT_EQ(render("{% filter upper %}a{{ 'b' }}{% endfilter %}|{{ none | selectattr('x') | list }}"), "AB|[]");
  EXPECT_EQ(render("{% set d = {0: 'zero', 512: 'k'} %}{{ d[512] }}{{ 0 in d }}{{ d | tojson }}{{ d.keys() | list }}"),
            "kTrue{\"0\": \"zero\", \"512\": \"k\"}[0, 512]");
}

TEST(ChatTemplate, EmptyAndRoleChecks) {
  auto none = ChatTemplate::Parse("  \n", "", "");
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  auto t = Fixture("qwen2.5-7b-instruct");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->Render({{"robot", "x"}}, true).ok());
  EXPECT_FALSE(t->Render({{"user", "x"}, {"system", "late"}}, true).ok());
  EXPECT_FALSE(t->Render({}, true).ok());
}

}  // namespace
}  // namespace acorn

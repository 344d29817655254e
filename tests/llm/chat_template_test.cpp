// acorn's chat template renderings equal jinja2's (transformers' settings) on real templates.
#include <gtest/gtest.h>

#include <fstream>
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

TEST(ChatTemplate, MatchesJinjaOnRealTemplates) {
  const std::string dir = ACORN_CHAT_FIXTURES;
  const nlohmann::json g = nlohmann::json::parse(ReadFile(dir + "/goldens.json"));
  int checked = 0;
  for (const auto& e : g["goldens"]) {
    const std::string name = e["template"];
    const auto& tokens = g["tokens"][name];
    auto t = ChatTemplate::Parse(ReadFile(dir + "/" + name + ".jinja"), tokens[0], tokens[1]);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    t->set_date_string(g["date_string"]);
    std::vector<ChatMessage> messages;
    for (const auto& m : g["conversations"][e["conversation"].get<int>()]) messages.push_back({m["role"], m["content"]});
    auto text = t->Render(messages, e["add_generation_prompt"]);
    const std::string where = name + " conversation " + std::to_string(e["conversation"].get<int>()) +
                              (e["add_generation_prompt"].get<bool>() ? " +gen" : "");
    if (e.contains("error")) {
      EXPECT_FALSE(text.ok()) << where << " should be refused like jinja: " << e["error"];
    } else {
      ASSERT_TRUE(text.ok()) << where << ": " << text.status().ToString();
      EXPECT_EQ(*text, e["text"].get<std::string>()) << where;
    }
    ++checked;
  }
  EXPECT_GE(checked, 80);
}

TEST(ChatTemplate, FamiliesAndUnknownTemplates) {
  EXPECT_EQ(ChatTemplate::Parse("{{'<|im_start|>'}}", "", "")->family(), ChatFamily::kChatML);
  EXPECT_EQ(ChatTemplate::Parse("<start_of_turn>", "", "")->family(), ChatFamily::kGemma);
  auto unknown = ChatTemplate::Parse("{% for m in messages %}{{ m.content }}{% endfor %}", "", "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(unknown.status().message().find("ChatML"), std::string::npos);
  auto none = ChatTemplate::Parse("", "", "");
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  auto t = ChatTemplate::Parse("<|im_start|>", "", "");
  EXPECT_FALSE(t->Render({{"robot", "x"}}, true).ok());
  EXPECT_FALSE(t->Render({{"user", "x"}, {"system", "late"}}, true).ok());
}

}  // namespace
}  // namespace acorn

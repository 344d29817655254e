// The shipped default model (models/acorn-chat-mini.acorn, q8_0) against the training framework:
// the chat template and tokenizer give transformers' prompt ids, and greedy decoding gives the same
// replies that transformers produced from the f32 weights (models/acorn-chat-mini/hf/reference_greedy.json).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "acorn/chat_template.h"
#include "acorn_generated.h"
#include "acorn/generate.h"

namespace acorn {
namespace {

TEST(DefaultModel, MatchesTransformersGreedy) {
  const std::string dir = ACORN_MODELS_DIR;
  auto model = Model::Load((dir + "/acorn-chat-mini.acorn").c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Tokenizer* tok = (*model)->tokenizer();
  ASSERT_NE(tok, nullptr);
  const auto* tmpl = (*model)->bundle().flatbuffer()->chat_template();
  ASSERT_NE(tmpl, nullptr);
  auto chat_template = ChatTemplate::Parse(tmpl->str(), "", "<|im_end|>");
  ASSERT_TRUE(chat_template.ok());
  std::ifstream in(dir + "/acorn-chat-mini/hf/reference_greedy.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  int cases = 0;
  for (const auto& c : ref["cases"]) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    auto text = chat_template->Render(messages, true);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, c["prompt_text"].get<std::string>());
    const std::vector<int32_t> prompt = tok->Encode(*text, false);
    EXPECT_EQ(prompt, c["prompt_ids"].get<std::vector<int32_t>>());
    (*session)->Reset();
    GenerateOptions o;
    o.max_new_tokens = 48;
    o.stop_ids = {2};
    Sampler greedy;
    GenerateResult r;
    ASSERT_TRUE(Generate(**session, *tok, prompt, o, greedy, nullptr, &r).ok());
    std::vector<int32_t> expected = c["generated_ids"].get<std::vector<int32_t>>();
    if (!expected.empty() && expected.back() == 2) expected.pop_back();
    EXPECT_EQ(r.tokens, expected) << c["generated_text"];
    EXPECT_EQ(r.text, c["generated_text"].get<std::string>());
    ++cases;
  }
  EXPECT_EQ(cases, 8);
}

}  // namespace
}  // namespace acorn

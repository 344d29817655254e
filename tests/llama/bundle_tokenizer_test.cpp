// A checkpoint's tokenizer.json and chat template travel into the bundle, and text goes in through
// Model::tokenizer() and acorn-run --prompt; a bundle without a tokenizer refuses text clearly.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <algorithm>
#include <sstream>
#include <string>

#include "acorn/model.h"
#include "acorn_generated.h"
#include "tokenizer_json.h"

namespace acorn {
namespace {

std::string Shell(const std::string& cmd, int* code) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// A one-layer random-weight LLaMA with the BERT WordPiece vocabulary (30522 ids), so that any text
// the tokenizer produces is in range.
std::string MakeModelDir(bool with_tokenizer) {
  const std::string dir = ::testing::TempDir() + (with_tokenizer ? "/tok_model" : "/notok_model");
  int code = 0;
  Shell("rm -rf " + dir + " && mkdir -p " + dir, &code);
  std::ofstream(dir + "/config.json")
      << R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,)"
         R"("num_key_value_heads":2,"intermediate_size":128,"vocab_size":30522,"max_position_embeddings":64})";
  if (with_tokenizer) {
    Shell(std::string("cp ") + ACORN_TOKENIZER_FIXTURES + "/bert-minilm.tokenizer.json " + dir + "/tokenizer.json", &code);
    std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"})";
  }
  return dir;
}

TEST(BundleTokenizer, TravelsIntoTheBundleAndEncodesLikeTheJson) {
  const std::string dir = MakeModelDir(true);
  const std::string bundle = dir + "/model.acorn";
  int code = 0;
  const std::string out = Shell(std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + bundle + " --random-weights --dtype q8_0", &code);
  ASSERT_EQ(code, 0) << out;
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Tokenizer* tok = (*model)->tokenizer();
  ASSERT_NE(tok, nullptr);
  auto spec = LoadTokenizerJsonFile(std::string(ACORN_TOKENIZER_FIXTURES) + "/bert-minilm.tokenizer.json");
  ASSERT_TRUE(spec.ok());
  auto direct = Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(direct.ok());
  for (const char* text : {"Hello, world!", "acorn runs models on devices.", "", "naïve café 東京"}) {
    EXPECT_EQ(tok->Encode(text, true), direct->Encode(text, true)) << text;
  }
  const auto* root = (*model)->bundle().flatbuffer();
  ASSERT_NE(root->chat_template(), nullptr);
  EXPECT_NE(root->chat_template()->str().find("m.content"), std::string::npos);

  // acorn-run --prompt: ids on the first line, the decoded continuation on the second.
  const std::string run = Shell(std::string(ACORN_RUN_BIN) + " --model " + bundle + " --prompt 'hello world' --greedy 3", &code);
  ASSERT_EQ(code, 0) << run;
  std::istringstream lines(run);
  std::string ids, text;
  std::getline(lines, ids);
  std::getline(lines, text);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ','), 2) << run;
}

// Where a checkpoint keeps its template: tokenizer_config.json's chat_template (a string, or a list
// of named templates of which "default" is taken), and chat_template.jinja beside it (or
// additional_chat_templates/default.jinja), which current transformers writes and which wins over
// the config, as it does in transformers.
TEST(BundleTokenizer, ChatTemplateSources) {
  const std::string dir = ::testing::TempDir() + "/chat_template_sources";
  int code = 0;
  Shell("rm -rf " + dir + " && mkdir -p " + dir, &code);
  std::ofstream(dir + "/config.json")
      << R"({"architectures":["LlamaForCausalLM"],"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,)"
         R"("num_key_value_heads":2,"intermediate_size":64,"vocab_size":64,"max_position_embeddings":64})";
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"bos_token":null,"eos_token":{"content":"</s>"},)"
         R"("chat_template":[{"name":"tool_use","template":"TOOLS"},{"name":"default","template":"DEFAULT {{ x }}"}]})";
  auto convert_and_read = [&]() {
    const std::string bundle = dir + "/model.acorn";
    const std::string out = Shell(std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + bundle + " --random-weights", &code);
    EXPECT_EQ(code, 0) << out;
    auto model = Model::Load(bundle.c_str());
    if (!model.ok()) return "load failed: " + model.status().ToString();
    const auto* t = (*model)->bundle().flatbuffer()->chat_template();
    return t ? t->str() : std::string("(none)");
  };
  EXPECT_EQ(convert_and_read(), "DEFAULT {{ x }}");
  {
    // A null bos_token is recorded as none (the template sees it undefined, as in transformers).
    auto model = Model::Load((dir + "/model.acorn").c_str());
    ASSERT_TRUE(model.ok());
    std::string bos = "unset", eos;
    EXPECT_TRUE((*model)->bundle().GetString("tokenizer.bos_token", &bos));
    EXPECT_EQ(bos, "");
    EXPECT_TRUE((*model)->bundle().GetString("tokenizer.eos_token", &eos));
    EXPECT_EQ(eos, "</s>");
  }
  Shell("mkdir -p " + dir + "/additional_chat_templates", &code);
  std::ofstream(dir + "/additional_chat_templates/default.jinja") << "FROM THE FOLDER";
  EXPECT_EQ(convert_and_read(), "FROM THE FOLDER");
  // Byte for byte, trailing newline and all: the template engine applies jinja2's rules to it.
  const std::string jinja = "{%- for m in messages %}\n{{ m.content }}\n{% endfor %}\n";
  std::ofstream(dir + "/chat_template.jinja", std::ios::binary) << jinja;
  EXPECT_EQ(convert_and_read(), jinja);
  // A template acorn cannot render is kept, with a note naming what it cannot do.
  std::ofstream(dir + "/chat_template.jinja", std::ios::binary) << "{% include 'turns.jinja' %}";
  const std::string out = Shell(std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + dir + "/model.acorn --random-weights", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("acorn cannot render it"), std::string::npos) << out;
  EXPECT_NE(out.find("{% include %}"), std::string::npos) << out;
}

TEST(BundleTokenizer, TextIsRefusedWithoutATokenizer) {
  const std::string dir = MakeModelDir(false);
  const std::string bundle = dir + "/model.acorn";
  int code = 0;
  const std::string out = Shell(std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + bundle + " --random-weights", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("no tokenizer.json"), std::string::npos) << out;
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->tokenizer(), nullptr);
  const std::string run = Shell(std::string(ACORN_RUN_BIN) + " --model " + bundle + " --prompt 'hello'", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(run.find("has no tokenizer"), std::string::npos) << run;
  EXPECT_NE(run.find("--tokens"), std::string::npos) << run;
}

}  // namespace
}  // namespace acorn

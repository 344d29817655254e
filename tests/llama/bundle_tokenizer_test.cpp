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

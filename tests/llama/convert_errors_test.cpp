// acorn-convert refuses what it cannot convert with a message that names the problem, and leaves
// no output file behind.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct Result {
  int code;
  std::string output;
};

Result Convert(const std::string& args) {
  const std::string cmd = std::string(ACORN_CONVERT_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string MakeDir(const std::string& name, const std::string& config) {
  const std::string dir = ::testing::TempDir() + "/convert_err_" + name;
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  std::ofstream(dir + "/config.json") << config;
  return dir;
}

const char* kLlama =
    R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,)"
    R"("num_key_value_heads":2,"intermediate_size":128,"vocab_size":256,"rope_theta":10000.0%s})";

std::string Llama(const std::string& extra) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, kLlama, extra.c_str());
  return buf;
}

TEST(ConvertErrors, UsageAndHelp) {
  EXPECT_EQ(Convert("--help").code, 0);
  EXPECT_NE(Convert("--help").output.find("--dtype"), std::string::npos);
  EXPECT_EQ(Convert("").code, 2);
  EXPECT_EQ(Convert("/tmp -o x.acorn --dtype q5_1").code, 2);
}

TEST(ConvertErrors, MissingDirectoryOrConfig) {
  Result r = Convert("/no/such/model -o /tmp/x.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("config.json: not found"), std::string::npos) << r.output;
}

TEST(ConvertErrors, UnsupportedArchitectureNamed) {
  const std::string dir = MakeDir("arch", R"({"architectures":["GPT2LMHeadModel"],"model_type":"gpt2"})");
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("GPT2LMHeadModel"), std::string::npos) << r.output;
}

TEST(ConvertErrors, UnsupportedRopeTypeNamed) {
  const std::string dir = MakeDir("rope", Llama(R"(,"rope_scaling":{"rope_type":"yarn","factor":4.0})"));
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("rope type 'yarn'"), std::string::npos) << r.output;
}

TEST(ConvertErrors, NoWeightsOrMissingTensor) {
  const std::string dir = MakeDir("noweights", Llama(""));
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("no *.safetensors"), std::string::npos) << r.output;
  // A safetensors file that lacks the embedding.
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::ofstream f(dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = header.size();
  f.write(reinterpret_cast<const char*>(&len), 8);
  f << header;
  f.write("\0\0\0\0", 4);
  f.close();
  r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("model.embed_tokens.weight"), std::string::npos) << r.output;
  EXPECT_FALSE(std::ifstream(dir + "/out.acorn").good());
}

TEST(ConvertErrors, ContextBeyondConfigRefused) {
  const std::string dir = MakeDir("ctx", Llama(R"(,"max_position_embeddings":64)"));
  Result r = Convert(dir + " -o " + dir + "/out.acorn --random-weights --context 128");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("exceeds the model's max_position_embeddings 64"), std::string::npos) << r.output;
  r = Convert(dir + " -o " + dir + "/out.acorn --random-weights --context 64 --dtype q4_0");
  EXPECT_EQ(r.code, 0) << r.output;
}

}  // namespace

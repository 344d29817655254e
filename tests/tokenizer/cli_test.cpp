// acorn-tokenize end to end: tokenizer.json, .acorn bundle (the default model's) and tokenizer.model
// inputs, --text-file bytes taken exactly, --no-special, --decode.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "fixtures.h"
#include "tokenizer_flatbuffer.h"
#include "tokenizer_json.h"

namespace acorn_test {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/acorn_cli_test_" + std::to_string(::getpid()) + "_" + name;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string RunCli(const std::string& args) {
  std::string cmd = std::string(ACORN_TOKENIZE_BIN) + " " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
  return out;
}

std::string IdsJson(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]\n";
}

const nlohmann::json& Case(const std::string& tokenizer, const std::string& name) {
  for (const auto& c : Goldens().at(tokenizer)) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no golden " + name);
}

std::string CorpusText(const std::string& name) {
  for (const auto& e : Corpus()) {
    if (e["name"] == name) return CorpusBytes(e);
  }
  throw std::runtime_error("no corpus entry " + name);
}

TEST(Cli, TokenizerJsonTextFileAndDecode) {
  std::string json = TempPath("gpt2.json"), text = TempPath("text.txt");
  WriteFile(json, TokenizerJsonText("gpt2"));
  WriteFile(text, CorpusText("invalid_utf8"));
  EXPECT_EQ(RunCli(json + " --text-file " + text), IdsJson(Case("gpt2", "invalid_utf8")["ids"]));
  WriteFile(text, CorpusText("python"));  // ends in a newline, which must stay
  EXPECT_EQ(RunCli(json + " --text-file " + text + " --no-special"),
            IdsJson(Case("gpt2", "python")["ids_no_special"]));
  std::vector<int32_t> ids = Case("gpt2", "english")["ids"];
  std::string list;
  for (size_t i = 0; i < ids.size(); ++i) list += (i ? "," : "") + std::to_string(ids[i]);
  EXPECT_EQ(RunCli(json + " --decode " + list), Case("gpt2", "english")["decoded"].get<std::string>() + "\n");
  EXPECT_EQ(RunCli(json + " --decode " + list + " --skip-special"),
            Case("gpt2", "english")["decoded_skip_special"].get<std::string>() + "\n");
  std::remove(json.c_str());
  std::remove(text.c_str());
}

// The default model as acorn-convert wrote it: a size-prefixed FlatBuffer, whose identifier sits at
// bytes 8..11. acorn-tokenize used to look for it at bytes 4..7 and so read no bundle at all.
TEST(Cli, ReadsTheDefaultModelBundle) {
  auto spec = acorn::LoadTokenizerJsonFile(std::string(ACORN_DEFAULT_MODEL_HF) + "/tokenizer.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok.ok());
  const std::string text = "Hello world, how are you?";
  EXPECT_EQ(RunCli(std::string(ACORN_DEFAULT_MODEL_BUNDLE) + " --text '" + text + "'"), IdsJson(tok->Encode(text, true)));
  std::vector<int32_t> ids = tok->Encode(text, false);
  std::string list;
  for (size_t i = 0; i < ids.size(); ++i) list += (i ? "," : "") + std::to_string(ids[i]);
  EXPECT_EQ(RunCli(std::string(ACORN_DEFAULT_MODEL_BUNDLE) + " --decode " + list), tok->Decode(ids) + "\n");
}

// A buffer without the size prefix is not a bundle: refused with the loader's message, as the
// runtime refuses it, instead of being read as one.
TEST(Cli, RefusesABundleWithoutTheSizePrefix) {
  auto spec = acorn::ParseTokenizerJson(TokenizerJsonText("bert-minilm"));
  ASSERT_TRUE(spec.ok());
  flatbuffers::FlatBufferBuilder b;
  auto tok = acorn::WriteTokenizer(b, spec.value());
  acorn::fb::BundleBuilder bundle(b);
  bundle.add_tokenizer(tok);
  acorn::fb::FinishBundleBuffer(b, bundle.Finish());
  std::string path = TempPath("unprefixed.acorn");
  WriteFile(path, std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()));
  const std::string out = RunCli(path + " --text 'Hello world' 2>&1");
  EXPECT_NE(out.find("not an acorn bundle: identifier at byte 8"), std::string::npos) << out;
  std::remove(path.c_str());
}

TEST(Cli, SentencePieceModel) {
  std::string path = TempPath("llama2.model");
  WriteFile(path, ReadFixture("llama2-spm.tokenizer.model"));
  EXPECT_EQ(RunCli(path + " --text 'Hello world'"), IdsJson(Case("llama2-spm", "hello")["ids"]));
  std::remove(path.c_str());
  // Beside its tokenizer_config.json, which makes the turn tokens special.
  const std::string gemma = FixturePath("gemma-like-spm/tokenizer.model");
  EXPECT_EQ(RunCli(gemma + " --decode 2,5,449,6,1 --skip-special"), "user\n");
  EXPECT_EQ(RunCli(gemma + " --text '<start_of_turn>' --no-special"), "[5]\n");
}

}  // namespace
}  // namespace acorn_test

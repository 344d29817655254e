// A SentencePiece model with Gemma's settings (scripts/tokenizer/make_gemma_like_spm.py): white-space
// runs are user-defined pieces of up to 31 characters, matched in the normalized text longest first
// as SentencePiece does, and tokenizer_config.json beside the model names the special tokens that
// decoding with skip_special_tokens drops, as transformers does.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "fixtures.h"
#include "sentencepiece_model.h"

namespace acorn_test {
namespace {

const nlohmann::json& GemmaGoldens() {
  static const nlohmann::json* goldens =
      new nlohmann::json(nlohmann::json::parse(ReadFixture("gemma-like-spm.goldens.json")));
  return *goldens;
}

acorn::Tokenizer LoadGemmaLike() {
  auto spec = acorn::LoadSentencePieceModelFile(FixturePath("gemma-like-spm/tokenizer.model"));
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

// Runs of 1..80 spaces, tabs and newlines, alone and between words: more than 31 spaces used to come
// out of the BPE merges as other splits than SentencePiece's 31 + rest.
TEST(GemmaLikeSentencePiece, WhiteSpaceRunsEncodeAsSentencePieceDoes) {
  const acorn::Tokenizer tok = LoadGemmaLike();
  const int32_t bos = tok.TokenToId("<bos>");
  ASSERT_EQ(bos, 2);
  size_t failures = 0;
  for (const auto& c : GemmaGoldens().at("encode")) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"];
    const std::vector<int32_t> got = tok.Encode(text, false);
    EXPECT_EQ(got, want) << "text: " << nlohmann::json(text).dump();
    std::vector<int32_t> with_bos{bos};
    with_bos.insert(with_bos.end(), want.begin(), want.end());
    EXPECT_EQ(tok.Encode(text, true), with_bos);
    EXPECT_EQ(tok.Decode(want), c["decoded"].get<std::string>());
    if (got != want && ++failures >= 5) break;
  }
}

// remove_extra_whitespaces (SentencePiece's default, though not Gemma's): leading and trailing spaces
// dropped, runs of spaces made one. The goldens' model is this one with that field set, which a
// second normalizer_spec appended to the bytes does (protobuf merges repeated message fields).
TEST(GemmaLikeSentencePiece, RemoveExtraWhitespaces) {
  const std::string normalizer_spec("\x1a\x02\x20\x01", 4);  // field 3 { remove_extra_whitespaces (4): 1 }
  auto spec = acorn::ParseSentencePieceModel(ReadFixture("gemma-like-spm/tokenizer.model") + normalizer_spec);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  size_t failures = 0;
  for (const auto& c : GemmaGoldens().at("encode_remove_extra_whitespaces")) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"];
    const std::vector<int32_t> got = tok->Encode(text, false);
    EXPECT_EQ(got, want) << "text: " << nlohmann::json(text).dump();
    if (got != want && ++failures >= 5) break;
  }
}

// <start_of_turn> and <end_of_turn> are user-defined pieces in the model, special only because
// tokenizer_config.json says so (added_tokens_decoder, additional_special_tokens).
TEST(GemmaLikeSentencePiece, SkipSpecialDropsWhatTransformersDrops) {
  const acorn::Tokenizer tok = LoadGemmaLike();
  for (const auto& c : GemmaGoldens().at("decode")) {
    const std::vector<int32_t> ids = c["ids"];
    EXPECT_EQ(tok.Decode(ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok.Decode(ids, true), c["decoded_skip_special"].get<std::string>());
  }
  EXPECT_TRUE(tok.IsSpecial(tok.TokenToId("<start_of_turn>")));
  EXPECT_TRUE(tok.IsSpecial(tok.TokenToId("<end_of_turn>")));
  EXPECT_FALSE(tok.IsSpecial(tok.TokenToId("<mask>")));
  // Chat templates write the turn tokens as text: they are still found there.
  EXPECT_EQ(tok.Encode("<start_of_turn>user", false).front(), tok.TokenToId("<start_of_turn>"));
}

// Without tokenizer_config.json the model alone decides: control and unknown pieces are special,
// user-defined ones (the turn tokens among them) are not. A config that is not JSON, or that names
// another tokenizer's token at an id, is an error naming the file.
TEST(GemmaLikeSentencePiece, ConfigBesideTheModel) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/acorn_gemma_like_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const std::string model = dir + "/tokenizer.model", config = dir + "/tokenizer_config.json";
  auto write = [](const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  write(model, ReadFixture("gemma-like-spm/tokenizer.model"));
  auto bare = acorn::LoadSentencePieceModelFile(model);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(bare).value());
  ASSERT_TRUE(tok.ok());
  EXPECT_TRUE(tok->IsSpecial(tok->TokenToId("<bos>")));
  EXPECT_FALSE(tok->IsSpecial(tok->TokenToId("<start_of_turn>")));

  write(config, "{\"added_tokens_decoder\": {\"5\": {\"content\": \"<other>\", \"special\": true}}}");
  auto r = acorn::LoadSentencePieceModelFile(model);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), acorn::ErrorCode::kMalformed);
  EXPECT_NE(r.status().message().find(config), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("<start_of_turn>"), std::string::npos) << r.status().message();
  write(config, "{\"bos_token\": ");
  r = acorn::LoadSentencePieceModelFile(model);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a JSON object"), std::string::npos) << r.status().message();
  // Tokens past the model's pieces are added, as transformers adds them.
  write(config, "{\"added_tokens_decoder\": {\"700\": {\"content\": \"<extra>\", \"special\": true}}}");
  r = acorn::LoadSentencePieceModelFile(model);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  tok = acorn::Tokenizer::Create(std::move(r).value());
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->Encode("a<extra>", false).back(), 700);
  EXPECT_TRUE(tok->IsSpecial(700));
  std::remove(config.c_str());
  std::remove(model.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace acorn_test

// The SentencePiece tokenizer.model reader: Llama 2's vocabulary as a ModelProto must give the same
// tokenizer as its Hugging Face tokenizer.json, hence the same answers as the llama2-spm goldens.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "sentencepiece_model.h"
#include "tokenizer_json.h"

namespace acorn_test {
namespace {

TEST(SentencePieceModel, SameSpecAsTheTokenizerJson) {
  auto from_model = acorn::ParseSentencePieceModel(ReadFixture("llama2-spm.tokenizer.model"));
  ASSERT_TRUE(from_model.ok()) << from_model.status().ToString();
  auto from_json = acorn::ParseTokenizerJson(TokenizerJsonText("llama2-spm"));
  ASSERT_TRUE(from_json.ok());
  const acorn::TokenizerSpec& a = from_model.value();
  const acorn::TokenizerSpec& b = from_json.value();
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.merges.size(), b.merges.size());
  EXPECT_TRUE(a.merges == b.merges);
  EXPECT_EQ(a.unk_id, b.unk_id);
  EXPECT_EQ(a.byte_fallback, b.byte_fallback);
  EXPECT_EQ(a.added_tokens.size(), b.added_tokens.size());
}

TEST(SentencePieceModel, MatchesTheLlama2Goldens) {
  auto spec = acorn::ParseSentencePieceModel(ReadFixture("llama2-spm.tokenizer.model"));
  ASSERT_TRUE(spec.ok());
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const nlohmann::json& cases = Goldens().at("llama2-spm");
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string text = CorpusBytes(Corpus()[i]);
    SCOPED_TRACE(cases[i]["name"].get<std::string>());
    EXPECT_EQ(tok->Encode(text, true), cases[i]["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(tok->Encode(text, false), cases[i]["ids_no_special"].get<std::vector<int32_t>>());
    auto ids = cases[i]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->Decode(ids), cases[i]["decoded"].get<std::string>());
  }
}

TEST(SentencePieceModel, RefusesTruncatedAndUnigramModels) {
  std::string bytes = ReadFixture("llama2-spm.tokenizer.model");
  EXPECT_FALSE(acorn::ParseSentencePieceModel(bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_FALSE(acorn::ParseSentencePieceModel("\xFF\xFF\xFF").ok());
  // pieces { piece: "a" score: 0 } trainer_spec { model_type: UNIGRAM }
  const std::string unigram("\x0a\x03\x0a\x01\x61\x12\x02\x18\x01", 9);
  auto r = acorn::ParseSentencePieceModel(unigram);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), acorn::ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace acorn_test

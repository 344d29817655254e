// The SentencePiece tokenizer.model reader: Llama 2's vocabulary as a ModelProto must give the same
// tokenizer as its Hugging Face tokenizer.json, hence the same answers as the llama2-spm goldens.
#include <gtest/gtest.h>

#include <chrono>

#include "core/limits.h"
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

// Protobuf helpers for hand-made models.
std::string Varint(uint64_t v) {
  std::string out;
  do {
    out.push_back(static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0)));
    v >>= 7;
  } while (v);
  return out;
}
std::string Field(uint32_t field, const std::string& bytes) { return Varint(field << 3 | 2) + Varint(bytes.size()) + bytes; }
std::string PieceMsg(const std::string& text) { return Field(1, Field(1, text)); }
const std::string kBpeTrainer = Field(2, std::string("\x18\x02", 2));  // trainer_spec { model_type: BPE }

// Issue 12: malformed varints and lengths, and pieces past the limits, are clean errors.
TEST(SentencePieceModel, MalformedAndOversizedInputsAreCleanErrors) {
  const std::string cases[] = {
      std::string(11, '\xFF'),                               // a varint that never ends
      std::string("\x0a\xFF\xFF\xFF\xFF\x0F", 6),          // a length far past the end
      std::string("\x0a\x05\x0a\x09\x61", 5),              // a piece whose text overruns the piece
      PieceMsg("") + kBpeTrainer,                             // an empty piece
      PieceMsg(std::string(acorn::limits::kMaxTokenBytes + 1, 'a')) + kBpeTrainer,
      Field(1, Field(1, "a") + std::string("\x15\x00\x00\xC0\x7F", 5)) + kBpeTrainer,  // score NaN
      std::string("\x0b", 1),                                 // wire type 3 (groups)
  };
  for (const std::string& bytes : cases) {
    auto r = acorn::ParseSentencePieceModel(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(r.status().message().empty());
    EXPECT_EQ(r.status().code(), acorn::ErrorCode::kMalformed) << r.status().message();
  }
}

// Deriving merges looked up every split of every piece as a new string: the square of the piece
// length. Long pieces now cost time in proportion to their length.
TEST(SentencePieceModel, LongPiecesAreLinear) {
  std::string model;
  for (const char* p : {"a", "b", "ab"}) model += PieceMsg(p);
  for (int i = 0; i < 16; ++i) model += PieceMsg(std::string(60000, static_cast<char>('c' + i)));
  model += kBpeTrainer;
  const auto start = std::chrono::steady_clock::now();
  auto r = acorn::ParseSentencePieceModel(model);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->merges, (std::vector<std::pair<int32_t, int32_t>>{{0, 1}}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

}  // namespace
}  // namespace acorn_test

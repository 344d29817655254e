// Behaviour the goldens do not pin down: invalid input never crashes, errors name what is wrong,
// Strip's stop (HF panics on short tokens there, so it has no golden), thread safety.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "fixtures.h"
#include "tokenizer_json.h"

namespace acorn_test {
namespace {

TEST(Tokenizer, RandomBytesNeverCrashAndRoundTripValidText) {
  std::mt19937 rng(7);
  for (const char* name : {"llama3", "llama2-spm", "bert-minilm", "gpt2"}) {
    const acorn::Tokenizer& tok = GetTokenizer(name);
    for (int i = 0; i < 200; ++i) {
      std::string s(rng() % 64, '\0');
      for (char& c : s) c = static_cast<char>(rng() & 0xFF);
      std::vector<int32_t> ids = tok.Encode(s);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.vocab_size());
      (void)tok.Decode(ids);
    }
  }
  // Byte-level BPE loses nothing: decode(encode(x)) == x for valid UTF-8.
  const acorn::Tokenizer& llama3 = GetTokenizer("llama3");
  for (const auto& entry : Corpus()) {
    if (!entry.contains("text")) continue;
    std::string text = entry["text"];
    std::vector<int32_t> ids = llama3.Encode(text, false);
    EXPECT_EQ(llama3.Decode(ids), text) << entry["name"];
  }
}

TEST(Tokenizer, DecodeSkipsIdsOutsideTheVocabulary) {
  const acorn::Tokenizer& tok = GetTokenizer("gpt2");
  std::vector<int32_t> ids = {-5, 15496, 1 << 30, 995};
  EXPECT_EQ(tok.Decode(ids), "Hello world");
}

TEST(Tokenizer, Lookups) {
  const acorn::Tokenizer& tok = GetTokenizer("llama3");
  EXPECT_EQ(tok.vocab_size(), 128256);
  EXPECT_EQ(tok.TokenToId("<|begin_of_text|>"), 128000);
  EXPECT_EQ(tok.IdToToken(128000), "<|begin_of_text|>");
  EXPECT_TRUE(tok.IsSpecial(128001));
  EXPECT_FALSE(tok.IsSpecial(100));
  EXPECT_EQ(tok.TokenToId("no such token at all"), -1);
  EXPECT_EQ(tok.IdToToken(-1), "");
}

acorn::Tokenizer FromJson(const std::string& json) {
  auto spec = acorn::ParseTokenizerJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

// Expected strings from HF: decoders.Strip(content='x', left=1, right=2).decode(['xxyxx', 'ayx']).
TEST(Tokenizer, StripDecoderStartAndStop) {
  acorn::Tokenizer tok = FromJson(R"({
    "model": {"type": "BPE", "vocab": {"xxyxx": 0, "ayx": 1, "xxxyxx": 2, "xay": 3, "x": 4}, "merges": []},
    "decoder": {"type": "Strip", "content": "x", "start": 1, "stop": 2}})");
  std::vector<int32_t> ids = {0, 1};
  EXPECT_EQ(tok.Decode(ids), "xyay");
  // HF panics when stop exceeds a token's length; acorn strips what is there.
  ids = {4, 1};
  EXPECT_EQ(tok.Decode(ids), "ay");
  acorn::Tokenizer tok2 = FromJson(R"({
    "model": {"type": "BPE", "vocab": {"xxxyxx": 0, "xay": 1}, "merges": []},
    "decoder": {"type": "Strip", "content": "x", "start": 3, "stop": 1}})");
  ids = {0, 1};
  EXPECT_EQ(tok2.Decode(ids), "yxay");
}

// HF: decoders.Metaspace(prepend_scheme='first').decode(['▁▁a▁b', '▁c']) == 'ab c'.
TEST(Tokenizer, MetaspaceDecoderDropsAllReplacementsOfTheFirstToken) {
  acorn::Tokenizer tok = FromJson(R"({
    "model": {"type": "BPE", "vocab": {"\u2581\u2581a\u2581b": 0, "\u2581c": 1}, "merges": []},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": false}})");
  std::vector<int32_t> ids = {0, 1};
  EXPECT_EQ(tok.Decode(ids), "ab c");
}

TEST(Tokenizer, ParserErrorsNameTheField) {
  auto bad = acorn::ParseTokenizerJson(R"({"model": {"type": "Unigram", "vocab": []}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Unigram"), std::string::npos);
  bad = acorn::ParseTokenizerJson(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"b\""), std::string::npos);
  auto spec = acorn::ParseTokenizerJson(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)b"}, "behavior": "Isolated", "invert": false}})");
  ASSERT_TRUE(spec.ok());
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), acorn::ErrorCode::kUnsupported);
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  const acorn::Tokenizer& tok = GetTokenizer("llama3");
  std::string text;
  for (const auto& entry : Corpus()) text += CorpusBytes(entry);
  const std::vector<int32_t> want = tok.Encode(text);
  std::vector<std::thread> threads;
  std::vector<bool> same(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { same[t] = tok.Encode(text) == want; });
  }
  for (auto& th : threads) th.join();
  for (bool s : same) EXPECT_TRUE(s);
}

}  // namespace
}  // namespace acorn_test

// Behaviour the goldens do not pin down: invalid input never crashes, errors name what is wrong,
// Strip's stop (HF panics on short tokens there, so it has no golden), thread safety.
#include <gtest/gtest.h>

#include <chrono>
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
  // One byte per thread: std::vector<bool> packs them into shared words, and concurrent writes to
  // neighbouring bits are a data race (ThreadSanitizer reports it).
  std::vector<char> same(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { same[t] = tok.Encode(text) == want; });
  }
  for (auto& th : threads) th.join();
  for (char s : same) EXPECT_TRUE(s);
}

// A minimal byte-level-free BPE tokenizer.json around the given fragments.
std::string Json(const std::string& model_extra, const std::string& top_extra = "") {
  return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])" + model_extra + "}" +
         top_extra + "}";
}

// Issue 12: a token id of 2^26 made an 8 GB vocabulary table. Ids must lie below limits::kMaxVocab.
TEST(TokenizerJson, IdsAboveTheVocabularyLimitAreRefused) {
  for (const std::string& text :
       {std::string(R"({"model": {"type": "BPE", "vocab": {"a": 67108864}, "merges": []}})"),
        Json("", R"(, "added_tokens": [{"id": 67108864, "content": "<x>", "special": true}])"),
        Json("", R"(, "added_tokens": [{"id": -1, "content": "<x>"}])"),
        Json("", R"(, "post_processor": {"type": "BertProcessing", "cls": ["a", 99999999], "sep": ["b", 1]})")}) {
    auto spec = acorn::ParseTokenizerJson(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), acorn::ErrorCode::kMalformed);
    EXPECT_NE(spec.status().message().find("4194303"), std::string::npos) << spec.status().message();
  }
  // The runtime checks again (a spec can come from elsewhere).
  acorn::TokenizerSpec spec;
  spec.vocab = {"a"};
  spec.added_tokens.push_back({1 << 26, "<x>", true});
  auto tok = acorn::Tokenizer::Create(std::move(spec));
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("kMaxVocab"), std::string::npos) << tok.status().message();
}

// Issue 12: values of the wrong type escaped as nlohmann exceptions. They are errors naming the key.
TEST(TokenizerJson, WrongTypesAreErrorsNamingTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})", "model.vocab[\"a\"]"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", 5]]}})", "model.merges[0][1]"},
      {Json(R"(, "byte_fallback": "yes")"), "model.byte_fallback"},
      {Json("", R"(, "added_tokens": [{"id": 3, "content": 7}])"), "added_tokens[0].content"},
      {Json("", R"(, "added_tokens": {"id": 3})"), "added_tokens"},
      {Json("", R"(, "normalizer": {"type": "Replace", "pattern": {"String": 1}, "content": ""})"), "normalizer.pattern"},
      {Json("", R"(, "normalizer": {"type": "Sequence", "normalizers": 5})"), "normalizer.normalizers"},
      {Json("", R"(, "pre_tokenizer": {"type": "Metaspace", "replacement": 3})"), "pre_tokenizer.replacement"},
      {Json("", R"(, "post_processor": {"type": "TemplateProcessing", "single": 1, "pair": [], "special_tokens": {}})"),
       "post_processor.single"},
      {Json("", R"(, "decoder": {"type": "Strip", "content": " ", "start": -1})"), "decoder.start"},
      {R"({"model": []})", "model"},
      {R"([1, 2])", "top level"},
      {R"({"model": {"vocab": {"a": 0}, "merges": [)", "not valid JSON"},
  };
  for (const auto& [text, where] : cases) {
    auto spec = acorn::ParseTokenizerJson(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), acorn::ErrorCode::kMalformed) << text;
    EXPECT_NE(spec.status().message().find(where), std::string::npos) << spec.status().message();
  }
}

// Sequences are bounded in depth and length (each step runs over all the text of every encode).
TEST(TokenizerJson, PipelinesAreBounded) {
  std::string deep = R"({"type": "Lowercase"})";
  for (int i = 0; i < 100; ++i) deep = R"({"type": "Sequence", "normalizers": [)" + deep + "]}";
  auto spec = acorn::ParseTokenizerJson(Json("", R"(, "normalizer": )" + deep));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("kMaxTokenizerSteps"), std::string::npos) << spec.status().message();
  std::string many;
  for (int i = 0; i < 100; ++i) many += std::string(i ? "," : "") + R"({"type": "Lowercase"})";
  spec = acorn::ParseTokenizerJson(Json("", R"(, "normalizer": {"type": "Sequence", "normalizers": [)" + many + "]}"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("kMaxTokenizerSteps"), std::string::npos) << spec.status().message();
}

// Issue 12: (a*)*b in a tokenizer took 33 s on a 1,000-character prompt. The whole encode now has
// one step allowance in proportion to its input, and running out is an error, not other ids.
TEST(Tokenizer, HostilePatternsFailTheEncodeQuickly) {
  auto spec = acorn::ParseTokenizerJson(
      Json("", R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a*)*b"}, "behavior": "Isolated"})"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::vector<int32_t> ids;
  EXPECT_TRUE(tok->Encode("aab", acorn::TokenizeOptions(), &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 2}));  // "aab" isolated, then BPE: a, ab
  const auto start = std::chrono::steady_clock::now();
  const std::string prompt(1000, 'a');
  acorn::Status st = tok->Encode(prompt, acorn::TokenizeOptions(), &ids);
  EXPECT_EQ(st.code(), acorn::ErrorCode::kOutOfRange) << st.ToString();
  EXPECT_NE(st.message().find("kRegexStepsPerByte"), std::string::npos) << st.message();
  EXPECT_TRUE(ids.empty());
  EXPECT_TRUE(tok->Encode(prompt).empty());  // the shorthand gives nothing rather than other ids
  // Many short pieces share one allowance: a first step that splits the text cannot multiply it.
  spec = acorn::ParseTokenizerJson(Json("", R"(, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "WhitespaceSplit"}, {"type": "Split", "pattern": {"Regex": "(?:a|aa)*b"}, "behavior": "Isolated"}]})"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok2 = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok2.ok());
  // One such word alone fits the allowance of its own length; a few hundred do not share one.
  const std::string word(20, 'a');
  EXPECT_TRUE(tok2->Encode(word, acorn::TokenizeOptions(), &ids).ok());
  std::string words;
  for (int i = 0; i < 300; ++i) words += word + " ";
  EXPECT_EQ(tok2->Encode(words, acorn::TokenizeOptions(), &ids).code(), acorn::ErrorCode::kOutOfRange);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);  // sanitizer builds included; about 0.2 s in release
}

// Replace steps with long contents grow text geometrically; the growth is bounded.
TEST(Tokenizer, NormalizerGrowthIsBounded) {
  std::string steps;
  for (int i = 0; i < 20; ++i) {
    steps += std::string(i ? "," : "") + R"({"type": "Replace", "pattern": {"String": "a"}, "content": "aaaaaaaaaa"})";
  }
  auto spec = acorn::ParseTokenizerJson(Json("", R"(, "normalizer": {"type": "Sequence", "normalizers": [)" + steps + "]}"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::vector<int32_t> ids;
  acorn::Status st = tok->Encode("aaaa", acorn::TokenizeOptions(), &ids);  // 4 * 10^20 bytes otherwise
  EXPECT_EQ(st.code(), acorn::ErrorCode::kOutOfRange) << st.ToString();
  EXPECT_NE(st.message().find("kMaxTokenizerExpansion"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace acorn_test

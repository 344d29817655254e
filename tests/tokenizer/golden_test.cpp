// acorn's tokenizers against Hugging Face `tokenizers` on the committed corpus (goldens made by
// scripts/tokenizer/make_goldens.py): encode with and without special tokens, decode with and
// without skipping special tokens, for every real tokenizer and every variant.
#include <gtest/gtest.h>

#include "fixtures.h"

namespace acorn_test {
namespace {

std::string Show(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size() && i < 64; ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  if (ids.size() > 64) s += ",...";
  return s + "] (" + std::to_string(ids.size()) + " ids)";
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesHuggingFace) {
  const std::string name = GetParam();
  const acorn::Tokenizer& tok = GetTokenizer(name);
  const nlohmann::json& cases = Goldens().at(name);
  const nlohmann::json& corpus = Corpus();
  ASSERT_EQ(cases.size(), corpus.size());
  int passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    const std::string text = CorpusBytes(corpus[i]);
    SCOPED_TRACE(name + " / " + c["name"].get<std::string>());
    auto want_ids = c["ids"].get<std::vector<int32_t>>();
    auto want_plain = c["ids_no_special"].get<std::vector<int32_t>>();
    std::vector<int32_t> ids = tok.Encode(text, true);
    std::vector<int32_t> plain = tok.Encode(text, false);
    std::string decoded = tok.Decode(want_ids, false);
    std::string decoded_skip = tok.Decode(want_ids, true);
    bool ok = true;
    if (ids != want_ids) {
      ADD_FAILURE() << "encode: got " << Show(ids) << "\n want " << Show(want_ids);
      ok = false;
    }
    if (plain != want_plain) {
      ADD_FAILURE() << "encode (no special): got " << Show(plain) << "\n want " << Show(want_plain);
      ok = false;
    }
    if (decoded != c["decoded"].get<std::string>()) {
      ADD_FAILURE() << "decode: got \"" << decoded << "\"\n want \"" << c["decoded"].get<std::string>() << "\"";
      ok = false;
    }
    if (decoded_skip != c["decoded_skip_special"].get<std::string>()) {
      ADD_FAILURE() << "decode (skip special): got \"" << decoded_skip << "\"\n want \""
                    << c["decoded_skip_special"].get<std::string>() << "\"";
      ok = false;
    }
    passed += ok;
  }
  std::printf("[ golden ] %-24s %d/%zu corpus cases identical to Hugging Face\n", name.c_str(), passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GoldenTest,
                         ::testing::Values("bert-minilm", "llama2-spm", "llama3", "gpt2", "llama2-metaspace",
                                           "llama2-metaspace-split", "bert-variant", "bert-variant2", "bert-nolower",
                                           "gpt2-prefix", "gpt2-splits", "gpt2-invert", "llama3-rstrip"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

TEST(GoldenTest, EveryGoldenTokenizerIsTested) {
  size_t tokenizers = 0;
  for (auto& [key, value] : Goldens().items()) tokenizers += value.is_array();
  EXPECT_EQ(tokenizers, 13u);
}

}  // namespace
}  // namespace acorn_test

// The real all-MiniLM-L6-v2 (fetched by scripts/fetch-minilm.sh into build/models/, or wherever
// ACORN_MINILM_DIR points): its own tokenizer, f32 against sentence-transformers' embeddings made
// by transformers (tests/fixtures/bert/minilm_reference), and the bounds of f16 and q8_0 weights.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "acorn/encoder.h"
#include "bert_common.h"
#include "npy.h"

namespace acorn {
namespace bert_test {
namespace {

std::string MiniLmDir() {
  const char* env = std::getenv("ACORN_MINILM_DIR");
  return env != nullptr && *env ? env : ACORN_MINILM_DEFAULT_DIR;
}

class MiniLm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MiniLmDir();
    if (!std::ifstream(dir_ + "/model.safetensors").good()) {
      GTEST_SKIP() << "all-MiniLM-L6-v2 not found in " << dir_ << ": run scripts/fetch-minilm.sh (or set ACORN_MINILM_DIR)";
    }
    const std::string ref = std::string(ACORN_FIXTURES) + "/minilm_reference";
    const nlohmann::json in = ReadJson(ref + "/inputs.json");
    texts_ = in["texts"].get<std::vector<std::string>>();
    for (const auto& ids : in["ids"]) {
      Sequence s;
      s.ids = ids.get<std::vector<int32_t>>();
      seqs_.push_back(s);
    }
    auto emb = ReadNpy(ref + "/embeddings.npy");
    ASSERT_TRUE(emb.ok());
    embeddings_ = emb->data;
    for (int i = 0; i < 2; ++i) {
      auto h = ReadNpy(ref + "/hidden_" + std::to_string(i) + ".npy");
      ASSERT_TRUE(h.ok());
      hidden_.push_back(h->data);
    }
  }
  double MinCosine(const std::vector<EncoderOutput>& out) const {
    double worst = 1;
    for (size_t i = 0; i < out.size(); ++i) worst = std::min(worst, Cosine(out[i].embedding.data(), embeddings_.data() + i * 384, 384));
    return worst;
  }
  std::string dir_;
  std::vector<std::string> texts_;
  std::vector<Sequence> seqs_;
  std::vector<float> embeddings_;
  std::vector<std::vector<float>> hidden_;
};

TEST_F(MiniLm, TokenizerMatchesReferenceIds) {
  const std::string bundle = Convert(dir_, "f32", 128);
  ASSERT_FALSE(bundle.empty()) << "conversion failed; if it names 'embeddings.position_ids' (an I64 buffer), the "
                                  "safetensors reader must skip integer buffers";
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_NE((*model)->tokenizer(), nullptr) << "bundle has no tokenizer";
  for (size_t i = 0; i < texts_.size(); ++i) EXPECT_EQ((*model)->tokenizer()->Encode(texts_[i], true), seqs_[i].ids) << texts_[i];
}

TEST_F(MiniLm, F32MatchesSentenceTransformers) {
  const std::string bundle = Convert(dir_, "f32", 128);
  ASSERT_FALSE(bundle.empty());
  std::vector<EncoderOutput> out = EncodeAll(bundle, seqs_);
  ASSERT_EQ(out.size(), seqs_.size());
  for (int i = 0; i < 2; ++i) EXPECT_LE(RelMaxDiff(out[i].hidden, hidden_[i]), 1e-4) << "text " << i;
  const double cos = MinCosine(out);
  std::printf("[ measured ] MiniLM f32: min embedding cosine %.8f\n", cos);
  EXPECT_GE(cos, 0.9999);
  // The example pair of the sentence-transformers documentation.
  EXPECT_NEAR(Cosine(out[0].embedding.data(), out[1].embedding.data(), 384), 0.7553, 1e-3);
}

// Measured: f16 0.99999988, q8_0 0.99956918 (min over the ten texts).
TEST_F(MiniLm, ReducedPrecisionWithinBounds) {
  for (auto [dtype, min_cos] : {std::pair<const char*, double>{"f16", 0.99999}, {"q8_0", 0.998}}) {
    const std::string bundle = Convert(dir_, dtype, 128);
    ASSERT_FALSE(bundle.empty());
    std::vector<EncoderOutput> out = EncodeAll(bundle, seqs_);
    ASSERT_EQ(out.size(), seqs_.size());
    const double cos = MinCosine(out);
    std::printf("[ measured ] MiniLM %s: min embedding cosine %.8f\n", dtype, cos);
    EXPECT_GE(cos, min_cos) << dtype;
  }
}

}  // namespace
}  // namespace bert_test
}  // namespace acorn

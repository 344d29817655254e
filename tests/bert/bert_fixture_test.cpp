// Random-weight BERT checkpoints made by transformers (scripts/fixtures/make_bert_fixtures.py),
// converted with acorn-convert and run through the Encoder API, against transformers' outputs
// for two sequences of different lengths (batched there with padding and an attention mask).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "acorn/encoder.h"
#include "bert_common.h"
#include "npy.h"

namespace acorn {
namespace bert_test {
namespace {

const char* const kFixtures[] = {"bert_h64", "bert_cls3_h96", "st_mean_norm", "st_cls_raw"};

std::string FixtureDir(const std::string& name) { return std::string(ACORN_FIXTURES) + "/" + name; }

std::vector<float> Npy(const std::string& path) {
  auto r = ReadNpy(path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r.ok() ? r->data : std::vector<float>();
}

class BertFixture : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = FixtureDir(GetParam());
    std::ifstream probe(dir_ + "/inputs.json");
    ASSERT_TRUE(probe.good()) << "fixture missing: " << dir_ << " (made by scripts/fixtures/make_bert_fixtures.py)";
    seqs_ = ReadSequences(ReadJson(dir_ + "/inputs.json")["sequences"]);
    for (size_t i = 0; i < seqs_.size(); ++i) hidden_.push_back(Npy(dir_ + "/hidden_" + std::to_string(i) + ".npy"));
    auto emb = ReadNpy(dir_ + "/embeddings.npy");
    ASSERT_TRUE(emb.ok());
    H_ = emb->shape[1];
    embeddings_ = emb->data;
    std::ifstream has_logits(dir_ + "/logits.npy");
    if (has_logits.good()) logits_ = Npy(dir_ + "/logits.npy");
  }

  // Checks outputs against transformers; returns {max hidden rel diff, min embedding cosine}.
  std::pair<double, double> Compare(const std::vector<EncoderOutput>& out) {
    double rel = 0, cos = 1;
    EXPECT_EQ(out.size(), seqs_.size());
    for (size_t i = 0; i < out.size() && i < seqs_.size(); ++i) {
      EXPECT_EQ(out[i].tokens, static_cast<int64_t>(seqs_[i].ids.size()));
      rel = std::max(rel, RelMaxDiff(out[i].hidden, hidden_[i]));
      EXPECT_EQ(out[i].embedding.size(), static_cast<size_t>(H_));
      cos = std::min(cos, Cosine(out[i].embedding.data(), embeddings_.data() + i * H_, static_cast<size_t>(H_)));
    }
    return {rel, cos};
  }

  std::string dir_;
  std::vector<Sequence> seqs_;
  std::vector<std::vector<float>> hidden_;
  std::vector<float> embeddings_, logits_;
  int64_t H_ = 0;
};

TEST_P(BertFixture, F32MatchesTransformers) {
  const std::string bundle = Convert(dir_, "f32", 32);
  ASSERT_FALSE(bundle.empty());
  for (Backend backend : {Backend::kCpu, Backend::kReference}) {
    std::vector<EncoderOutput> out = EncodeAll(bundle, seqs_, backend);
    ASSERT_EQ(out.size(), seqs_.size());
    auto [rel, cos] = Compare(out);
    EXPECT_LE(rel, 1e-4) << BackendName(backend) << ": hidden max |diff| / max |value|";
    EXPECT_GE(cos, 0.9999) << BackendName(backend) << ": embedding cosine";
    // Pooling and normalization as the model says: the embeddings themselves, not only their direction.
    std::vector<float> emb;
    for (const EncoderOutput& o : out) emb.insert(emb.end(), o.embedding.begin(), o.embedding.end());
    EXPECT_LE(RelMaxDiff(emb, embeddings_), 1e-4) << BackendName(backend);
    if (!logits_.empty()) {
      std::vector<float> logits;
      for (const EncoderOutput& o : out) logits.insert(logits.end(), o.logits.begin(), o.logits.end());
      EXPECT_LE(RelMaxDiff(logits, logits_), 1e-4) << BackendName(backend) << ": class logits";
    } else {
      for (const EncoderOutput& o : out) EXPECT_TRUE(o.logits.empty());
    }
  }
}

TEST_P(BertFixture, BatchEqualsOneByOne) {
  const std::string bundle = Convert(dir_, "f32", 32);
  ASSERT_FALSE(bundle.empty());
  std::vector<EncoderOutput> batch = EncodeAll(bundle, seqs_);
  ASSERT_EQ(batch.size(), seqs_.size());
  for (size_t i = 0; i < seqs_.size(); ++i) {
    std::vector<EncoderOutput> alone = EncodeAll(bundle, {seqs_[i]});
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_LE(RelMaxDiff(batch[i].hidden, alone[0].hidden), 1e-5) << "sequence " << i;
    EXPECT_LE(RelMaxDiff(batch[i].embedding, alone[0].embedding), 1e-5) << "sequence " << i;
    if (!logits_.empty()) {
      EXPECT_LE(RelMaxDiff(batch[i].logits, alone[0].logits), 1e-5) << "sequence " << i;
    }
  }
}

TEST_P(BertFixture, BatchLargerThanStepIsSplit) {
  // 12 rows per step: the 7- and 12-token sequences cannot share one; five sequences need four steps.
  const std::string bundle = Convert(dir_, "f32", 12);
  ASSERT_FALSE(bundle.empty());
  std::vector<Sequence> many = {seqs_[0], seqs_[1], seqs_[0], seqs_[1], seqs_[0]};
  std::vector<EncoderOutput> out = EncodeAll(bundle, many);
  ASSERT_EQ(out.size(), many.size());
  for (size_t i = 0; i < many.size(); ++i) {
    EXPECT_LE(RelMaxDiff(out[i].hidden, hidden_[i % 2]), 1e-4) << "sequence " << i;
  }
}

// Quantized and half-precision weights against transformers' float32 outputs. Bounds are the
// measured values (printed) with margin; these random-weight models amplify weight noise more than
// trained ones do (compare the MiniLM numbers in bert_minilm_test.cpp).
TEST_P(BertFixture, ReducedPrecisionWithinBounds) {
  struct Bound {
    const char* dtype;
    double max_rel_hidden, min_cosine;
  };
  // Measured (4 fixtures): f16 hidden <= 2.2e-3, cosine >= 0.9999993, logits 2.3e-3; q8_0 hidden
  // <= 6.1e-2, cosine >= 0.99962, logits 6.6e-2.
  for (const Bound& b : {Bound{"f16", 5e-3, 0.99999}, Bound{"q8_0", 0.15, 0.998}}) {
    const std::string bundle = Convert(dir_, b.dtype, 32);
    ASSERT_FALSE(bundle.empty());
    std::vector<EncoderOutput> out = EncodeAll(bundle, seqs_);
    ASSERT_EQ(out.size(), seqs_.size());
    auto [rel, cos] = Compare(out);
    std::printf("[ measured ] %s %s: hidden max rel %.2e, min embedding cosine %.7f\n", GetParam(), b.dtype, rel, cos);
    EXPECT_LE(rel, b.max_rel_hidden) << b.dtype;
    EXPECT_GE(cos, b.min_cosine) << b.dtype;
    if (!logits_.empty()) {
      std::vector<float> logits;
      for (const EncoderOutput& o : out) logits.insert(logits.end(), o.logits.begin(), o.logits.end());
      const double lrel = RelMaxDiff(logits, logits_);
      std::printf("[ measured ] %s %s: class logits max rel %.2e\n", GetParam(), b.dtype, lrel);
      EXPECT_LE(lrel, b.max_rel_hidden) << b.dtype;
    }
  }
}

// The same fixtures on the CUDA backend: packed batches run the tiled kernels (19 rows), single short
// sequences the one-pass ones (7 rows). Skipped, with the reason, where this build or this machine
// has no CUDA device; any other failure to load fails the test.
TEST_P(BertFixture, CudaMatchesTransformers) {
  const std::string bundle = Convert(dir_, "f32", 32);
  ASSERT_FALSE(bundle.empty());
  ModelOptions mo;
  mo.backends = {Backend::kCuda};
  auto probe = Model::Load(bundle.c_str(), mo);
  if (!probe.ok()) {
    const std::string& m = probe.status().message();
    ASSERT_TRUE(m.find("unavailable") != std::string::npos) << m;
    GTEST_SKIP() << m;
  }
  std::vector<EncoderOutput> out = EncodeAll(bundle, seqs_, Backend::kCuda);
  ASSERT_EQ(out.size(), seqs_.size());
  auto [rel, cos] = Compare(out);
  std::printf("[ measured ] %s f32 cuda: hidden max rel %.2e, min embedding cosine %.7f\n", GetParam(), rel, cos);
  EXPECT_LE(rel, 1e-4);
  EXPECT_GE(cos, 0.9999);
  if (!logits_.empty()) {
    std::vector<float> logits;
    for (const EncoderOutput& o : out) logits.insert(logits.end(), o.logits.begin(), o.logits.end());
    EXPECT_LE(RelMaxDiff(logits, logits_), 1e-4) << "class logits";
  }
  for (size_t i = 0; i < seqs_.size(); ++i) {
    std::vector<EncoderOutput> alone = EncodeAll(bundle, {seqs_[i]}, Backend::kCuda);
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_LE(RelMaxDiff(alone[0].hidden, hidden_[i]), 1e-4) << "sequence " << i << " alone";
  }
  for (const char* dtype : {"f16", "q8_0"}) {
    const std::string reduced = Convert(dir_, dtype, 32);
    auto [r, c] = Compare(EncodeAll(reduced, seqs_, Backend::kCuda));
    std::printf("[ measured ] %s %s cuda: hidden max rel %.2e, min embedding cosine %.7f\n", GetParam(), dtype, r, c);
    EXPECT_LE(r, std::string(dtype) == "f16" ? 5e-3 : 0.15) << dtype;
    EXPECT_GE(c, std::string(dtype) == "f16" ? 0.99999 : 0.998) << dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BertFixture, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

std::shared_ptr<const Model> LoadF32(const char* fixture, int max_tokens) {
  const std::string bundle = Convert(FixtureDir(fixture), "f32", max_tokens);
  auto model = Model::Load(bundle.c_str());
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

TEST(BertEncoder, PoolingComesFromTheCheckpoint) {
  auto cls = Encoder::Create(LoadF32("st_cls_raw", 32));
  ASSERT_TRUE(cls.ok()) << cls.status().ToString();
  EXPECT_EQ((*cls)->pooling(), EncoderPooling::kCls);
  EXPECT_FALSE((*cls)->normalize());
  auto mean = Encoder::Create(LoadF32("st_mean_norm", 32));
  ASSERT_TRUE(mean.ok());
  EXPECT_EQ((*mean)->pooling(), EncoderPooling::kMean);
  EXPECT_TRUE((*mean)->normalize());
  auto plain = Encoder::Create(LoadF32("bert_h64", 32));  // no sentence-transformers modules: mean + L2
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->pooling(), EncoderPooling::kMean);
  EXPECT_TRUE((*plain)->normalize());
  EXPECT_EQ((*plain)->num_labels(), 0);
  auto classifier = Encoder::Create(LoadF32("bert_cls3_h96", 32));
  ASSERT_TRUE(classifier.ok());
  EXPECT_EQ((*classifier)->num_labels(), 3);
}

TEST(BertEncoder, TooLongSequenceIsRefused) {
  auto encoder = Encoder::Create(LoadF32("bert_h64", 8));
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  std::vector<int32_t> ids(9, 5);
  EncoderInput in;
  in.ids = Span<const int32_t>(ids.data(), ids.size());
  std::vector<EncoderOutput> out;
  Status st = (*encoder)->Encode(Span<const EncoderInput>(&in, 1), &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("at most 8"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--max-tokens"), std::string::npos) << st.message();
}

TEST(BertEncoder, BadInputsAreRefusedBeforeRunning) {
  auto encoder = Encoder::Create(LoadF32("bert_h64", 32));
  ASSERT_TRUE(encoder.ok());
  std::vector<int32_t> ids = {1, 2, 200}, types = {0, 1}, ok_ids = {1, 2}, bad_types = {0, 2};
  std::vector<EncoderOutput> out;
  EncoderInput in;
  in.ids = Span<const int32_t>(ids.data(), ids.size());
  EXPECT_NE((*encoder)->Encode(Span<const EncoderInput>(&in, 1), &out).message().find("vocabulary"), std::string::npos);
  in.token_types = Span<const int32_t>(types.data(), types.size());
  EXPECT_NE((*encoder)->Encode(Span<const EncoderInput>(&in, 1), &out).message().find("token types"), std::string::npos);
  in.ids = Span<const int32_t>(ok_ids.data(), ok_ids.size());
  in.token_types = Span<const int32_t>(bad_types.data(), bad_types.size());
  EXPECT_NE((*encoder)->Encode(Span<const EncoderInput>(&in, 1), &out).message().find("type_vocab_size"), std::string::npos);
  EncoderInput empty;
  EXPECT_FALSE((*encoder)->Encode(Span<const EncoderInput>(&empty, 1), &out).ok());
}

TEST(BertEncoder, DecoderBundleIsRefused) {
  const std::string llama = std::string(ACORN_FIXTURES) + "/../llama/mha_untied";
  const std::string bundle = Convert(llama, "f32", 8);
  ASSERT_FALSE(bundle.empty());
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok());
  auto encoder = Encoder::Create(*model);
  ASSERT_FALSE(encoder.ok());
  EXPECT_NE(encoder.status().message().find("not an encoder bundle"), std::string::npos);
}

TEST(BertRun, HiddenAndEmbeddingAsNpy) {
  const std::string dir = FixtureDir("bert_h64");
  const std::string bundle = Convert(dir, "f32", 32);
  ASSERT_FALSE(bundle.empty());
  const std::vector<Sequence> seqs = ReadSequences(ReadJson(dir + "/inputs.json")["sequences"]);
  const Sequence& s = seqs[1];
  std::string ids, types;
  for (size_t i = 0; i < s.ids.size(); ++i) {
    ids += (i ? "," : "") + std::to_string(s.ids[i]);
    types += (i ? "," : "") + std::to_string(s.types[i]);
  }
  const std::string h = ::testing::TempDir() + "/bert_run_hidden.npy", e = ::testing::TempDir() + "/bert_run_emb.npy";
  const std::string cmd = std::string(ACORN_RUN_BIN) + " --model " + bundle + " --tokens " + ids + " --token-types " +
                          types + " --hidden-out " + h + " --embedding-out " + e;
  ASSERT_EQ(RunCommand(cmd), 0) << cmd;
  auto hidden = ReadNpy(h);
  ASSERT_TRUE(hidden.ok());
  ASSERT_EQ(hidden->shape, (std::vector<int64_t>{static_cast<int64_t>(s.ids.size()), 64}));
  EXPECT_LE(RelMaxDiff(hidden->data, Npy(dir + "/hidden_1.npy")), 1e-4);
  auto emb = ReadNpy(e);
  ASSERT_TRUE(emb.ok());
  ASSERT_EQ(emb->shape, (std::vector<int64_t>{64}));
  const std::vector<float> ref = Npy(dir + "/embeddings.npy");
  EXPECT_GE(Cosine(emb->data.data(), ref.data() + 64, 64), 0.9999);
}

// A sentence-transformers directory whose pooling acorn cannot reproduce is refused at conversion.
TEST(BertConvert, UnsupportedPoolingIsRefused) {
  const std::string dir = ::testing::TempDir() + "/bert_max_pooling";
  ASSERT_EQ(RunCommand("rm -rf " + dir + " && mkdir -p " + dir + "/1_Pooling && cp " + FixtureDir("st_mean_norm") +
                       "/config.json " + FixtureDir("st_mean_norm") + "/model.safetensors " + FixtureDir("st_mean_norm") +
                       "/modules.json " + dir + "/"),
            0);
  std::ofstream(dir + "/1_Pooling/config.json") << R"({"pooling_mode_max_tokens": true})";
  const std::string out = ::testing::TempDir() + "/bert_max_pooling.acorn";
  const std::string cmd = std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + out + " 2>&1 | grep -q 'only mean or CLS pooling'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace bert_test
}  // namespace acorn

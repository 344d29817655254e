// GGUF files quantized by llama.cpp's own quantizer (llama-quantize --pure, Q4_0 and Q8_0), converted
// by acorn-convert, against llama.cpp's own logits on the same prompt (tests/fixtures/gguf/llamacpp,
// made by scripts/llamacpp/make_gguf_fixtures.py with llama-cpp-python, KV cache in f32). Both
// runtimes quantize activations to Q8_0 blocks and take integer dot products, so they agree to float
// rounding: the same top-10 ids at every position, and the logits within 1e-5 of the largest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "gguf_test_util.h"
#include "model_test_util.h"
#include "npy.h"

namespace acorn {
namespace {

struct Case {
  const char* fixture;
  const char* dtype;
};
const Case kCases[] = {{"mha_untied", "q4_0"}, {"mha_untied", "q8_0"}, {"gqa_tied_llama3", "q4_0"},
                       {"gqa_tied_llama3", "q8_0"}};

std::vector<int32_t> TopK(const float* row, int64_t n, int k) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [row](int32_t a, int32_t b) { return row[a] > row[b]; });
  ids.resize(static_cast<size_t>(k));
  std::sort(ids.begin(), ids.end());
  return ids;
}

class LlamaCppLogits : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case c = GetParam();
    const std::string base = std::string(ACORN_GGUF_FIXTURES) + "/llamacpp/" + c.fixture + "." + c.dtype;
    auto ref = ReadNpy(base + ".logits.npy");
    ASSERT_TRUE(ref.ok()) << ref.status().ToString() << " (made by scripts/llamacpp/make_gguf_fixtures.py)";
    ref_ = std::move(ref->data);
    vocab_ = ref->shape[1];
    prompt_ = model_test::Ids(model_test::ReadJson(model_test::FixtureDir(c.fixture) + "/prompt.json")["tokens"]);
    bundle_ = ::testing::TempDir() + "/llamacpp_" + c.fixture + "_" + c.dtype + ".acorn";
    auto r = gguf_test::Convert(base + ".gguf", bundle_, "--max-tokens 8");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  void ExpectAgreement(const model_test::ModelRun& run, double max_rel, const char* what) {
    ASSERT_EQ(run.vocab, vocab_) << what;
    ASSERT_EQ(run.logits.size(), ref_.size()) << what;
    const double rel = model_test::RelMaxDiff(run.logits, ref_);
    std::printf("[ measured ] %s %s %s vs llama.cpp: max rel %.2e\n", GetParam().fixture, GetParam().dtype, what, rel);
    EXPECT_LE(rel, max_rel) << what;
    for (size_t t = 0; t < prompt_.size(); ++t) {
      const float* a = run.logits.data() + t * vocab_;
      const float* b = ref_.data() + t * vocab_;
      EXPECT_EQ(TopK(a, vocab_, 10), TopK(b, vocab_, 10)) << what << ": top-10 ids at position " << t;
      EXPECT_EQ(std::max_element(a, a + vocab_) - a, std::max_element(b, b + vocab_) - b) << what << ": position " << t;
    }
  }

  std::string bundle_;
  std::vector<int32_t> prompt_;
  std::vector<float> ref_;
  int64_t vocab_ = 0;
};

TEST_P(LlamaCppLogits, CpuMatchesLlamaCpp) {
  ExpectAgreement(model_test::RunModel(bundle_, prompt_, 0, Backend::kCpu), 1e-5, "cpu");
}

// The CUDA backend's one-pass kernels compute the same integer products (skipped, with the reason,
// where this build or machine has no CUDA device).
TEST_P(LlamaCppLogits, CudaMatchesLlamaCpp) {
  ModelOptions mo;
  mo.backends = {Backend::kCuda};
  auto probe = Model::Load(bundle_.c_str(), mo);
  if (!probe.ok()) {
    ASSERT_NE(probe.status().message().find("unavailable"), std::string::npos) << probe.status().message();
    GTEST_SKIP() << probe.status().message();
  }
  ExpectAgreement(model_test::RunModel(bundle_, prompt_, 0, mo), 1e-4, "cuda");
}

INSTANTIATE_TEST_SUITE_P(Files, LlamaCppLogits, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.fixture) + "_" + i.param.dtype;
                         });

}  // namespace
}  // namespace acorn

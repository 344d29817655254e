// GGUF files quantized by llama.cpp's own quantizer, converted by acorn-convert, against llama.cpp's
// own logits on the same prompt (tests/fixtures/gguf/llamacpp, made by
// scripts/llamacpp/make_gguf_fixtures.py with llama-cpp-python, KV cache in f32): llama-quantize
// --pure Q4_0 and Q8_0 of the narrow fixtures, and llama.cpp's presets Q2_K, Q3_K_M, Q4_K_M, Q5_K_M,
// Q6_K, IQ4_NL, IQ4_XS, Q4_0, Q4_1, Q5_0 and Q5_1 (the legacy ones with Q6_K embeddings) of kq_wide,
// a 256-wide model.
// Every case: the same top-10 ids at every position, and the logits within the case's bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "gguf_test_util.h"
#include "interpreter/bound_graph.h"
#include "model_test_util.h"
#include "npy.h"

namespace acorn {
namespace {

struct Case {
  const char* fixture;
  const char* dtype;
  const char* prompt;  // the fixture whose prompt.json llama.cpp evaluated
  double cpu_bound;    // max |difference| / max |logit| against llama.cpp
  bool same_activations;  // every matrix type's CPU kernel rounds activations as llama.cpp does
};
// acorn's CPU kernels round activations as llama.cpp does (Q8_0 for Q8_0, Q4_0, Q5_0 and IQ4_NL
// matrices, Q8_1 for Q4_1 and Q5_1, Q8_K for Q2_K..Q6_K and IQ4_XS) and take exact integer
// products, so the two agree to float rounding and the top-10 ids are identical at every position
// (same_activations). The reference kernels take float activations: they differ from llama.cpp by
// its activation rounding, and their top-10 ids may differ only at near-ties, between tokens whose
// llama.cpp logits are within twice that position's largest difference.
const Case kCases[] = {
    {"mha_untied", "q4_0", "mha_untied", 1e-5, true},
    {"mha_untied", "q8_0", "mha_untied", 1e-5, true},
    {"gqa_tied_llama3", "q4_0", "gqa_tied_llama3", 1e-5, true},
    {"gqa_tied_llama3", "q8_0", "gqa_tied_llama3", 1e-5, true},
    // kq_wide: llama.cpp's presets; rows of 64 (attn_output, ffn_down) get its fallback types.
    {"kq_wide", "q6_k", "gqa_tied_llama3", 1e-5, true},     // Q6_K, Q8_0
    {"kq_wide", "q4_0", "gqa_tied_llama3", 1e-5, true},     // Q4_0, Q6_K embeddings/output
    {"kq_wide", "q4_k_m", "gqa_tied_llama3", 1e-5, true},   // Q4_K, Q6_K, Q8_0, Q5_0
    {"kq_wide", "q3_k_m", "gqa_tied_llama3", 1e-5, true},   // Q3_K, Q5_K, Q6_K, Q5_0
    {"kq_wide", "q2_k", "gqa_tied_llama3", 1e-5, true},     // Q2_K, Q3_K, Q6_K, Q4_0
    {"kq_wide", "iq4_nl", "gqa_tied_llama3", 1e-5, true},   // IQ4_NL, Q6_K
    {"kq_wide", "iq4_xs", "gqa_tied_llama3", 1e-5, true},   // IQ4_XS, IQ4_NL, Q6_K
    {"kq_wide", "q5_k_m", "gqa_tied_llama3", 1e-5, true},   // Q5_K, Q6_K, Q8_0, Q5_1
    {"kq_wide", "q4_1", "gqa_tied_llama3", 1e-5, true},     // Q4_1, Q6_K embeddings/output
    {"kq_wide", "q5_0", "gqa_tied_llama3", 1e-5, true},     // Q5_0, Q6_K
    // Q5_1, Q6_K. At position 0 only, llama.cpp's logits differ by 1.3e-3 of the largest, where
    // acorn equals an independent numpy evaluation of ggml's Q5_1 x Q8_1 definition; it happens only
    // with both attn_v and attn_output in Q5_1 (docs/ACCURACY.md). Positions 1-10 agree to 1e-7.
    {"kq_wide", "q5_1", "gqa_tied_llama3", 2e-3, true},
};

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
    prompt_ = model_test::Ids(model_test::ReadJson(model_test::FixtureDir(c.prompt) + "/prompt.json")["tokens"]);
    bundle_ = ::testing::TempDir() + "/llamacpp_" + c.fixture + "_" + c.dtype + ".acorn";
    auto r = gguf_test::Convert(base + ".gguf", bundle_, "--max-tokens 8");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // exact: the same top-10 ids everywhere; otherwise they may differ at near-ties (see kCases).
  void ExpectAgreement(const model_test::ModelRun& run, double max_rel, bool exact, const char* what) {
    ASSERT_EQ(run.vocab, vocab_) << what;
    ASSERT_EQ(run.logits.size(), ref_.size()) << what;
    const double rel = model_test::RelMaxDiff(run.logits, ref_);
    std::printf("[ measured ] %s %s %s vs llama.cpp: max rel %.2e\n", GetParam().fixture, GetParam().dtype, what, rel);
    EXPECT_LE(rel, max_rel) << what;
    for (size_t t = 0; t < prompt_.size(); ++t) {
      const float* a = run.logits.data() + t * vocab_;
      const float* b = ref_.data() + t * vocab_;
      const std::vector<int32_t> ta = TopK(a, vocab_, 10), tb = TopK(b, vocab_, 10);
      if (exact) {
        EXPECT_EQ(ta, tb) << what << ": top-10 ids at position " << t;
      } else {
        // Near-ties only: a token in one top-10 and not the other must sit, in llama.cpp's logits,
        // within twice this position's largest difference of llama.cpp's 10th largest logit.
        double diff = 0;
        for (int64_t v = 0; v < vocab_; ++v) diff = std::max(diff, std::fabs(static_cast<double>(a[v]) - b[v]));
        std::vector<float> sorted(b, b + vocab_);
        std::nth_element(sorted.begin(), sorted.begin() + 9, sorted.end(), std::greater<float>());
        const float tenth = sorted[9];
        std::vector<int32_t> swapped;
        std::set_symmetric_difference(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(swapped));
        for (int32_t id : swapped) {
          EXPECT_LE(std::fabs(b[id] - tenth), 2 * diff) << what << ": position " << t << ", token " << id
                                                         << " differs in the top 10 and is no near-tie";
        }
      }
      EXPECT_EQ(std::max_element(a, a + vocab_) - a, std::max_element(b, b + vocab_) - b) << what << ": position " << t;
    }
  }

  std::string bundle_;
  std::vector<int32_t> prompt_;
  std::vector<float> ref_;
  int64_t vocab_ = 0;
};

TEST_P(LlamaCppLogits, CpuMatchesLlamaCpp) {
  ExpectAgreement(model_test::RunModel(bundle_, prompt_, 0, Backend::kCpu), GetParam().cpu_bound,
                  GetParam().same_activations, "cpu");
}

// The reference kernels (float activations for every type) against llama.cpp's preset files:
// near-ties may swap. (On the 64-wide fixtures, whose logits are small, float activations
// against Q8_0 ones differ by up to 0.1 of the largest logit, a bound that would say nothing.)
class LlamaCppLogitsReference : public LlamaCppLogits {};
TEST_P(LlamaCppLogitsReference, ReferenceMatchesLlamaCpp) {
  ExpectAgreement(model_test::RunModel(bundle_, prompt_, 0, Backend::kReference), 1e-2, false, "reference");
}

// The CUDA backend's one-pass kernels compute the same integer products, with activations rounded
// as llama.cpp's CPU rounds them for each type, and every op of every file runs on the device
// (skipped, with the reason, where this build or machine has no CUDA device).
TEST_P(LlamaCppLogits, CudaMatchesLlamaCpp) {
  ModelOptions mo;
  mo.backends = {Backend::kCuda, Backend::kCpu};
  auto probe = Model::Load(bundle_.c_str(), mo);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  const std::vector<BoundOp>& ops = (*probe)->bound().ops;
  if (std::none_of(ops.begin(), ops.end(), [](const BoundOp& b) { return b.kernel->backend == Backend::kCuda; })) {
    GTEST_SKIP() << "no usable CUDA device: the model loaded on the CPU";
  }
  for (const BoundOp& b : ops) {
    const TensorDesc& in = (*probe)->bundle().tensors()[b.op->inputs[b.op->inputs.size() > 1 ? 1 : 0]];
    EXPECT_EQ(b.kernel->backend, Backend::kCuda) << "op kind " << b.op->kind << " (input " << DTypeName(in.dtype)
                                                 << ") runs on the host";
  }
  ExpectAgreement(model_test::RunModel(bundle_, prompt_, 0, mo), std::max(GetParam().cpu_bound, 1e-4),
                  GetParam().same_activations, "cuda");
}

std::string CaseName(const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.fixture) + "_" + i.param.dtype; }
std::vector<Case> WideCases() {
  std::vector<Case> wide;
  for (const Case& c : kCases) {
    if (std::string(c.fixture) == "kq_wide") wide.push_back(c);
  }
  return wide;
}
INSTANTIATE_TEST_SUITE_P(Files, LlamaCppLogits, ::testing::ValuesIn(kCases), CaseName);
INSTANTIATE_TEST_SUITE_P(Files, LlamaCppLogitsReference, ::testing::ValuesIn(WideCases()), CaseName);

}  // namespace
}  // namespace acorn

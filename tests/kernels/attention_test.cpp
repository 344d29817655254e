// cpu::Attention against ref::Attention on every ISA path this CPU runs: grouped and not, head
// sizes with vector tails, prompts longer than a block of keys and than one work item, decode
// steps into a long cache, additive masks with -inf, on 1 and 3 threads. The kernel sums in
// another order and has its own exp: outputs (convex combinations of values ~ 1) agree to 2e-5.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_kernels.h"
#include "test_util.h"

namespace acorn {
namespace {

using cpu::Isa;

struct Case {
  int64_t heads, kv_heads, head_dim, T, pos;
  bool causal, mask;
};

std::string Name(const Case& c) {
  return "heads=" + std::to_string(c.heads) + " kv=" + std::to_string(c.kv_heads) + " hd=" +
         std::to_string(c.head_dim) + " T=" + std::to_string(c.T) + " pos=" + std::to_string(c.pos) +
         (c.causal ? " causal" : " full") + (c.mask ? " mask" : "");
}

class AttentionTest : public ::testing::TestWithParam<std::tuple<Isa, int>> {
 protected:
  void SetUp() override {
    if (!cpu::IsaSupported(isa())) GTEST_SKIP() << cpu::IsaName(isa()) << " not supported here";
    ASSERT_TRUE(cpu::ForceIsa(isa()));
  }
  void TearDown() override { cpu::ForceIsa(cpu::BestIsa()); }
  Isa isa() const { return std::get<0>(GetParam()); }
  int threads() const { return std::get<1>(GetParam()); }
};

TEST_P(AttentionTest, MatchesReference) {
  auto made = cpu::ThreadPool::Create(threads());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const Case cases[] = {
      {4, 2, 8, 7, 2, true, false},     {6, 3, 33, 70, 5, true, true},    {3, 1, 5, 20, 0, false, true},
      {32, 8, 64, 130, 0, true, false}, {2, 2, 128, 3, 100, false, false}, {1, 1, 80, 1, 200, true, false},
      {64, 1, 16, 9, 60, true, true},   {8, 8, 64, 1, 0, true, false},     {4, 1, 96, 65, 64, true, false},
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(Name(c));
    const int64_t kv_len = c.pos + c.T, ctx = kv_len + 3;
    const auto q = test::RandomFloats(static_cast<size_t>(c.T * c.heads * c.head_dim), ++seed);
    const auto k = test::RandomFloats(static_cast<size_t>(ctx * c.kv_heads * c.head_dim), ++seed);
    const auto v = test::RandomFloats(static_cast<size_t>(ctx * c.kv_heads * c.head_dim), ++seed);
    std::vector<float> mask;
    if (c.mask) {
      mask = test::RandomFloats(static_cast<size_t>(c.T * kv_len), ++seed);
      // A few -inf, never a whole row (the reference's softmax is undefined there).
      for (size_t i = 0; i < mask.size(); ++i) {
        if (i % 7 == 3 && i % static_cast<size_t>(kv_len) != 0) mask[i] = -INFINITY;
      }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    std::vector<float> want(q.size()), got(q.size(), NAN), ref_scratch(static_cast<size_t>(kv_len));
    ref::Attention(q.data(), k.data(), v.data(), c.T, c.pos, c.heads, c.kv_heads, c.head_dim, scale, c.causal,
                   c.mask ? mask.data() : nullptr, kv_len, want.data(), ref_scratch.data());
    std::vector<uint8_t> scratch(cpu::AttentionScratchBytes(c.T, c.heads, c.kv_heads, c.head_dim, threads()) + 1);
    cpu::Attention(made->get(), q.data(), k.data(), v.data(), c.T, c.pos, c.heads, c.kv_heads, c.head_dim, scale,
                   c.causal, c.mask ? mask.data() : nullptr, kv_len, got.data(), scratch.data() + 1);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5) << "at " << i;
  }
}

TEST_P(AttentionTest, FullyMaskedRowGivesZeros) {
  auto made = cpu::ThreadPool::Create(threads());
  ASSERT_TRUE(made.ok());
  const int64_t T = 3, hd = 20, kv_len = 3;
  const auto q = test::RandomFloats(static_cast<size_t>(T * hd), 5);
  const auto k = test::RandomFloats(static_cast<size_t>(kv_len * hd), 6);
  const auto v = test::RandomFloats(static_cast<size_t>(kv_len * hd), 7);
  std::vector<float> mask(static_cast<size_t>(T * kv_len), 0.0f);
  for (int64_t j = 0; j < kv_len; ++j) mask[static_cast<size_t>(kv_len + j)] = -INFINITY;  // row 1
  std::vector<float> out(q.size(), NAN);
  std::vector<uint8_t> scratch(cpu::AttentionScratchBytes(T, 1, 1, hd, threads()));
  cpu::Attention(made->get(), q.data(), k.data(), v.data(), T, 0, 1, 1, hd, 0.5f, false, mask.data(), kv_len,
                 out.data(), scratch.data());
  for (int64_t d = 0; d < hd; ++d) {
    EXPECT_EQ(out[static_cast<size_t>(hd + d)], 0.0f);
    EXPECT_TRUE(std::isfinite(out[static_cast<size_t>(d)]));
    EXPECT_TRUE(std::isfinite(out[static_cast<size_t>(2 * hd + d)]));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, AttentionTest,
                         ::testing::Combine(::testing::ValuesIn(cpu::kAllIsas), ::testing::Values(1, 3)),
                         [](const ::testing::TestParamInfo<AttentionTest::ParamType>& info) {
                           return std::string(cpu::IsaName(std::get<0>(info.param))) + "_threads" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace acorn

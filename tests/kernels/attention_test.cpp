// cpu::Attention against ref::Attention: causal and not, with and without a mask, grouped heads,
// several steps into a cache, 1 and 3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu_kernels.h"
#include "test_util.h"

namespace acorn {
namespace {

struct Case {
  int64_t T, pos, n_heads, n_kv, head_dim;
  bool causal, masked;
};

TEST(CpuAttention, MatchesReference) {
  const Case cases[] = {
      {1, 0, 1, 1, 4, true, false},    {1, 9, 4, 2, 8, true, false},   {5, 0, 4, 4, 16, true, false},
      {3, 70, 8, 2, 64, true, false},  {17, 3, 2, 1, 33, true, false}, {7, 0, 4, 2, 8, false, true},
      {5, 130, 6, 3, 32, true, true},  {2, 0, 3, 1, 5, false, false},
  };
  for (int threads : {1, 3}) {
    cpu::ThreadPool pool(threads);
    uint32_t seed = 500;
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << "T=" << c.T << " pos=" << c.pos << " heads=" << c.n_heads << "/"
                                        << c.n_kv << " hd=" << c.head_dim << " causal=" << c.causal
                                        << " masked=" << c.masked << " threads=" << threads);
      const int64_t kv_len = c.pos + c.T;
      const auto q = test::RandomFloats(static_cast<size_t>(c.T * c.n_heads * c.head_dim), ++seed);
      const auto k = test::RandomFloats(static_cast<size_t>(kv_len * c.n_kv * c.head_dim), ++seed);
      const auto v = test::RandomFloats(static_cast<size_t>(kv_len * c.n_kv * c.head_dim), ++seed);
      std::vector<float> mask;
      if (c.masked) {
        mask = test::RandomFloats(static_cast<size_t>(c.T * kv_len), ++seed);
        mask[0] = -INFINITY;  // a hidden key
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
      const size_t out_n = static_cast<size_t>(c.T * c.n_heads * c.head_dim);
      std::vector<float> want(out_n), got(out_n, NAN), scratch(static_cast<size_t>(ref::AttentionScratchFloats(kv_len)));
      const float* m = c.masked ? mask.data() : nullptr;
      ref::Attention(q.data(), k.data(), v.data(), c.T, c.pos, c.n_heads, c.n_kv, c.head_dim, scale, c.causal, m,
                     kv_len, want.data(), scratch.data());
      cpu::Attention(&pool, q.data(), k.data(), v.data(), c.T, c.pos, c.n_heads, c.n_kv, c.head_dim, scale, c.causal,
                     m, kv_len, got.data());
      // Outputs are convex combinations of v (|v| ~ 1): absolute float tolerance.
      for (size_t i = 0; i < out_n; ++i) ASSERT_NEAR(got[i], want[i], 2e-5f) << i;
    }
  }
}

TEST(CpuAttention, OneKeyReturnsItsValue) {
  const float q[4] = {1, -1, 2, 0}, k[4] = {0.5f, 0.5f, 0.5f, 0.5f}, v[4] = {1, 2, 3, 4};
  float out[4];
  cpu::Attention(nullptr, q, k, v, 1, 0, 1, 1, 4, 0.5f, true, nullptr, 1, out);
  for (int d = 0; d < 4; ++d) EXPECT_FLOAT_EQ(out[d], v[d]);
}

}  // namespace
}  // namespace acorn

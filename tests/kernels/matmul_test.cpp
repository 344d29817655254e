// cpu::MatMul against the reference, for every ISA path this CPU runs, every weight dtype, odd
// shapes and tails, with and without bias, on 1 and 3 threads.
//  - float weights: against ref::MatMul, to float rounding relative to sum |x*w|.
//  - q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k and q6_k weights also repacked in 16-row panels
//    (cpu::MatMulRowPanels).
//  - quantized weights (q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, and q2_k..q6_k, iq4_xs with rows of
//    256): tightly
//    against ref::MatMulQ8Activations (same integer products, only the order of float additions
//    differs), and loosely against ref::MatMul (activation rounding).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_kernels.h"
#include "test_util.h"

namespace acorn {
namespace {

using cpu::Isa;

struct Shape {
  int64_t T, K, N;
};

bool KQuant(DType t) { return GetDTypeInfo(t).block_elems == kQKBlock; }

std::vector<Shape> Shapes(bool quantized, bool k_quant) {
  std::vector<Shape> shapes;
  if (k_quant) {  // rows of whole super-blocks (256); odd T and N for the tile edges
    for (int64_t T : {1, 2, 3, 5, 8, 17})
      for (int64_t N : {1, 3, 31, 64, 129})
        for (int64_t K : {256, 512}) shapes.push_back({T, K, N});
    for (int64_t T : {1, 5}) shapes.push_back({T, 4096, 19});
    // Every token tile's tail (AVX-512 takes 8 tokens, AVX2/ARM 4) and panels of 8, 9 and 16 rows.
    for (int64_t T : {4, 6, 7}) shapes.push_back({T, 256, T == 4 ? 8 : T == 6 ? 9 : 24});
    shapes.push_back({40, 512, 33});  // two 16-token AMX tiles and a tail
    return shapes;
  }
  for (int64_t T : {1, 2, 3, 5, 8, 17})
    for (int64_t N : {1, 3, 31, 64, 129})
      for (int64_t K : {32, 64, 96}) shapes.push_back({T, K, N});
  // Long rows, where accumulation order matters most.
  for (int64_t T : {1, 5})
    for (int64_t N : {3, 64}) shapes.push_back({T, 4096, N});
  // Every token tile's tail (AVX-512 takes 8 tokens, AVX2/ARM 4) and panels of 8, 9 and 16 rows.
  for (int64_t T : {4, 6, 7}) shapes.push_back({T, 64, T == 4 ? 8 : T == 6 ? 9 : 24});
  shapes.push_back({40, 96, 33});  // two 16-token AMX tiles and a tail
  if (!quantized) {  // float weights take any K: vector tails
    for (int64_t K : {1, 7, 33, 100})
      for (int64_t T : {1, 5, 40}) shapes.push_back({T, K, 13});  // 40: packed token groups, k and token tails
  }
  return shapes;
}

class MatMulTest : public ::testing::TestWithParam<std::tuple<Isa, DType, int>> {
 protected:
  void SetUp() override {
    if (!cpu::IsaSupported(isa())) GTEST_SKIP() << cpu::IsaName(isa()) << " not supported here";
    ASSERT_TRUE(cpu::ForceIsa(isa()));
  }
  void TearDown() override { cpu::ForceIsa(cpu::BestIsa()); }
  Isa isa() const { return std::get<0>(GetParam()); }
  DType wtype() const { return std::get<1>(GetParam()); }
  int threads() const { return std::get<2>(GetParam()); }
};

TEST_P(MatMulTest, MatchesReference) {
  const DType wt = wtype();
  const bool quantized = GetDTypeInfo(wt).quantized;
  auto made = cpu::ThreadPool::Create(threads());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  cpu::ThreadPool& pool = **made;
  uint32_t seed = 100;
  for (const Shape& s : Shapes(quantized, KQuant(wt))) {
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "T=" << s.T << " K=" << s.K << " N=" << s.N << " bias=" << with_bias);
      auto x = test::RandomFloats(static_cast<size_t>(s.T * s.K), ++seed);
      if (s.K >= 64) {  // an all-zero activation block: scale 0 must not produce NaN
        for (int64_t k = 32; k < 64; ++k) x[k] = 0.0f;
      }
      const auto wf = test::RandomFloats(static_cast<size_t>(s.N * s.K), ++seed, 0.5f);
      const auto w = test::EncodeRows(wf, s.N, s.K, wt);
      const auto bias = test::RandomFloats(static_cast<size_t>(s.N), ++seed);
      const float* b = with_bias ? bias.data() : nullptr;

      std::vector<float> y(static_cast<size_t>(s.T * s.N), NAN);
      std::vector<uint8_t> scratch(cpu::MatMulScratchBytes(s.T, s.K, wt, threads()) + 1);
      // An odd scratch address: the kernel must align it itself.
      cpu::MatMul(&pool, x.data(), s.T, s.K, w.data(), wt, s.N, b, y.data(), scratch.data() + 1);

      std::vector<float> want(y.size());
      ref::MatMul(x.data(), s.T, s.K, w.data(), wt, s.N, b, want.data());
      if (!quantized) {
        // Scale of rounding: sum |x_k * w_k| over the dequantized weights.
        std::vector<float> wrow(static_cast<size_t>(s.K));
        for (int64_t n = 0; n < s.N; ++n) {
          ref::DequantizeRow(wt, w.data() + n * test::WeightRowBytes(wt, s.K), wrow.data(), s.K);
          for (int64_t t = 0; t < s.T; ++t) {
            double abs_sum = 0.0;
            for (int64_t k = 0; k < s.K; ++k) abs_sum += std::fabs(x[t * s.K + k] * wrow[k]);
            const size_t i = static_cast<size_t>(t * s.N + n);
            const float bias_ulp = b ? 2e-7f * std::fabs(b[n]) : 0.0f;
            ASSERT_NEAR(y[i], want[i], 4e-6 * abs_sum + bias_ulp + 1e-7) << "t=" << t << " n=" << n;
          }
        }
        continue;
      }
      std::vector<float> want_q(y.size()), abs_sum(y.size());
      ref::MatMulQ8Activations(x.data(), s.T, s.K, w.data(), wt, s.N, b, want_q.data(), abs_sum.data());
      if (wt == DType::kQ8_0 || wt == DType::kQ4_0 || wt == DType::kQ4_1 ||
          wt == DType::kQ5_0 || wt == DType::kQ5_1 || wt == DType::kQ4_K || wt == DType::kQ5_K || wt == DType::kQ6_K) {
        // The same weights repacked in 16-row panels, as the CPU backend does at load: the panel
        // kernel on ISAs that have one, the portable loop over panels on the others.
        std::vector<uint8_t> panels(cpu::RowPanelBytes(wt, s.K, s.N));
        cpu::RepackRowPanels(&pool, w.data(), wt, s.K, s.N, panels.data());
        std::vector<float> yp(y.size(), NAN);
        cpu::MatMulRowPanels(&pool, x.data(), s.T, s.K, panels.data(), wt, s.N, b, yp.data(), scratch.data() + 1);
        for (size_t i = 0; i < yp.size(); ++i) {
          const float bias_ulp = b ? 2e-7f * std::fabs(b[i % static_cast<size_t>(s.N)]) : 0.0f;
          ASSERT_NEAR(yp[i], want_q[i], 4e-6 * abs_sum[i] + bias_ulp + 1e-7) << "row panels, output " << i;
        }
      }
      // Loose scale: rounding x to Q8_0 moves each product by at most half a step of x, so the
      // output by about (amax(x)/254) * sum|w|; ||x|| * ||w|| bounds that with room to spare.
      std::vector<float> wrow(static_cast<size_t>(s.K));
      for (int64_t n = 0; n < s.N; ++n) {
        ref::DequantizeRow(wt, w.data() + n * test::WeightRowBytes(wt, s.K), wrow.data(), s.K);
        double w2 = 0.0;
        for (float v : wrow) w2 += v * v;
        for (int64_t t = 0; t < s.T; ++t) {
          double x2 = 0.0;
          for (int64_t k = 0; k < s.K; ++k) x2 += x[t * s.K + k] * x[t * s.K + k];
          const size_t i = static_cast<size_t>(t * s.N + n);
          const float bias_ulp = b ? 2e-7f * std::fabs(b[n]) : 0.0f;
          ASSERT_NEAR(y[i], want_q[i], 4e-6 * abs_sum[i] + bias_ulp + 1e-7) << "t=" << t << " n=" << n;
          ASSERT_NEAR(y[i], want[i], 0.01 * std::sqrt(x2 * w2)) << "t=" << t << " n=" << n;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllPaths, MatMulTest,
    ::testing::Combine(::testing::ValuesIn(cpu::kAllIsas),
                       ::testing::Values(DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K,
                                         DType::kQ5_K, DType::kQ6_K, DType::kQ2_K, DType::kQ3_K, DType::kIQ4_XS,
                                         DType::kIQ4_NL, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1),
                       ::testing::Values(1, 3)),
    [](const ::testing::TestParamInfo<MatMulTest::ParamType>& info) {
      return std::string(cpu::IsaName(std::get<0>(info.param))) + "_" + test::TypeName(std::get<1>(info.param)) +
             "_threads" + std::to_string(std::get<2>(info.param));
    });

TEST(QuantizeActivations, EveryPathEqualsReferenceBitForBit) {
  auto x = test::RandomFloats(32 * 40, 77, 2.0f);
  // Block 0: amax 127 gives scale 1, so these land exactly on .5 ties (roundf: away from zero).
  const float ties[8] = {127.0f, 2.5f, -3.5f, 0.5f, -0.5f, 0.49999997f, -126.5f, 1.5f};
  for (int j = 0; j < 8; ++j) x[j] = ties[j];
  for (int j = 32; j < 64; ++j) x[j] = 0.0f;        // block 1: all zero
  for (int j = 64; j < 96; ++j) x[j] = 1e-30f * j;  // block 2: tiny
  std::vector<BlockQ8_0> want(40), got(40);
  ref::QuantizeRowQ8_0(x.data(), want.data(), 32 * 40);
  EXPECT_EQ(want[0].q[1], 3);
  EXPECT_EQ(want[0].q[2], -4);
  EXPECT_EQ(want[0].q[4], -1);
  EXPECT_EQ(want[0].q[5], 0);
  for (Isa isa : cpu::kAllIsas) {
    if (!cpu::ForceIsa(isa)) continue;
    cpu::QuantizeRowQ8_0(x.data(), got.data(), 32 * 40);
    for (int b = 0; b < 40; ++b) {
      ASSERT_EQ(got[b].scale, want[b].scale) << cpu::IsaName(isa) << " block " << b;
      for (int j = 0; j < 32; ++j) ASSERT_EQ(got[b].q[j], want[b].q[j]) << cpu::IsaName(isa) << " " << b << "," << j;
    }
  }
  cpu::ForceIsa(cpu::BestIsa());
}

TEST(MatMul, NullPoolAndScratchSizes) {
  // Float weights need none, except where they may be repacked for bf16 products.
  EXPECT_EQ(cpu::MatMulScratchBytes(4, 64, DType::kF32, 1),
            cpu::IsaHasBf16Tiles(Isa::kAmx) ? cpu::MatMulBf16ScratchBytes(4, 64) : 0u);
  EXPECT_GE(cpu::MatMulScratchBytes(4, 64, DType::kQ4_0, 1), 4u * 64u + 4u * 2u * 8u);
  EXPECT_TRUE(cpu::MatMulSupports(DType::kQ8_0));
  EXPECT_FALSE(cpu::MatMulSupports(DType::kBF16));
  // y = x W^T + b by hand: x = [1, 2], W = [[1, 0], [0, 1], [1, 1]], b = [0, 0, 1].
  const float x[2] = {1, 2};
  const float w[6] = {1, 0, 0, 1, 1, 1};
  const float b[3] = {0, 0, 1};
  float y[3];
  cpu::MatMul(nullptr, x, 1, 2, w, DType::kF32, 3, b, y, nullptr);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 2.0f);
  EXPECT_EQ(y[2], 4.0f);
}

TEST(Isa, ForcingAndNames) {
  EXPECT_TRUE(cpu::IsaSupported(Isa::kScalar));
  EXPECT_TRUE(cpu::ForceIsa(Isa::kScalar));
  EXPECT_EQ(cpu::ActiveIsa(), Isa::kScalar);
  EXPECT_TRUE(cpu::ForceIsa(cpu::BestIsa()));
  EXPECT_EQ(cpu::ActiveIsa(), cpu::BestIsa());
  EXPECT_STREQ(cpu::IsaName(Isa::kAvx512), "avx512");
  EXPECT_STREQ(cpu::IsaName(Isa::kNeonI8mm), "neon_i8mm");
  // Each level's set contains the one below it: a CPU that runs a level runs those under it.
  EXPECT_STREQ(cpu::IsaName(Isa::kAmx), "amx");
  EXPECT_TRUE(!cpu::IsaSupported(Isa::kAmx) || cpu::IsaSupported(Isa::kAvx512));
  EXPECT_TRUE(!cpu::IsaSupported(Isa::kAvx512) || cpu::IsaSupported(Isa::kAvx2));
  EXPECT_TRUE(!cpu::IsaSupported(Isa::kNeonI8mm) || cpu::IsaSupported(Isa::kNeonDotprod));
  EXPECT_TRUE(!cpu::IsaSupported(Isa::kNeonDotprod) || cpu::IsaSupported(Isa::kNeon));
  // A build has one architecture's paths.
  EXPECT_FALSE(cpu::IsaSupported(Isa::kAvx2) && cpu::IsaSupported(Isa::kNeon));
#if defined(__aarch64__)
  EXPECT_TRUE(cpu::IsaSupported(Isa::kNeon)) << "every ARM64 core has Advanced SIMD";
#endif
}

// The AMX tile kernels (16 tokens at a time, the rest on AVX-512) do the AVX-512 kernels' integer
// sums and float operations in the same order: bit for bit the same output, for every type they
// take and the ones they hand back (Q6_K), on token counts around the tile's 16 and odd group counts.
TEST(MatMulAmx, RowPanelsEqualAvx512BitForBit) {
  if (!cpu::IsaSupported(Isa::kAmx)) GTEST_SKIP() << "no AMX-INT8 on this CPU (or the OS did not grant its state)";
  uint32_t seed = 900;
  for (int threads : {1, 3}) {
    auto made = cpu::ThreadPool::Create(threads);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    for (DType wt : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K,
                     DType::kQ6_K}) {
      for (int64_t T : {15, 16, 17, 32, 45, 70}) {
        for (int64_t K : KQuant(wt) ? std::vector<int64_t>{256, 2304} : std::vector<int64_t>{32, 96, 2080}) {
          for (int64_t N : {1, 17, 48}) {
            SCOPED_TRACE(::testing::Message() << test::TypeName(wt) << " threads=" << threads << " T=" << T
                                              << " K=" << K << " N=" << N);
            const auto x = test::RandomFloats(static_cast<size_t>(T * K), ++seed);
            const auto w = test::EncodeRows(test::RandomFloats(static_cast<size_t>(N * K), ++seed, 0.5f), N, K, wt);
            const auto bias = test::RandomFloats(static_cast<size_t>(N), ++seed);
            std::vector<uint8_t> panels(cpu::RowPanelBytes(wt, K, N));
            cpu::RepackRowPanels(made->get(), w.data(), wt, K, N, panels.data());
            std::vector<uint8_t> scratch(cpu::MatMulScratchBytes(T, K, wt, threads));
            std::vector<float> y[2];
            const Isa isas[2] = {Isa::kAvx512, Isa::kAmx};
            for (int i = 0; i < 2; ++i) {
              ASSERT_TRUE(cpu::ForceIsa(isas[i]));
              y[i].assign(static_cast<size_t>(T * N), NAN);
              cpu::MatMulRowPanels(made->get(), x.data(), T, K, panels.data(), wt, N, N == 17 ? bias.data() : nullptr,
                                   y[i].data(), scratch.data());
            }
            cpu::ForceIsa(cpu::BestIsa());
            for (size_t i = 0; i < y[0].size(); ++i) {
              ASSERT_EQ(std::memcmp(&y[0][i], &y[1][i], sizeof(float)), 0)
                  << "output " << i << ": avx512 " << y[0][i] << ", amx " << y[1][i];
            }
          }
        }
      }
    }
  }
}

// bf16 products of f32 and f16 weights (ModelOptions::cpu_bf16_products): the tile unit's path
// and the portable one, on token counts around the tile's 16, K around its 32 columns, N around
// the 16-row panel, each within the bound cpu_kernels.h states against the f32 reference. The
// emulated tile unit sums in the portable loop's order, so there the two agree bit for bit.
TEST(MatMulAmxBf16, WithinTheStatedBoundOfTheReference) {
  std::vector<Isa> isas = {Isa::kScalar};
  if (cpu::IsaHasBf16Tiles(Isa::kAmx)) isas.push_back(Isa::kAmx);
  uint32_t seed = 1300;
  for (int threads : {1, 3}) {
    auto made = cpu::ThreadPool::Create(threads);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    for (DType wt : {DType::kF32, DType::kF16}) {
      for (int64_t T : {1, 3, 16, 17, 40}) {
        for (int64_t K : {1, 7, 32, 100, 384}) {
          for (int64_t N : {1, 17, 40}) {
            SCOPED_TRACE(::testing::Message() << test::TypeName(wt) << " threads=" << threads << " T=" << T
                                              << " K=" << K << " N=" << N);
            const auto x = test::RandomFloats(static_cast<size_t>(T * K), ++seed);
            const auto w = test::EncodeRows(test::RandomFloats(static_cast<size_t>(N * K), ++seed, 0.5f), N, K, wt);
            const auto bias = test::RandomFloats(static_cast<size_t>(N), ++seed);
            const float* b = N == 17 ? bias.data() : nullptr;
            std::vector<uint8_t> panels(cpu::Bf16PanelBytes(K, N));
            cpu::RepackBf16Panels(made->get(), w.data(), wt, K, N, panels.data());
            std::vector<uint8_t> scratch(cpu::MatMulBf16ScratchBytes(T, K) + 1);
            std::vector<float> want(static_cast<size_t>(T * N));
            ref::MatMul(x.data(), T, K, w.data(), wt, N, b, want.data());
            std::vector<float> wrow(static_cast<size_t>(K));
            std::vector<std::vector<float>> y(isas.size());
            for (size_t p = 0; p < isas.size(); ++p) {
              ASSERT_TRUE(cpu::ForceIsa(isas[p]));
              y[p].assign(static_cast<size_t>(T * N), NAN);
              cpu::MatMulBf16Panels(made->get(), x.data(), T, K, panels.data(), N, b, y[p].data(), scratch.data() + 1);
              cpu::ForceIsa(cpu::BestIsa());
              for (int64_t n = 0; n < N; ++n) {
                ref::DequantizeRow(wt, w.data() + n * test::WeightRowBytes(wt, K), wrow.data(), K);
                for (int64_t t = 0; t < T; ++t) {
                  double abs_sum = 0.0;
                  for (int64_t k = 0; k < K; ++k) abs_sum += std::fabs(x[t * K + k] * wrow[k]);
                  const size_t i = static_cast<size_t>(t * N + n);
                  const double bound = (std::ldexp(1.0, -7) + K * std::ldexp(1.0, -22)) * abs_sum +
                                       (b ? 2e-7 * std::fabs(b[n]) : 0.0) + 1e-7;
                  ASSERT_NEAR(y[p][i], want[i], bound) << cpu::IsaName(isas[p]) << " t=" << t << " n=" << n;
                }
              }
            }
#if defined(ACORN_TEST_AMX_EMULATED)
            if (isas.size() == 2) {
              ASSERT_EQ(std::memcmp(y[0].data(), y[1].data(), y[0].size() * sizeof(float)), 0) << "portable vs tiles";
            }
#endif
          }
        }
      }
    }
  }
}

// Run-time detection against what the caller knows of the CPU: scripts/arm64/test.sh runs the
// suite under qemu CPU models with and without dotprod/i8mm and names the path each must pick.
TEST(Isa, BestIsWhatTheCallerExpects) {
  const char* want = std::getenv("ACORN_EXPECT_BEST_ISA");
  if (want == nullptr) GTEST_SKIP() << "ACORN_EXPECT_BEST_ISA not set (scripts/arm64/test.sh sets it per CPU model)";
  EXPECT_STREQ(cpu::IsaName(cpu::BestIsa()), want);
}

}  // namespace
}  // namespace acorn

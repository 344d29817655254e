// GGUF's legacy block types Q4_1, Q5_0 and Q5_1 against PyPI's gguf package (numpy ports of ggml's
// reference quantizers and dequantizers): tests/fixtures/gguf/legacy_quants.bin, written by
// scripts/gguf/make_quant_fixtures.py, holds float rows, gguf-py's blocks for them and gguf-py's
// dequantized floats. acorn's dequantizers must give exactly those floats (bit for bit), and its
// quantizers exactly those blocks (byte for byte).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "quant_fixture.h"
#include "test_util.h"

namespace acorn {
namespace {

using test::FloatBits;
using test::QuantFixture;
using test::QuantFixtureType;

bool ReadFixture(QuantFixture* f, std::string* why) { return test::ReadQuantFixture("legacy_quants.bin", f, why); }

TEST(LegacyQuants, DequantizeEqualsGgufPyBitForBit) {
  QuantFixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  ASSERT_EQ(f.types.size(), 3u);
  test::ExpectDequantizedBitForBit(f);
}

TEST(LegacyQuants, QuantizeEqualsGgufPyByteForByte) {
  QuantFixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  for (const QuantFixtureType& t : f.types) {
    const std::vector<uint8_t> got = test::EncodeRows(f.input, f.rows, f.cols, t.dtype);
    ASSERT_EQ(got.size(), t.blocks.size());
    const size_t block = test::WeightRowBytes(t.dtype, 32);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], t.blocks[i]) << test::TypeName(t.dtype) << " block " << i / block << " byte " << i % block;
    }
  }
}

// The layouts by hand: nibble order (low nibbles are elements 0..15) and qh bit j for element j.
TEST(LegacyQuants, HandBuiltBlocks) {
  BlockQ5_0 b5;
  b5.scale = F32ToF16(0.5f);
  for (int j = 0; j < 16; ++j) b5.q[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  const uint32_t qh = 0x80000001u;  // element 0 and element 31 get bit 4
  std::memcpy(b5.qh, &qh, 4);
  float out[32];
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ5_0, &b5, out, 32));
  EXPECT_EQ(out[0], 0.5f * ((0 | 16) - 16));
  EXPECT_EQ(out[1], 0.5f * (1 - 16));
  EXPECT_EQ(out[16], 0.5f * (15 - 16));
  EXPECT_EQ(out[31], 0.5f * ((0 | 16) - 16));

  BlockQ4_1 b4;
  b4.scale = F32ToF16(2.0f);
  b4.min = F32ToF16(-1.0f);
  for (int j = 0; j < 16; ++j) b4.q[j] = static_cast<uint8_t>(j | 3 << 4);
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ4_1, &b4, out, 32));
  EXPECT_EQ(out[5], 2.0f * 5 - 1.0f);
  EXPECT_EQ(out[20], 2.0f * 3 - 1.0f);

  BlockQ5_1 b51;
  b51.scale = F32ToF16(0.25f);
  b51.min = F32ToF16(1.0f);
  std::memset(b51.q, 0xff, sizeof b51.q);
  const uint32_t qh1 = 1u << 17;
  std::memcpy(b51.qh, &qh1, 4);
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ5_1, &b51, out, 32));
  EXPECT_EQ(out[17], 0.25f * 31 + 1.0f);
  EXPECT_EQ(out[16], 0.25f * 15 + 1.0f);
}

TEST(LegacyQuants, RoundTripWithinHalfStepAndNonFiniteStaysVisible) {
  auto x = test::RandomFloats(32 * 16, 3, 2.0f);
  for (DType t : {DType::kQ4_1, DType::kQ5_0, DType::kQ5_1}) {
    const std::vector<uint8_t> q = test::EncodeRows(x, 1, 32 * 16, t);
    std::vector<float> back(x.size());
    ASSERT_TRUE(ref::DequantizeRow(t, q.data(), back.data(), 32 * 16));
    const float levels = t == DType::kQ4_1 ? 15.0f : 31.0f;
    for (size_t b = 0; b < 16; ++b) {
      float lo = x[b * 32], hi = x[b * 32], amax = 0;
      for (int j = 0; j < 32; ++j) {
        lo = std::fmin(lo, x[b * 32 + j]);
        hi = std::fmax(hi, x[b * 32 + j]);
        amax = std::fmax(amax, std::fabs(x[b * 32 + j]));
      }
      const float step = t == DType::kQ5_0 ? amax / 16.0f : (hi - lo) / levels;
      // Half a step (q5_0: a whole one at the end opposite the largest magnitude, which maps to
      // -16 of -16..15), plus fp16 rounding of the scale (and minimum) over up to 31 steps.
      const float bound = (t == DType::kQ5_0 ? step : 0.5f * step) + 0.02f * amax;
      for (int j = 0; j < 32; ++j) {
        EXPECT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), bound) << test::TypeName(t);
      }
    }
  }
  x[40] = std::nanf("");
  for (DType t : {DType::kQ4_1, DType::kQ5_0, DType::kQ5_1}) {
    const std::vector<uint8_t> q = test::EncodeRows(x, 1, 32 * 16, t);
    std::vector<float> back(x.size());
    ASSERT_TRUE(ref::DequantizeRow(t, q.data(), back.data(), 32 * 16));
    EXPECT_TRUE(std::isnan(back[33])) << test::TypeName(t);
    EXPECT_FALSE(std::isnan(back[0])) << test::TypeName(t);
  }
}

// The reference matrix product dequantizes any block type: equal to the product with the
// dequantized floats.
TEST(LegacyQuants, ReferenceMatMulUsesDequantizedWeights) {
  const int64_t T = 3, K = 96, N = 5;
  const auto x = test::RandomFloats(T * K, 5);
  const auto wf = test::RandomFloats(N * K, 6);
  for (DType t : {DType::kQ4_1, DType::kQ5_0, DType::kQ5_1}) {
    const std::vector<uint8_t> w = test::EncodeRows(wf, N, K, t);
    std::vector<float> wd(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n) ref::DequantizeRow(t, w.data() + n * test::WeightRowBytes(t, K), wd.data() + n * K, K);
    std::vector<float> y(T * N), want(T * N);
    ref::MatMul(x.data(), T, K, w.data(), t, N, nullptr, y.data());
    ref::MatMul(x.data(), T, K, wd.data(), DType::kF32, N, nullptr, want.data());
    for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], want[i]) << test::TypeName(t);
  }
}

}  // namespace
}  // namespace acorn

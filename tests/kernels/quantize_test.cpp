// Block formats and conversions: layouts as GGUF defines them, round-trip error bounds, fp16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "test_util.h"

namespace acorn {
namespace {

TEST(Quantize, Q8_0HandComputedBlock) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // amax 16
  BlockQ8_0 b;
  ref::QuantizeRowQ8_0(x, &b, 32);
  EXPECT_EQ(b.scale, F32ToF16(16.0f / 127.0f));
  EXPECT_EQ(b.q[0], -127);
  EXPECT_EQ(b.q[16], 0);
  EXPECT_EQ(b.q[17], 8);    // round(1 * 127/16 = 7.94)
  EXPECT_EQ(b.q[31], 119);  // round(15 * 7.9375 = 119.06)
}

TEST(Quantize, Q8_0RoundTripWithinHalfStep) {
  const auto x = test::RandomFloats(32 * 64, 1, 3.0f);
  std::vector<BlockQ8_0> q(64);
  ref::QuantizeRowQ8_0(x.data(), q.data(), 32 * 64);
  std::vector<float> back(x.size());
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ8_0, q.data(), back.data(), 32 * 64));
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = F16ToF32(q[i / 32].scale);
    // Half a step, plus the fp16 rounding of the scale applied to up to 127 steps.
    EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * d + 127.0f * d * 1e-3f) << i;
  }
}

TEST(Quantize, Q8_0ZeroBlock) {
  float x[32] = {};
  BlockQ8_0 b;
  ref::QuantizeRowQ8_0(x, &b, 32);
  EXPECT_EQ(b.scale, 0);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.q[j], 0);
}

TEST(Quantize, Q4_0HandComputedBlock) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // largest magnitude: -16
  BlockQ4_0 b;
  ref::QuantizeRowQ4_0(x, &b, 32);
  EXPECT_EQ(F16ToF32(b.scale), 2.0f);  // -16 / -8
  EXPECT_EQ(b.q[0] & 0x0f, 0);         // -16 -> nibble 0
  EXPECT_EQ(b.q[0] >> 4, 8);           // element 16 is 0 -> nibble 8
  EXPECT_EQ(b.q[15] >> 4, 15);         // element 31 is 15 -> 16, clamped to 15
  float back[32];
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ4_0, &b, back, 32));
  EXPECT_EQ(back[0], -16.0f);
  EXPECT_EQ(back[16], 0.0f);
  EXPECT_EQ(back[31], 14.0f);
}

TEST(Quantize, Q4_0NibbleLayout) {
  BlockQ4_0 b;
  b.scale = F32ToF16(1.0f);
  std::memset(b.q, 0x88, sizeof b.q);  // all zeros
  b.q[0] = 0x9a;                       // element 0: 0xa - 8 = 2; element 16: 0x9 - 8 = 1
  float back[32];
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ4_0, &b, back, 32));
  EXPECT_EQ(back[0], 2.0f);
  EXPECT_EQ(back[16], 1.0f);
  EXPECT_EQ(back[1], 0.0f);
}

TEST(Quantize, Q4_0RoundTripWithinOneStep) {
  const auto x = test::RandomFloats(32 * 64, 2, 0.5f);
  std::vector<BlockQ4_0> q(64);
  ref::QuantizeRowQ4_0(x.data(), q.data(), 32 * 64);
  std::vector<float> back(x.size());
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ4_0, q.data(), back.data(), 32 * 64));
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = std::fabs(F16ToF32(q[i / 32].scale));
    // The far end may be clamped from 16 to 15 steps: up to one step off.
    EXPECT_LE(std::fabs(back[i] - x[i]), d * 1.01f) << i;
  }
}

TEST(Half, RoundTripsEveryFiniteHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x03ff)) continue;  // NaN payloads
    EXPECT_EQ(F32ToF16(F16ToF32(bits)), bits) << std::hex << h;
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(1e6f), 0x7c00);                 // overflow to inf
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16(1e-9f), 0x0000);
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(NAN))));
}

TEST(Dequantize, FloatTypesAndRejects) {
  const float f[3] = {1.5f, -2.25f, 3.0f};
  const uint16_t h[3] = {F32ToF16(1.5f), F32ToF16(-2.25f), F32ToF16(3.0f)};
  const uint16_t bf[3] = {F32ToBF16(1.5f), F32ToBF16(-2.25f), F32ToBF16(3.0f)};
  float out[3];
  ASSERT_TRUE(ref::DequantizeRow(DType::kF32, f, out, 3));
  EXPECT_EQ(out[1], -2.25f);
  ASSERT_TRUE(ref::DequantizeRow(DType::kF16, h, out, 3));
  EXPECT_EQ(out[1], -2.25f);
  ASSERT_TRUE(ref::DequantizeRow(DType::kBF16, bf, out, 3));
  EXPECT_EQ(out[2], 3.0f);
  EXPECT_FALSE(ref::DequantizeRow(DType::kI32, f, out, 3));
}

}  // namespace
}  // namespace acorn

// GGUF's legacy block types Q4_1, Q5_0 and Q5_1 against PyPI's gguf package (numpy ports of ggml's
// reference quantizers and dequantizers): tests/fixtures/gguf/legacy_quants.bin, written by
// scripts/gguf/make_quant_fixtures.py, holds float rows, gguf-py's blocks for them and gguf-py's
// dequantized floats. acorn's dequantizers must give exactly those floats (bit for bit), and its
// quantizers exactly those blocks (byte for byte).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.h"

namespace acorn {
namespace {

struct TypeCase {
  uint32_t ggml_type;
  DType dtype;
  std::vector<uint8_t> blocks;
  std::vector<float> dequantized;
};

struct Fixture {
  int64_t rows = 0, cols = 0;
  std::vector<float> input;
  std::vector<TypeCase> types;
};

bool ReadFixture(Fixture* f, std::string* why) {
  const std::string path = std::string(ACORN_GGUF_FIXTURES) + "/legacy_quants.bin";
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (pos + n > b.size()) return false;
    std::memcpy(dst, b.data() + pos, n);
    pos += n;
    return true;
  };
  char magic[4];
  uint32_t rows, cols;
  if (!take(magic, 4) || std::memcmp(magic, "AQF1", 4) != 0 || !take(&rows, 4) || !take(&cols, 4)) {
    *why = path + ": missing or not an AQF1 file (scripts/gguf/make_quant_fixtures.py writes it)";
    return false;
  }
  f->rows = rows;
  f->cols = cols;
  f->input.resize(static_cast<size_t>(rows) * cols);
  if (!take(f->input.data(), f->input.size() * 4)) return *why = path + ": truncated", false;
  while (pos < b.size()) {
    TypeCase t;
    uint32_t nbytes;
    if (!take(&t.ggml_type, 4) || !take(&nbytes, 4)) return *why = path + ": truncated", false;
    t.blocks.resize(nbytes);
    t.dequantized.resize(f->input.size());
    if (!take(t.blocks.data(), nbytes) || !take(t.dequantized.data(), t.dequantized.size() * 4)) {
      return *why = path + ": truncated", false;
    }
    switch (t.ggml_type) {
      case 3: t.dtype = DType::kQ4_1; break;
      case 6: t.dtype = DType::kQ5_0; break;
      case 7: t.dtype = DType::kQ5_1; break;
      default: return *why = path + ": unexpected ggml type " + std::to_string(t.ggml_type), false;
    }
    f->types.push_back(std::move(t));
  }
  return true;
}

uint32_t Bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

TEST(LegacyQuants, DequantizeEqualsGgufPyBitForBit) {
  Fixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  ASSERT_EQ(f.types.size(), 3u);
  for (const TypeCase& t : f.types) {
    const size_t row_bytes = test::WeightRowBytes(t.dtype, f.cols);
    ASSERT_EQ(row_bytes * f.rows, t.blocks.size()) << test::TypeName(t.dtype);
    std::vector<float> got(static_cast<size_t>(f.cols));
    for (int64_t r = 0; r < f.rows; ++r) {
      ASSERT_TRUE(ref::DequantizeRow(t.dtype, t.blocks.data() + r * row_bytes, got.data(), f.cols));
      for (int64_t c = 0; c < f.cols; ++c) {
        ASSERT_EQ(Bits(got[c]), Bits(t.dequantized[r * f.cols + c]))
            << test::TypeName(t.dtype) << " row " << r << " col " << c << ": " << got[c] << " vs "
            << t.dequantized[r * f.cols + c];
      }
    }
  }
}

TEST(LegacyQuants, QuantizeEqualsGgufPyByteForByte) {
  Fixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  for (const TypeCase& t : f.types) {
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

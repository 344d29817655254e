// GGUF's K-quants (Q2_K..Q6_K) and IQ4 (IQ4_NL, IQ4_XS) against llama.cpp's own code:
// tests/fixtures/gguf/k_quants.bin, written by scripts/gguf/make_kquant_fixtures.py through
// ggml's C functions (ggml_quantize_chunk, the type's to_float), holds float rows, ggml's blocks
// for them and ggml's dequantized floats (PyPI gguf 0.19.0 agrees with every one of them).
// acorn's dequantizers must give exactly those floats, bit for bit, and its quantizers (Q2_K to
// Q6_K) exactly those blocks, byte for byte.
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

bool ReadFixture(QuantFixture* f, std::string* why) { return test::ReadQuantFixture("k_quants.bin", f, why); }

TEST(KQuants, DequantizeEqualsGgmlBitForBit) {
  QuantFixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  ASSERT_EQ(f.types.size(), 7u);
  test::ExpectDequantizedBitForBit(f);
}

// acorn's quantizers (the types acorn-convert writes) make exactly llama.cpp's blocks.
TEST(KQuants, QuantizeEqualsGgmlByteForByte) {
  QuantFixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  int checked = 0;
  for (const QuantFixtureType& t : f.types) {
    const size_t row_bytes = test::WeightRowBytes(t.dtype, f.cols);
    std::vector<uint8_t> got(row_bytes * f.rows);
    bool writes = true;
    for (int64_t r = 0; r < f.rows && writes; ++r) {
      writes = ref::QuantizeRow(t.dtype, f.input.data() + r * f.cols, got.data() + r * row_bytes, f.cols);
    }
    if (!writes) continue;  // read-only types (IQ4_*): QuantizeRow says so
    ++checked;
    const size_t block = GetDTypeInfo(t.dtype).block_bytes;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], t.blocks[i]) << test::TypeName(t.dtype) << " row " << i / row_bytes << " block "
                                     << i % row_bytes / block << " byte " << i % block;
    }
  }
  EXPECT_EQ(checked, 5);  // Q2_K..Q6_K
}

// Non-finite input gives a block that reads back as NaN (the converter refuses such weights
// before quantizing; this keeps the quantizer itself free of undefined float-to-int conversions).
TEST(KQuants, NonFiniteSuperBlockStaysVisible) {
  auto x = test::RandomFloats(512, 9);
  x[300] = std::nanf("");
  x[10] = INFINITY;
  for (DType t : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const std::vector<uint8_t> q = test::EncodeRows(x, 1, 512, t);
    std::vector<float> back(512);
    ASSERT_TRUE(ref::DequantizeRow(t, q.data(), back.data(), 512));
    EXPECT_TRUE(std::isnan(back[0]) && std::isnan(back[511])) << test::TypeName(t);
  }
}

// The dtype table and the stored row size agree with ggml's geometry.
TEST(KQuants, BlockGeometry) {
  struct { DType t; uint32_t elems, bytes; } want[] = {
      {DType::kQ2_K, 256, 84}, {DType::kQ3_K, 256, 110}, {DType::kQ4_K, 256, 144}, {DType::kQ5_K, 256, 176},
      {DType::kQ6_K, 256, 210}, {DType::kIQ4_NL, 32, 18}, {DType::kIQ4_XS, 256, 136}};
  for (const auto& w : want) {
    const DTypeInfo& info = GetDTypeInfo(w.t);
    EXPECT_EQ(info.block_elems, w.elems) << info.name;
    EXPECT_EQ(info.block_bytes, w.bytes) << info.name;
    EXPECT_TRUE(info.quantized) << info.name;
    uint64_t bytes = 0;
    EXPECT_TRUE(RowBytes(w.t, 2 * w.elems, &bytes));
    EXPECT_EQ(bytes, 2u * w.bytes);
    EXPECT_EQ(test::WeightRowBytes(w.t, 2 * w.elems), 2u * w.bytes);
    EXPECT_FALSE(RowBytes(w.t, w.elems + 16, &bytes)) << info.name << ": a partial block";
    DType parsed;
    ASSERT_TRUE(ParseDType(info.name, &parsed));
    EXPECT_EQ(parsed, w.t);
  }
}

// The layouts by hand, where the fixture's random blocks could hide a symmetric mistake: Q4_K's
// packed 6-bit scales and minimums, Q6_K's split quants, IQ4_XS's split scales.
TEST(KQuants, HandBuiltBlocks) {
  BlockQ4_K b4{};
  b4.d = F32ToF16(1.0f);
  b4.dmin = F32ToF16(0.5f);
  // Sub-block 5: scale 0b11'0110 (low 4 bits in scales[9], high 2 in scales[1] >> 6),
  // minimum 0b10'0011 (low 4 in scales[9] >> 4, high 2 in scales[5] >> 6).
  b4.scales[9] = 0x36;
  b4.scales[1] = 0x3 << 6;
  b4.scales[5] = 0x2 << 6;
  for (int l = 0; l < 32; ++l) b4.qs[64 + l] = static_cast<uint8_t>(0x70 | (l & 15));  // sub-block 5: 7
  std::vector<float> out(256);
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ4_K, &b4, out.data(), 256));
  EXPECT_EQ(out[5 * 32 + 3], 1.0f * 0x36 * 7 - 0.5f * 0x23);
  uint8_t sc, m;
  ref::ScaleMinK4(1, b4.scales, &sc, &m);
  EXPECT_EQ(sc, 0);  // the high bits of sub-block 5 stay out of sub-block 1's 6 bits
  EXPECT_EQ(m, 0);

  BlockQ6_K b6{};
  b6.d = F32ToF16(0.25f);
  for (int s = 0; s < 16; ++s) b6.scales[s] = static_cast<int8_t>(s - 8);
  b6.ql[32 + 7] = 0x5 << 4;  // element 96 + 7: high nibble of ql[32 + 7], bits 6..7 of qh[7]
  b6.qh[7] = 0x2 << 6;
  ASSERT_TRUE(ref::DequantizeRow(DType::kQ6_K, &b6, out.data(), 256));
  EXPECT_EQ(out[96 + 7], 0.25f * (6 - 8) * ((5 | 2 << 4) - 32));  // sub-block 6 has scale -2
  EXPECT_EQ(out[7], 0.25f * (0 - 8) * (0 - 32));

  BlockIQ4_XS bx{};
  bx.d = F32ToF16(2.0f);
  bx.scales_l[1] = 0x90;                   // sub-block 3: low bits 9
  bx.scales_h = static_cast<uint16_t>(3 << 6);  // sub-block 3: high bits 3 -> scale 57
  bx.qs[3 * 16 + 2] = 0xF0;                // element 3*32 + 16 + 2: level 15
  ASSERT_TRUE(ref::DequantizeRow(DType::kIQ4_XS, &bx, out.data(), 256));
  EXPECT_EQ(out[3 * 32 + 18], 2.0f * (57 - 32) * 113);
  EXPECT_EQ(out[3 * 32 + 2], 2.0f * (57 - 32) * -127);
}

// QuantGroupOf (what the integer kernels unpack) gives DequantizeRow's floats exactly, for every type.
TEST(KQuants, GroupsEqualDequantizedFloats) {
  int checked = 0;
  for (const char* file : {"k_quants.bin", "legacy_quants.bin"}) {
    QuantFixture f;
    std::string why;
    ASSERT_TRUE(test::ReadQuantFixture(file, &f, &why)) << why;
    for (const QuantFixtureType& t : f.types) {
      ref::QuantGroup g;
      ASSERT_TRUE(ref::QuantGroupOf(t.dtype, t.blocks.data(), 0, &g)) << test::TypeName(t.dtype);
      ++checked;
      const size_t row_bytes = test::WeightRowBytes(t.dtype, f.cols);
      for (int64_t r = 0; r < f.rows; ++r) {
        for (int64_t b = 0; b < f.cols / 32; ++b) {
          ASSERT_TRUE(ref::QuantGroupOf(t.dtype, t.blocks.data() + r * row_bytes, b, &g));
          for (int j = 0; j < 32; ++j) {
            const float v = g.scale[j / 16] * static_cast<float>(g.u[j] - g.offset) - g.min[j / 16];
            ASSERT_EQ(FloatBits(v), FloatBits(t.dequantized[r * f.cols + b * 32 + j]))
                << test::TypeName(t.dtype) << " row " << r << " group " << b << " element " << j;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 10);  // the seven of k_quants.bin, Q4_1, Q5_0, Q5_1
}

// The reference matrix product dequantizes every block type: equal to the product with the
// dequantized floats (weights: the fixture's rows in each type).
TEST(KQuants, ReferenceMatMulUsesDequantizedWeights) {
  QuantFixture f;
  std::string why;
  ASSERT_TRUE(ReadFixture(&f, &why)) << why;
  const int64_t T = 3, K = f.cols, N = f.rows;
  const auto x = test::RandomFloats(static_cast<size_t>(T * K), 5);
  for (const QuantFixtureType& t : f.types) {
    std::vector<float> y(T * N), want(T * N);
    ref::MatMul(x.data(), T, K, t.blocks.data(), t.dtype, N, nullptr, y.data());
    ref::MatMul(x.data(), T, K, t.dequantized.data(), DType::kF32, N, nullptr, want.data());
    for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], want[i]) << test::TypeName(t.dtype);
  }
}

}  // namespace
}  // namespace acorn

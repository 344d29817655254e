// Reads the AQF1 fixtures of tests/fixtures/gguf (legacy_quants.bin from PyPI gguf's quantizers,
// k_quants.bin from llama.cpp's; scripts/gguf/make_*quant_fixtures.py): rows of floats, then per
// ggml type the blocks made from them and the floats those blocks dequantize to.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acorn/dtype.h"
#include "reference_kernels.h"
#include "row_bytes.h"

namespace acorn {
namespace test {

struct QuantFixtureType {
  uint32_t ggml_type;
  DType dtype;
  std::vector<uint8_t> blocks;
  std::vector<float> dequantized;
};

struct QuantFixture {
  int64_t rows = 0, cols = 0;
  std::vector<float> input;
  std::vector<QuantFixtureType> types;
};

// The acorn dtype of a ggml type number, for the block types the fixtures hold.
inline bool DTypeOfGgmlType(uint32_t ggml_type, DType* out) {
  switch (ggml_type) {
    case 3: *out = DType::kQ4_1; return true;
    case 6: *out = DType::kQ5_0; return true;
    case 7: *out = DType::kQ5_1; return true;
    case 10: *out = DType::kQ2_K; return true;
    case 11: *out = DType::kQ3_K; return true;
    case 12: *out = DType::kQ4_K; return true;
    case 13: *out = DType::kQ5_K; return true;
    case 14: *out = DType::kQ6_K; return true;
    case 20: *out = DType::kIQ4_NL; return true;
    case 23: *out = DType::kIQ4_XS; return true;
    default: return false;
  }
}

// `file` inside ACORN_GGUF_FIXTURES; false with the reason in *why.
inline bool ReadQuantFixture(const std::string& file, QuantFixture* f, std::string* why) {
  const std::string path = std::string(ACORN_GGUF_FIXTURES) + "/" + file;
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
    *why = path + ": missing or not an AQF1 file (scripts/gguf/make_*quant_fixtures.py write them)";
    return false;
  }
  f->rows = rows;
  f->cols = cols;
  f->input.resize(static_cast<size_t>(rows) * cols);
  if (!take(f->input.data(), f->input.size() * 4)) return *why = path + ": truncated", false;
  while (pos < b.size()) {
    QuantFixtureType t;
    uint32_t nbytes;
    if (!take(&t.ggml_type, 4) || !take(&nbytes, 4)) return *why = path + ": truncated", false;
    t.blocks.resize(nbytes);
    t.dequantized.resize(f->input.size());
    if (!take(t.blocks.data(), nbytes) || !take(t.dequantized.data(), t.dequantized.size() * 4)) {
      return *why = path + ": truncated", false;
    }
    if (!DTypeOfGgmlType(t.ggml_type, &t.dtype)) {
      return *why = path + ": unexpected ggml type " + std::to_string(t.ggml_type), false;
    }
    f->types.push_back(std::move(t));
  }
  return true;
}

inline uint32_t FloatBits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

// ref::DequantizeRow of every fixture block gives the fixture's floats, bit for bit.
inline void ExpectDequantizedBitForBit(const QuantFixture& f) {
  for (const QuantFixtureType& t : f.types) {
    const size_t row_bytes = kernels::StoredRowBytes(t.dtype, f.cols);
    ASSERT_EQ(row_bytes * f.rows, t.blocks.size()) << DTypeName(t.dtype);
    std::vector<float> got(static_cast<size_t>(f.cols));
    for (int64_t r = 0; r < f.rows; ++r) {
      ASSERT_TRUE(ref::DequantizeRow(t.dtype, t.blocks.data() + r * row_bytes, got.data(), f.cols));
      for (int64_t c = 0; c < f.cols; ++c) {
        ASSERT_EQ(FloatBits(got[c]), FloatBits(t.dequantized[r * f.cols + c]))
            << DTypeName(t.dtype) << " row " << r << " col " << c << ": " << got[c] << " vs "
            << t.dequantized[r * f.cols + c];
      }
    }
  }
}

}  // namespace test
}  // namespace acorn

// Helpers shared by the kernel tests: seeded random data and weights in every dtype.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "acorn/dtype.h"
#include "acorn/half.h"
#include "reference_kernels.h"
#include "row_bytes.h"

namespace acorn {
namespace test {

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline size_t WeightRowBytes(DType wtype, int64_t K) { return kernels::StoredRowBytes(wtype, K); }

// Encodes a [rows, K] float matrix in wtype (quantized with the reference quantizers).
inline std::vector<uint8_t> EncodeRows(const std::vector<float>& f, int64_t rows, int64_t K, DType wtype) {
  const size_t rb = WeightRowBytes(wtype, K);
  std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = f.data() + r * K;
    uint8_t* dst = out.data() + r * rb;
    ref::QuantizeRow(wtype, src, dst, K);
  }
  return out;
}

inline const char* TypeName(DType t) { return DTypeName(t); }

}  // namespace test
}  // namespace acorn

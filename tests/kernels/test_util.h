// Helpers shared by the kernel tests: seeded random data and weights in every dtype.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "acorn/dtype.h"
#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace test {

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline size_t WeightRowBytes(DType wtype, int64_t K) {
  switch (wtype) {
    case DType::kF32: return static_cast<size_t>(K) * 4;
    case DType::kF16:
    case DType::kBF16: return static_cast<size_t>(K) * 2;
    case DType::kQ8_0: return static_cast<size_t>(K / kQBlock) * sizeof(BlockQ8_0);
    case DType::kQ4_0: return static_cast<size_t>(K / kQBlock) * sizeof(BlockQ4_0);
    case DType::kQ4_1: return static_cast<size_t>(K / kQBlock) * sizeof(BlockQ4_1);
    case DType::kQ5_0: return static_cast<size_t>(K / kQBlock) * sizeof(BlockQ5_0);
    case DType::kQ5_1: return static_cast<size_t>(K / kQBlock) * sizeof(BlockQ5_1);
    default: return 0;
  }
}

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

inline const char* TypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kQ8_0: return "q8_0";
    case DType::kQ4_0: return "q4_0";
    case DType::kQ4_1: return "q4_1";
    case DType::kQ5_0: return "q5_0";
    case DType::kQ5_1: return "q5_1";
    default: return "other";
  }
}

}  // namespace test
}  // namespace acorn

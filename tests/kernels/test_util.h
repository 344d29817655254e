// Helpers shared by the kernel tests: seeded random data and weights in every dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
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

// Blocks of a type acorn reads but does not write (Q2_K, Q3_K, IQ4_NL, IQ4_XS): random quants and
// scales (seeded by `seed`) with small fixed fp16 super-scales, so that values stay near 1.
inline void RandomBlocks(DType wtype, uint8_t* dst, size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < bytes; ++i) dst[i] = static_cast<uint8_t>(rng());
  const DTypeInfo& info = GetDTypeInfo(wtype);
  size_t d_at = 0, dmin_at = SIZE_MAX;
  float d = 0.02f;
  switch (wtype) {
    case DType::kQ2_K: d_at = offsetof(BlockQ2_K, d), dmin_at = offsetof(BlockQ2_K, dmin), d = 0.05f; break;
    case DType::kQ3_K: d_at = offsetof(BlockQ3_K, d), d = 0.005f; break;
    case DType::kIQ4_NL: d_at = offsetof(BlockIQ4_NL, d), d = 0.01f; break;
    case DType::kIQ4_XS: d_at = offsetof(BlockIQ4_XS, d), d = 0.0005f; break;
    default: return;
  }
  const uint16_t dh = F32ToF16(d), mh = F32ToF16(d / 2);
  for (size_t b = 0; b + info.block_bytes <= bytes; b += info.block_bytes) {
    std::memcpy(dst + b + d_at, &dh, 2);
    if (dmin_at != SIZE_MAX) std::memcpy(dst + b + dmin_at, &mh, 2);
  }
}

// Encodes a [rows, K] float matrix in wtype (quantized with the reference quantizers; for the
// types acorn only reads, RandomBlocks seeded from the row's first value).
inline std::vector<uint8_t> EncodeRows(const std::vector<float>& f, int64_t rows, int64_t K, DType wtype) {
  const size_t rb = WeightRowBytes(wtype, K);
  std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = f.data() + r * K;
    uint8_t* dst = out.data() + r * rb;
    if (!ref::QuantizeRow(wtype, src, dst, K)) {
      uint32_t seed;
      std::memcpy(&seed, src, sizeof seed);
      RandomBlocks(wtype, dst, rb, seed + static_cast<uint32_t>(r));
    }
  }
  return out;
}

inline const char* TypeName(DType t) { return DTypeName(t); }

}  // namespace test
}  // namespace acorn

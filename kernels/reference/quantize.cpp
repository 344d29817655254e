// Block quantizers, written to match ggml's quantize_row_{q8_0,q4_0,q4_1,q5_0,q5_1}_ref bit for bit,
// so that bundles converted by acorn and GGUF files from llama.cpp hold the same bytes, and the
// dequantizers, written as ggml's dequantize_row_* (the same float operations in the same order).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace ref {

namespace {

// A block holding NaN or infinity has no meaningful scale. It is stored with a NaN scale and zero
// quants, so it dequantizes to NaN and the non-finite input stays visible downstream instead of
// reaching a float-to-int conversion, which is undefined behaviour for NaN and out-of-range values.
bool BlockIsFinite(const float* xb) {
  for (int j = 0; j < kQBlock; ++j) {
    if (!std::isfinite(xb[j])) return false;
  }
  return true;
}

// Clamps before converting: with a finite block the product is already in range, but a scale whose
// inverse overflows (a block of subnormals) would otherwise give inf * 0 = NaN.
int ClampToInt(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return v != v ? 0 : lo;  // NaN -> 0
  if (v > static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

}  // namespace

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t k) {
  const int64_t nb = k / kQBlock;
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * kQBlock;
    if (!BlockIsFinite(xb)) {
      y[i].scale = F32ToF16(std::numeric_limits<float>::quiet_NaN());
      std::memset(y[i].q, 0, sizeof y[i].q);
      continue;
    }
    float amax = 0.0f;
    for (int j = 0; j < kQBlock; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    // ggml multiplies by the inverse of the float (not the fp16-rounded) scale.
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].scale = F32ToF16(d);
    for (int j = 0; j < kQBlock; ++j) y[i].q[j] = static_cast<int8_t>(ClampToInt(std::round(xb[j] * id), -127, 127));
  }
}

void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t k) {
  const int64_t nb = k / kQBlock;
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * kQBlock;
    if (!BlockIsFinite(xb)) {
      y[i].scale = F32ToF16(std::numeric_limits<float>::quiet_NaN());
      std::memset(y[i].q, 0x88, sizeof y[i].q);  // nibble 8 is zero
      continue;
    }
    float amax = 0.0f;
    float max = 0.0f;  // the value of largest magnitude, sign kept: it maps to nibble 0
    for (int j = 0; j < kQBlock; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].scale = F32ToF16(d);
    for (int j = 0; j < kQBlock / 2; ++j) {
      // ggml truncates xb * id + 8.5 toward zero and caps at 15; for finite blocks the sum lies in
      // [0.5, 16.5], so clamping to [0, 15] first gives the same nibbles.
      const int lo = ClampToInt(xb[j] * id + 8.5f, 0, 15);
      const int hi = ClampToInt(xb[j + kQBlock / 2] * id + 8.5f, 0, 15);
      y[i].q[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

namespace {

// A non-finite block of a type with a minimum: NaN scale and minimum, so every value reads as NaN.
template <class Block>
void NonFiniteBlock(Block* b) {
  std::memset(b, 0, sizeof *b);
  b->scale = F32ToF16(std::numeric_limits<float>::quiet_NaN());
}

void MinMax(const float* xb, float* min, float* max) {
  *min = std::numeric_limits<float>::max();
  *max = -std::numeric_limits<float>::max();
  for (int j = 0; j < kQBlock; ++j) {
    if (xb[j] < *min) *min = xb[j];
    if (xb[j] > *max) *max = xb[j];
  }
}

// Element j's fifth bit goes to bit j of qh (little-endian), as ggml stores it.
void StoreHighBits(uint32_t qh, uint8_t out[4]) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(qh >> (8 * i));
}
uint32_t LoadHighBits(const uint8_t in[4]) {
  return static_cast<uint32_t>(in[0]) | static_cast<uint32_t>(in[1]) << 8 | static_cast<uint32_t>(in[2]) << 16 |
         static_cast<uint32_t>(in[3]) << 24;
}

}  // namespace

void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t k) {
  for (int64_t i = 0; i < k / kQBlock; ++i) {
    const float* xb = x + i * kQBlock;
    if (!BlockIsFinite(xb)) {
      NonFiniteBlock(&y[i]);
      y[i].min = y[i].scale;
      continue;
    }
    float min, max;
    MinMax(xb, &min, &max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].scale = F32ToF16(d);
    y[i].min = F32ToF16(min);
    for (int j = 0; j < kQBlock / 2; ++j) {
      // ggml truncates (x - min) * id + 0.5 and caps at 15; the value is never below 0.5.
      const int lo = ClampToInt((xb[j] - min) * id + 0.5f, 0, 15);
      const int hi = ClampToInt((xb[j + kQBlock / 2] - min) * id + 0.5f, 0, 15);
      y[i].q[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantizeRowQ5_0(const float* x, BlockQ5_0* y, int64_t k) {
  for (int64_t i = 0; i < k / kQBlock; ++i) {
    const float* xb = x + i * kQBlock;
    if (!BlockIsFinite(xb)) {
      NonFiniteBlock(&y[i]);
      continue;
    }
    float amax = 0.0f;
    float max = 0.0f;  // the value of largest magnitude, sign kept: it maps to 0
    for (int j = 0; j < kQBlock; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].scale = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQBlock / 2; ++j) {
      const int lo = ClampToInt(xb[j] * id + 16.5f, 0, 31);
      const int hi = ClampToInt(xb[j + kQBlock / 2] * id + 16.5f, 0, 31);
      y[i].q[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQBlock / 2);
    }
    StoreHighBits(qh, y[i].qh);
  }
}

void QuantizeRowQ5_1(const float* x, BlockQ5_1* y, int64_t k) {
  for (int64_t i = 0; i < k / kQBlock; ++i) {
    const float* xb = x + i * kQBlock;
    if (!BlockIsFinite(xb)) {
      NonFiniteBlock(&y[i]);
      y[i].min = y[i].scale;
      continue;
    }
    float min, max;
    MinMax(xb, &min, &max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].scale = F32ToF16(d);
    y[i].min = F32ToF16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQBlock / 2; ++j) {
      // ggml truncates without a cap: (max - min) * id + 0.5 stays below 32.
      const int lo = ClampToInt((xb[j] - min) * id + 0.5f, 0, 31);
      const int hi = ClampToInt((xb[j + kQBlock / 2] - min) * id + 0.5f, 0, 31);
      y[i].q[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQBlock / 2);
    }
    StoreHighBits(qh, y[i].qh);
  }
}

bool QuantizeRow(DType type, const float* x, void* dst, int64_t k) {
  uint8_t* out = static_cast<uint8_t*>(dst);
  switch (type) {
    case DType::kF32:
      std::memcpy(out, x, static_cast<size_t>(k) * sizeof(float));
      return true;
    case DType::kF16:
    case DType::kBF16:
      for (int64_t i = 0; i < k; ++i) {
        const uint16_t h = type == DType::kF16 ? F32ToF16(x[i]) : F32ToBF16(x[i]);
        std::memcpy(out + i * 2, &h, 2);
      }
      return true;
    case DType::kQ8_0: QuantizeRowQ8_0(x, static_cast<BlockQ8_0*>(dst), k); return true;
    case DType::kQ4_0: QuantizeRowQ4_0(x, static_cast<BlockQ4_0*>(dst), k); return true;
    case DType::kQ4_1: QuantizeRowQ4_1(x, static_cast<BlockQ4_1*>(dst), k); return true;
    case DType::kQ5_0: QuantizeRowQ5_0(x, static_cast<BlockQ5_0*>(dst), k); return true;
    case DType::kQ5_1: QuantizeRowQ5_1(x, static_cast<BlockQ5_1*>(dst), k); return true;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
      return QuantizeRowK(type, x, dst, k);
    case DType::kI32:
    case DType::kI8:
      return false;
  }
  return false;
}

bool DequantizeRow(DType type, const void* src, float* dst, int64_t k) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(k) * sizeof(float));
      return true;
    case DType::kF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < k; ++i) dst[i] = F16ToF32(s[i]);
      return true;
    }
    case DType::kBF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < k; ++i) dst[i] = BF16ToF32(s[i]);
      return true;
    }
    case DType::kQ8_0: {
      const BlockQ8_0* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < k / kQBlock; ++i) {
        const float d = F16ToF32(b[i].scale);
        for (int j = 0; j < kQBlock; ++j) dst[i * kQBlock + j] = d * b[i].q[j];
      }
      return true;
    }
    case DType::kQ4_0: {
      const BlockQ4_0* b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < k / kQBlock; ++i) {
        const float d = F16ToF32(b[i].scale);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[i * kQBlock + j] = d * ((b[i].q[j] & 0x0f) - 8);
          dst[i * kQBlock + j + kQBlock / 2] = d * ((b[i].q[j] >> 4) - 8);
        }
      }
      return true;
    }
    case DType::kQ4_1: {
      const BlockQ4_1* b = static_cast<const BlockQ4_1*>(src);
      for (int64_t i = 0; i < k / kQBlock; ++i) {
        const float d = F16ToF32(b[i].scale), m = F16ToF32(b[i].min);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[i * kQBlock + j] = static_cast<float>(b[i].q[j] & 0x0f) * d + m;
          dst[i * kQBlock + j + kQBlock / 2] = static_cast<float>(b[i].q[j] >> 4) * d + m;
        }
      }
      return true;
    }
    case DType::kQ5_0:
    case DType::kQ5_1: {
      // Same bit layout; q5_0 is centred (- 16, no minimum), q5_1 has a minimum.
      const bool has_min = type == DType::kQ5_1;
      const size_t block_bytes = has_min ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0);
      for (int64_t i = 0; i < k / kQBlock; ++i) {
        const uint8_t* p = static_cast<const uint8_t*>(src) + static_cast<size_t>(i) * block_bytes;
        uint16_t scale, min = 0;
        std::memcpy(&scale, p, 2);
        if (has_min) std::memcpy(&min, p + 2, 2);
        const uint8_t* qh_bytes = p + (has_min ? 4 : 2);
        const uint8_t* q = qh_bytes + 4;
        const uint32_t qh = LoadHighBits(qh_bytes);
        const float d = F16ToF32(scale), m = F16ToF32(min);
        for (int j = 0; j < kQBlock / 2; ++j) {
          const int v0 = (q[j] & 0x0f) | static_cast<int>((qh >> j) & 1) << 4;
          const int v1 = (q[j] >> 4) | static_cast<int>((qh >> (j + kQBlock / 2)) & 1) << 4;
          if (has_min) {
            dst[i * kQBlock + j] = static_cast<float>(v0) * d + m;
            dst[i * kQBlock + j + kQBlock / 2] = static_cast<float>(v1) * d + m;
          } else {
            dst[i * kQBlock + j] = static_cast<float>(v0 - 16) * d;
            dst[i * kQBlock + j + kQBlock / 2] = static_cast<float>(v1 - 16) * d;
          }
        }
      }
      return true;
    }
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
      return DequantizeRowK(type, src, dst, k);
    case DType::kI32:
    case DType::kI8:
      return false;
  }
  return false;
}

}  // namespace ref
}  // namespace acorn

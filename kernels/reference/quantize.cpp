// Block quantizers, written to match ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref bit for
// bit, so that bundles converted by acorn and GGUF files from llama.cpp hold the same bytes.
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
    case DType::kI32:
    case DType::kI8:
      return false;
  }
  return false;
}

}  // namespace ref
}  // namespace acorn

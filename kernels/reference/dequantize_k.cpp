// Dequantizers for GGUF's K-quants (Q2_K..Q6_K) and IQ4 (IQ4_NL, IQ4_XS), written as ggml's
// dequantize_row_* in ggml-quants.c: the same float operations in the same order, so that the
// floats are equal bit for bit (tests/kernels/k_quants_test.cpp checks this against ggml's own
// output); and the same blocks as 32-element groups for the integer kernels (QuantGroupOf).
// Block layouts are in acorn/dtype.h.
#include <cmath>
#include <cstring>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace ref {

namespace {

void DequantizeQ2_K(const BlockQ2_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i) {
    const float d = F16ToF32(x[i].d);
    const float min = F16ToF32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    // Each 32-byte group of qs serves 128 elements: four passes at shifts 0, 2, 4, 6, each pass
    // two sub-blocks of 16 (bytes 0..15, then 16..31).
    for (int n = 0; n < kQKBlock; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = x[i].scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = min * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
        }
      }
      q += 32;
    }
  }
}

void UnpackQ3_KScales(const uint8_t packed[12], int8_t out[16]) {
  for (int j = 0; j < 16; ++j) out[j] = static_cast<int8_t>(Q3_KScale(packed, j));
}

void DequantizeQ3_K(const BlockQ3_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i) {
    const float d_all = F16ToF32(x[i].d);
    int8_t scales[16];
    UnpackQ3_KScales(x[i].scales, scales);
    const uint8_t* q = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < kQKBlock; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * static_cast<float>(scales[is++] - 32);
          for (int l = 0; l < 16; ++l) {
            const int v = ((q[l + 16 * half] >> shift) & 3) - ((hm[l + 16 * half] & m) ? 0 : 4);
            *y++ = dl * static_cast<float>(v);
          }
        }
        m = static_cast<uint8_t>(m << 1);
      }
      q += 32;
    }
  }
}

}  // namespace

namespace {

// Q4_K and Q5_K: 8 sub-blocks of 32; qs byte l of each 32-byte group holds element l of the even
// sub-block (low nibble) and of the odd one (high nibble); Q5_K's fifth bit of sub-block s sits
// at bit s of qh[l].
void DequantizeQ45_K(const uint8_t* scales_packed, uint16_t d16, uint16_t dmin16, const uint8_t* qs,
                     const uint8_t* qh, float* y) {
  const float d = F16ToF32(d16);
  const float min = F16ToF32(dmin16);
  for (int s = 0; s < 8; s += 2) {
    uint8_t sc, m;
    ScaleMinK4(s, scales_packed, &sc, &m);
    const float d1 = d * sc, m1 = min * m;
    ScaleMinK4(s + 1, scales_packed, &sc, &m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) {
      const int hi = qh ? ((qh[l] >> s) & 1) << 4 : 0;
      *y++ = d1 * static_cast<float>((qs[l] & 0xF) + hi) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int hi = qh ? ((qh[l] >> (s + 1)) & 1) << 4 : 0;
      *y++ = d2 * static_cast<float>((qs[l] >> 4) + hi) - m2;
    }
    qs += 32;
  }
}

void DequantizeQ6_K(const BlockQ6_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i) {
    const float d = F16ToF32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int n = 0; n < kQKBlock; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
        const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        // (d * scale) * q, as ggml's d * sc[is] * q evaluates.
        y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void DequantizeIQ4_NL(const BlockIQ4_NL* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQBlock; ++i) {
    const float d = F16ToF32(x[i].d);
    for (int j = 0; j < kQBlock / 2; ++j) {
      y[j] = d * static_cast<float>(kIQ4Levels[x[i].qs[j] & 0xF]);
      y[j + kQBlock / 2] = d * static_cast<float>(kIQ4Levels[x[i].qs[j] >> 4]);
    }
    y += kQBlock;
  }
}

void DequantizeIQ4_XS(const BlockIQ4_XS* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i) {
    const float d = F16ToF32(x[i].d);
    const uint8_t* qs = x[i].qs;
    for (int ib = 0; ib < kQKBlock / 32; ++ib) {
      const int ls = IQ4_XSScale(x[i], ib);
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kIQ4Levels[qs[j] & 0xF]);
        y[j + 16] = dl * static_cast<float>(kIQ4Levels[qs[j] >> 4]);
      }
      y += 32;
      qs += 16;
    }
  }
}

}  // namespace

bool TakesQ8KActivations(DType wtype) {
  switch (wtype) {
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS: return true;
    default: return false;
  }
}

bool TakesQ8_1Activations(DType wtype) { return wtype == DType::kQ4_1 || wtype == DType::kQ5_1; }

float Q8_1BlockSum(const float* x, const int8_t* q) {
  // Two loops, not one: GCC 12 for aarch64 crashes vectorizing the float max and the integer sum
  // as one loop (internal compiler error in vect_transform_reduction).
  float amax = 0.0f;
  for (int j = 0; j < kQBlock; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  int sum = 0;
  for (int j = 0; j < kQBlock; ++j) sum += q[j];
  const float d = amax / 127;  // ggml's float scale, before its fp16 rounding
  return F16ToF32(F32ToF16(static_cast<float>(sum) * d));
}

bool QuantGroupOf(DType wtype, const uint8_t* row, int64_t g, QuantGroup* out) {
  const int64_t sb = g / 8;  // super-block
  const int s = static_cast<int>(g % 8);  // group within it
  out->min[0] = out->min[1] = 0.0f;
  out->offset = 0;
  switch (wtype) {
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool q5 = wtype == DType::kQ5_K;
      uint16_t d16, dmin16;
      const uint8_t *scales, *qs, *qh = nullptr;
      if (q5) {
        const BlockQ5_K& b = reinterpret_cast<const BlockQ5_K*>(row)[sb];
        d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs, qh = b.qh;
      } else {
        const BlockQ4_K& b = reinterpret_cast<const BlockQ4_K*>(row)[sb];
        d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs;
      }
      uint8_t sc, m;
      ScaleMinK4(s, scales, &sc, &m);
      out->scale[0] = out->scale[1] = F16ToF32(d16) * sc;
      out->min[0] = out->min[1] = F16ToF32(dmin16) * m;
      const uint8_t* q = qs + 32 * (s / 2);  // groups 2p and 2p+1 share 32 bytes: low, high nibbles
      for (int l = 0; l < 32; ++l) {
        const int nibble = s % 2 == 0 ? q[l] & 0xF : q[l] >> 4;
        out->u[l] = static_cast<uint8_t>(nibble | (qh ? ((qh[l] >> s) & 1) << 4 : 0));
      }
      return true;
    }
    case DType::kQ6_K: {
      const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(row)[sb];
      const int half = s / 4, quarter = s % 4;  // 128-element half; which of its four 32-groups
      const uint8_t* ql = b.ql + 64 * half + 32 * (quarter % 2);
      const uint8_t* qh = b.qh + 32 * half;
      for (int l = 0; l < 32; ++l) {
        const int nibble = quarter < 2 ? ql[l] & 0xF : ql[l] >> 4;
        out->u[l] = static_cast<uint8_t>(nibble | ((qh[l] >> (2 * quarter)) & 3) << 4);
      }
      const float d = F16ToF32(b.d);
      out->scale[0] = d * static_cast<float>(b.scales[2 * s]);  // sub-blocks of 16: 2s and 2s + 1
      out->scale[1] = d * static_cast<float>(b.scales[2 * s + 1]);
      out->offset = 32;
      return true;
    }
    case DType::kQ2_K: {
      // Group s: the 32 bytes of qs for its 128-element half, at shift 2 * (s % 4); sub-blocks 2s, 2s+1.
      const BlockQ2_K& b = reinterpret_cast<const BlockQ2_K*>(row)[sb];
      const uint8_t* q = b.qs + 32 * (s / 4);
      for (int l = 0; l < 32; ++l) out->u[l] = static_cast<uint8_t>((q[l] >> (2 * (s % 4))) & 3);
      const float d = F16ToF32(b.d), dmin = F16ToF32(b.dmin);
      for (int h = 0; h < 2; ++h) {
        const uint8_t sc = b.scales[2 * s + h];
        out->scale[h] = d * static_cast<float>(sc & 0xF);
        out->min[h] = dmin * static_cast<float>(sc >> 4);
      }
      return true;
    }
    case DType::kQ3_K: {
      const BlockQ3_K& b = reinterpret_cast<const BlockQ3_K*>(row)[sb];
      int8_t scales[16];
      UnpackQ3_KScales(b.scales, scales);
      const uint8_t* q = b.qs + 32 * (s / 4);
      const uint8_t m = static_cast<uint8_t>(1 << s);  // the high bit of group s: bit s of hmask
      for (int l = 0; l < 32; ++l) {
        out->u[l] = static_cast<uint8_t>(((q[l] >> (2 * (s % 4))) & 3) | ((b.hmask[l] & m) ? 4 : 0));
      }
      const float d = F16ToF32(b.d);
      out->scale[0] = d * static_cast<float>(scales[2 * s] - 32);
      out->scale[1] = d * static_cast<float>(scales[2 * s + 1] - 32);
      out->offset = 4;
      return true;
    }
    case DType::kIQ4_XS: {
      const BlockIQ4_XS& b = reinterpret_cast<const BlockIQ4_XS*>(row)[sb];
      const int ls = IQ4_XSScale(b, s);
      out->scale[0] = out->scale[1] = F16ToF32(b.d) * static_cast<float>(ls - 32);
      const uint8_t* q = b.qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        out->u[j] = static_cast<uint8_t>(kIQ4Levels[q[j] & 0xF] + 128);
        out->u[j + 16] = static_cast<uint8_t>(kIQ4Levels[q[j] >> 4] + 128);
      }
      out->offset = 128;
      return true;
    }
    case DType::kIQ4_NL: {
      const BlockIQ4_NL& b = reinterpret_cast<const BlockIQ4_NL*>(row)[g];
      out->scale[0] = out->scale[1] = F16ToF32(b.d);
      for (int j = 0; j < 16; ++j) {
        out->u[j] = static_cast<uint8_t>(kIQ4Levels[b.qs[j] & 0xF] + 128);
        out->u[j + 16] = static_cast<uint8_t>(kIQ4Levels[b.qs[j] >> 4] + 128);
      }
      out->offset = 128;
      return true;
    }
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1: {
      // Nibbles as Q4_0 (element j low, j + 16 high), Q5's fifth bit of element j at bit j of qh.
      const size_t block_bytes = GetDTypeInfo(wtype).block_bytes;
      const uint8_t* p = row + static_cast<size_t>(g) * block_bytes;
      const bool has_min = wtype != DType::kQ5_0;
      const uint8_t* q = p + block_bytes - kQBlock / 2;
      uint32_t qh = 0;
      if (wtype != DType::kQ4_1) {
        const uint8_t* h = q - 4;
        qh = static_cast<uint32_t>(h[0]) | static_cast<uint32_t>(h[1]) << 8 | static_cast<uint32_t>(h[2]) << 16 |
             static_cast<uint32_t>(h[3]) << 24;
      }
      for (int j = 0; j < 16; ++j) {
        out->u[j] = static_cast<uint8_t>((q[j] & 0xF) | ((qh >> j) & 1) << 4);
        out->u[j + 16] = static_cast<uint8_t>((q[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
      }
      uint16_t d16, m16 = 0;
      std::memcpy(&d16, p, 2);
      if (has_min) std::memcpy(&m16, p + 2, 2);
      out->scale[0] = out->scale[1] = F16ToF32(d16);
      if (has_min) out->min[0] = out->min[1] = -F16ToF32(m16);
      out->offset = has_min ? 0 : 16;
      return true;
    }
    default: return false;
  }
}

bool DequantizeRowK(DType type, const void* src, float* dst, int64_t k) {
  switch (type) {
    case DType::kQ2_K: DequantizeQ2_K(static_cast<const BlockQ2_K*>(src), dst, k); return true;
    case DType::kQ3_K: DequantizeQ3_K(static_cast<const BlockQ3_K*>(src), dst, k); return true;
    case DType::kQ4_K: {
      const BlockQ4_K* b = static_cast<const BlockQ4_K*>(src);
      for (int64_t i = 0; i < k / kQKBlock; ++i) {
        DequantizeQ45_K(b[i].scales, b[i].d, b[i].dmin, b[i].qs, nullptr, dst + i * kQKBlock);
      }
      return true;
    }
    case DType::kQ5_K: {
      const BlockQ5_K* b = static_cast<const BlockQ5_K*>(src);
      for (int64_t i = 0; i < k / kQKBlock; ++i) {
        DequantizeQ45_K(b[i].scales, b[i].d, b[i].dmin, b[i].qs, b[i].qh, dst + i * kQKBlock);
      }
      return true;
    }
    case DType::kQ6_K: DequantizeQ6_K(static_cast<const BlockQ6_K*>(src), dst, k); return true;
    case DType::kIQ4_NL: DequantizeIQ4_NL(static_cast<const BlockIQ4_NL*>(src), dst, k); return true;
    case DType::kIQ4_XS: DequantizeIQ4_XS(static_cast<const BlockIQ4_XS*>(src), dst, k); return true;
    default: return false;
  }
}

}  // namespace ref
}  // namespace acorn

// Quantizers for the K-quants, written to match ggml's quantize_row_q{2,3,4,5,6}_K_ref byte for byte
// (what llama-quantize writes without an importance matrix): the same search for sub-block scales
// and minimums, the same float operations in the same order, and ggml's nearest_int rounding.
// This file is compiled with -ffp-contract=off (CMakeLists.txt): ggml's reference code is built
// without FMA on x86, and a fused multiply-add would round differently.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace ref {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: below it a group is all zero

// ggml's nearest_int: adding 1.5 * 2^23 puts the integer part in the low mantissa bits, so the
// float addition's round-to-nearest-even does the rounding. Valid for |v| <= 2^22 - 1; callers
// pass finite values in that range (blocks holding non-finite values never get here).
int NearestInt(float v) {
  const float shifted = v + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &shifted, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

bool AllFinite(const float* x, int n) {
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
  }
  return true;
}

// The value of largest magnitude (the first such), with its sign: the signed quantizers scale so
// that it maps to -nmax.
float SignedAbsMax(const float* x, int n) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// nearest_int(v) clamped to the signed range [-nmax, nmax) of make_qx_quants / make_q3_quants.
int NearestSigned(float v, int nmax) { return std::max(-nmax, std::min(nmax - 1, NearestInt(v))); }

// One pass of the signed quantizers at `iscale`: the x^2-weighted sums sum(w x l) and sum(w l^2) in
// ggml's order, and each quant l stored as l + offset where L is not null.
void SignedPass(int n, int nmax, const float* x, float iscale, int8_t* L, int offset, float* sumlx, float* suml2) {
  float slx = 0;
  float sl2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestSigned(iscale * x[i], nmax);
    if (L != nullptr) L[i] = static_cast<int8_t>(l + offset);
    const float w = x[i] * x[i];
    const float lf = static_cast<float>(l);
    slx += w * x[i] * lf;
    sl2 += w * lf * lf;
  }
  *sumlx = slx;
  *suml2 = sl2;
}

// ggml's make_qkx2_quants: quants L in [0, nmax] and a scale and minimum (returned as -min in
// *the_min) for n values, searching nstep + 1 candidate scales for the least weighted error.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                     uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float lf = static_cast<float>(l);
      sum_l += w * lf;
      sum_l2 += w * lf * lf;
      sum_xl += w * lf * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights (the only use here, Q6_K):
// signed quants in [-nmax, nmax) stored as L + nmax, and the scale of least x^2-weighted error
// over 19 candidate scales.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  const float max = SignedAbsMax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float sumlx = 0;
  float suml2 = 0;
  SignedPass(n, nmax, x, -static_cast<float>(nmax) / max, L, nmax, &sumlx, &suml2);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    SignedPass(n, nmax, x, iscale, nullptr, 0, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + NearestSigned(iscale * x[i], nmax));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// ggml's make_q3_quants with do_rmse (Q3_K): signed quants in [-nmax, nmax) stored as L + nmax,
// refined by up to 5 passes that move single quants where that lowers the x^2-weighted error.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = SignedAbsMax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float sumlx = 0;
  float suml2 = 0;
  SignedPass(n, nmax, x, -static_cast<float>(nmax) / max, L, 0, &sumlx, &suml2);
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx > 0) {
        float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
        const int new_l = NearestSigned(x[i] * sl2 / slx, nmax);
        if (new_l != L[i]) {
          slx += w * x[i] * static_cast<float>(new_l);
          sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Q4_K and Q5_K share everything but the number of levels (nmax 15 or 31) and the search
// parameters: 8 sub-blocks of 32 get a scale and a minimum each, themselves quantized to 6 bits
// against the block's largest (d, dmin), then every value is requantized with the 6-bit pair.
void QuantizeQ45_K(const float* x, int nmax, float rmin, int nstep, uint16_t* d_out, uint16_t* dmin_out,
                   uint8_t scales_out[kKScaleBytes], uint8_t L[kQKBlock]) {
  uint8_t Laux[32];
  float weights[32];
  float mins[8];
  float scales[8];
  float max_scale = 0;
  float max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(scales_out, 0, kKScaleBytes);
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int's result in a uint8_t before capping it.
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
    if (j < 4) {
      scales_out[j] = ls;
      scales_out[j + 4] = lm;
    } else {
      scales_out[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      scales_out[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      scales_out[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *d_out = F32ToF16(max_scale / 63.f);
  *dmin_out = F32ToF16(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    ScaleMinK4(j, scales_out, &sc, &m);
    const float d = F16ToF32(*d_out) * sc;
    if (d == 0.0f) continue;  // ggml keeps the search's quants for this sub-block
    const float dm = F16ToF32(*dmin_out) * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = NearestInt((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// A block holding NaN or infinity has no meaningful scales (ggml's rounding trick is undefined
// there): stored with NaN scales and zero quants, so that it dequantizes to NaN and the
// non-finite input stays visible, as the legacy types do.
template <class Block>
void NonFiniteKBlock(Block* b) {
  std::memset(b, 0, sizeof *b);
  b->d = F32ToF16(std::numeric_limits<float>::quiet_NaN());
}

}  // namespace

void QuantizeRowQ4_K(const float* x, BlockQ4_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      NonFiniteKBlock(&y[i]);
      continue;
    }
    uint8_t L[kQKBlock];
    QuantizeQ45_K(x, 15, -1.0f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
    uint8_t* q = y[i].qs;
    for (int j = 0; j < kQKBlock; j += 64, q += 32) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    }
  }
}

void QuantizeRowQ5_K(const float* x, BlockQ5_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      NonFiniteKBlock(&y[i]);
      continue;
    }
    uint8_t L[kQKBlock];
    QuantizeQ45_K(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    uint8_t* ql = y[i].qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQKBlock; n += 64, ql += 32) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          y[i].qh[j] |= m1;
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          y[i].qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
    }
  }
}

void QuantizeRowQ6_K(const float* x, BlockQ6_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      NonFiniteKBlock(&y[i]);
      continue;
    }
    int8_t L[kQKBlock];
    float scales[16];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const float scale = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof y[i]);
      y[i].d = F32ToF16(0.0f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = F32ToF16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
      y[i].scales[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
    }
    for (int j = 0; j < 16; ++j) {
      const float d = F16ToF32(y[i].d) * y[i].scales[j];
      if (d == 0.0f) continue;  // ggml keeps the search's quants for this sub-block
      for (int ii = 0; ii < 16; ++ii) {
        int l = NearestInt(x[16 * j + ii] / d);
        l = std::max(-32, std::min(31, l));
        L[16 * j + ii] = static_cast<int8_t>(l + 32);
      }
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < kQKBlock; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
    }
  }
}

void QuantizeRowQ8_K(const float* x, int8_t* q, float* d, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock, q += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      d[i] = std::numeric_limits<float>::quiet_NaN();
      std::memset(q, 0, kQKBlock);
      continue;
    }
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kQKBlock; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      d[i] = 0;
      std::memset(q, 0, kQKBlock);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQKBlock; ++j) q[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[j])));
    d[i] = 1 / iscale;
  }
}

void QuantizeRowQ2_K(const float* x, BlockQ2_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      NonFiniteKBlock(&y[i]);
      continue;
    }
    uint8_t L[kQKBlock];
    uint8_t Laux[16];
    float weights[16];
    float mins[16];
    float scales[16];
    const float q4scale = 15.f;
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      y[i].d = F32ToF16(max_scale / q4scale);
    } else {
      for (int j = 0; j < 16; ++j) y[i].scales[j] = 0;
      y[i].d = F32ToF16(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < 16; ++j) {
        y[i].scales[j] = static_cast<uint8_t>(y[i].scales[j] | (NearestInt(iscale * mins[j]) << 4));
      }
      y[i].dmin = F32ToF16(max_min / q4scale);
    } else {
      y[i].dmin = F32ToF16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = F16ToF32(y[i].d) * static_cast<float>(y[i].scales[j] & 0xF);
      if (d == 0.0f) continue;  // ggml keeps the search's quants for this sub-block
      const float dm = F16ToF32(y[i].dmin) * static_cast<float>(y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
      }
    }
    for (int j = 0; j < kQKBlock; j += 128) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[j / 4 + l] =
            static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
      }
    }
  }
}

void QuantizeRowQ3_K(const float* x, BlockQ3_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKBlock; ++i, x += kQKBlock) {
    if (!AllFinite(x, kQKBlock)) {
      NonFiniteKBlock(&y[i]);
      continue;
    }
    int8_t L[kQKBlock];
    float scales[16];
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        // ggml keeps nearest_int's result in an int8_t before clamping it.
        int l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        l = std::max(-32, std::min(31, l)) + 32;
        if (j < 8) {
          y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          y[i].scales[j - 8] = static_cast<uint8_t>(y[i].scales[j - 8] | ((l & 0xF) << 4));
        }
        l >>= 4;
        y[i].scales[j % 4 + 8] = static_cast<uint8_t>(y[i].scales[j % 4 + 8] | (l << (2 * (j / 4))));
      }
      y[i].d = F32ToF16(1 / iscale);
    } else {
      y[i].d = F32ToF16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      int sc = j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4;
      sc = (sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
      const float d = F16ToF32(y[i].d) * static_cast<float>(sc);
      if (d == 0.0f) continue;  // ggml keeps the search's quants for this sub-block
      for (int ii = 0; ii < 16; ++ii) {
        int l = NearestInt(x[16 * j + ii] / d);
        l = std::max(-4, std::min(3, l));
        L[16 * j + ii] = static_cast<int8_t>(l + 4);
      }
    }
    // The high bit of element j goes to bit j / 32 of hmask[j % 32].
    std::memset(y[i].hmask, 0, sizeof y[i].hmask);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < kQKBlock; ++j) {
      if (L[j] > 3) {
        y[i].hmask[m] = static_cast<uint8_t>(y[i].hmask[m] | hm);
        L[j] = static_cast<int8_t>(L[j] - 4);
      }
      if (++m == kQKBlock / 8) {
        m = 0;
        hm = static_cast<uint8_t>(hm << 1);
      }
    }
    for (int j = 0; j < kQKBlock; j += 128) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[j / 4 + l] =
            static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
      }
    }
  }
}

bool QuantizeRowK(DType type, const float* x, void* dst, int64_t k) {
  switch (type) {
    case DType::kQ2_K: QuantizeRowQ2_K(x, static_cast<BlockQ2_K*>(dst), k); return true;
    case DType::kQ3_K: QuantizeRowQ3_K(x, static_cast<BlockQ3_K*>(dst), k); return true;
    case DType::kQ4_K: QuantizeRowQ4_K(x, static_cast<BlockQ4_K*>(dst), k); return true;
    case DType::kQ5_K: QuantizeRowQ5_K(x, static_cast<BlockQ5_K*>(dst), k); return true;
    case DType::kQ6_K: QuantizeRowQ6_K(x, static_cast<BlockQ6_K*>(dst), k); return true;
    default: return false;
  }
}

}  // namespace ref
}  // namespace acorn

// Weights repacked in 16-row panels (matmul_panels.h, cpu_kernels.h), multiplied with the ARMv8.2
// int8 dot product (SDOT; compiled with -march=armv8.2-a+dotprod only, chosen at run time; the
// i8mm set uses it too). The panel layout is SDOT's own: each 32-bit lane of a 16-byte register
// holds 4 consecutive quants of one row, so one SDOT against a token's 4 activations broadcast
// gives 4 rows' partial sums with no horizontal adds. A 64-byte panel vector is 4 registers; one
// pass takes rows 0..7, a second rows 8..15, so that 4 tokens of accumulators fit the 32 vector
// registers (as matmul_panels_avx2.cpp). The quants are signed (q8_0) or unsigned and at most 63,
// both exact as int8; offsets and minimums as in the AVX-512 kernels.
#include "matmul_internal.h"

#if defined(ACORN_ARM64_KERNELS) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

#include <cstring>

#include "matmul_panels.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

constexpr int kTokens = kRowPanelTokensNeon;

// 8 rows: two registers of 4 rows each.
struct Rows8 {
  int8x16_t r[2];
};

inline Rows8 Load8(const uint8_t* p) {
  return {{vreinterpretq_s8_u8(vld1q_u8(p)), vreinterpretq_s8_u8(vld1q_u8(p + 16))}};
}

struct Acc8 {
  int32x4_t r[2];
};

inline void Dot(Acc8* acc, const Rows8& w, int32_t x4) {
  const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(x4));
  acc->r[0] = vdotq_s32(acc->r[0], w.r[0], x);
  acc->r[1] = vdotq_s32(acc->r[1], w.r[1], x);
}

// 16 at each byte whose bit is set in m (bit b: byte b), for the 32 bytes of a half.
inline Rows8 FifthBits(uint32_t m) {
  static const uint8_t kSpread[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                      2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(m));
  const uint8x16_t bit = vld1q_u8(kBit), sixteen = vdupq_n_u8(16);
  Rows8 out;
  for (int i = 0; i < 2; ++i) {
    const uint8x16_t v = vqtbl1q_u8(bytes, vld1q_u8(kSpread + 16 * i));
    out.r[i] = vreinterpretq_s8_u8(vandq_u8(vtstq_u8(v, bit), sixteen));
  }
  return out;
}

inline uint32_t MaskHalf(const uint8_t* masks, int i, int h) {
  uint32_t m;
  std::memcpy(&m, masks + 8 * i + 4 * h, 4);
  return m;
}

inline Rows8 Nibbles(const Rows8& v, bool high) {
  Rows8 out;
  for (int i = 0; i < 2; ++i) {
    const uint8x16_t u = vreinterpretq_u8_s8(v.r[i]);
    out.r[i] = vreinterpretq_s8_u8(high ? vshrq_n_u8(u, 4) : vandq_u8(u, vdupq_n_u8(0x0f)));
  }
  return out;
}

inline Rows8 Or(const Rows8& a, const Rows8& b) {
  return {{vorrq_s8(a.r[0], b.r[0]), vorrq_s8(a.r[1], b.r[1])}};
}

// 8 fp16 scales as two float vectors (rows 0..3, 4..7 of the half).
struct Scales8 {
  float32x4_t r[2];
};

inline Scales8 HalfScales(const uint8_t* p) {
  const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(p));
  return {{vcvt_f32_f16(vget_low_f16(h)), vcvt_high_f32_f16(h)}};
}

inline Scales8 Bytes8(const uint8_t* p, bool is_signed, const Scales8& d) {
  const uint8x8_t b = vld1_u8(p);
  int32x4_t lo, hi;
  if (is_signed) {
    const int16x8_t w = vmovl_s8(vreinterpret_s8_u8(b));
    lo = vmovl_s16(vget_low_s16(w));
    hi = vmovl_high_s16(w);
  } else {
    const uint16x8_t w = vmovl_u8(b);
    lo = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(w)));
    hi = vreinterpretq_s32_u32(vmovl_high_u16(w));
  }
  return {{vmulq_f32(d.r[0], vcvtq_f32_s32(lo)), vmulq_f32(d.r[1], vcvtq_f32_s32(hi))}};
}

struct FAcc8 {
  float32x4_t r[2];
};

// acc += float(ai) * scale * xd
inline void Scale(FAcc8* acc, const Acc8& ai, const Scales8& s, float xd) {
  for (int i = 0; i < 2; ++i) acc->r[i] = vfmaq_f32(acc->r[i], vcvtq_f32_s32(ai.r[i]), vmulq_n_f32(s.r[i], xd));
}

// acc += sign * m * xs
inline void AddMin(FAcc8* acc, const Scales8& m, float xs) {
  for (int i = 0; i < 2; ++i) acc->r[i] = vfmaq_n_f32(acc->r[i], m.r[i], xs);
}

struct HalfOut {
  float* y;
  int64_t ldy;
  int rows;
  const float* bias;  // rows of this half, or null
};

template <int Cg>
inline void Store(const HalfOut& o, const FAcc8 (&acc)[Cg]) {
  for (int c = 0; c < Cg; ++c) {
    float v[8];
    vst1q_f32(v, acc[c].r[0]);
    vst1q_f32(v + 4, acc[c].r[1]);
    for (int r = 0; r < o.rows; ++r) o.y[c * o.ldy + r] = v[r] + (o.bias ? o.bias[r] : 0.0f);
  }
}

inline Acc8 Init(int32_t v) { return {{vdupq_n_s32(v), vdupq_n_s32(v)}}; }

// The 32-column types (RowPanelGroup): q8_0, q4_0, Q4_1, Q5_0, Q5_1; half h of each vector.
template <int Cg, DType kType>
void TileGroups(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, const HalfOut& o) {
  constexpr RowPanelGroup kLay = RowPanelGroupOf(kType);
  constexpr bool kQ8 = kType == DType::kQ8_0, kMin = kLay.min_at >= 0, kHigh = kLay.masks_at >= 0;
  constexpr size_t kGroupBytes = kQ8 ? 544 : static_cast<size_t>(kLay.quants_at) + 256;
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * S;
  const int32_t* xc = x.corr + t0 * S;
  const float* xs_min = kMin ? x.dsum + t0 * S : nullptr;
  FAcc8 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c].r[0] = acc[c].r[1] = vdupq_n_f32(0.0f);
  for (int64_t s = 0; s < S; ++s) {
    const uint8_t* g = panel + s * kGroupBytes;
    Acc8 ai[Cg];
    for (int c = 0; c < Cg; ++c) {
      // corr = -128 * sum(x): offset 8 (q4_0) is corr / 16, 16 (Q5_0) corr / 8; signed q8_0 and
      // the types with a minimum need none.
      const int32_t corr = xc[s * Cg + c];
      ai[c] = Init(kLay.offset == 8 ? corr / 16 : kLay.offset == 16 ? corr / 8 : 0);
    }
    const int32_t* xs = xq + s * 8 * Cg;
    const uint8_t* qs = g + kLay.quants_at + 32 * h;
    if (kQ8) {
      for (int j = 0; j < 8; ++j) {
        const Rows8 w = Load8(qs + 64 * j);
        for (int c = 0; c < Cg; ++c) Dot(&ai[c], w, xs[j * Cg + c]);
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        const Rows8 v = Load8(qs + 64 * j);
        Rows8 lo = Nibbles(v, false), hi = Nibbles(v, true);
        if (kHigh) {
          lo = Or(lo, FifthBits(MaskHalf(g + kLay.masks_at, j, h)));
          hi = Or(hi, FifthBits(MaskHalf(g + kLay.masks_at, 4 + j, h)));
        }
        for (int c = 0; c < Cg; ++c) {
          Dot(&ai[c], lo, xs[j * Cg + c]);
          Dot(&ai[c], hi, xs[(4 + j) * Cg + c]);
        }
      }
    }
    const Scales8 sv = HalfScales(g + 16 * h);
    for (int c = 0; c < Cg; ++c) Scale(&acc[c], ai[c], sv, xd[s * Cg + c]);
    if (kMin) {
      const Scales8 mv = HalfScales(g + kLay.min_at + 16 * h);
      for (int c = 0; c < Cg; ++c) AddMin(&acc[c], mv, xs_min[s * Cg + c]);
    }
  }
  Store<Cg>(o, acc);
}

// Q4_K and Q5_K (kQ5): per pair of groups, low nibbles the first group, high ones the second.
template <int Cg, bool kQ5>
void TileQ4KQ5K(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, const HalfOut& o) {
  constexpr size_t kUnitBytes = 64 + 256 + 4 * 512 + (kQ5 ? 512 : 0);
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * S;
  const float* xs = x.dsum + t0 * S;
  FAcc8 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c].r[0] = acc[c].r[1] = vdupq_n_f32(0.0f);
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    const Scales8 dv = HalfScales(u + 16 * h);
    const Scales8 mv = HalfScales(u + 32 + 16 * h);
    for (int pair = 0; pair < 4; ++pair) {
      Acc8 a0[Cg], a1[Cg];
      for (int c = 0; c < Cg; ++c) a0[c] = a1[c] = Init(0);
      const int64_t g0 = sb * 8 + 2 * pair;
      const int32_t* x0 = xq + g0 * 8 * Cg;
      const int32_t* x1 = x0 + 8 * Cg;
      for (int j = 0; j < 8; ++j) {
        const Rows8 v = Load8(u + 320 + pair * 512 + 64 * j + 32 * h);
        Rows8 lo = Nibbles(v, false), hi = Nibbles(v, true);
        if (kQ5) {
          lo = Or(lo, FifthBits(MaskHalf(u + 2368, (8 * pair + j) * 2, h)));
          hi = Or(hi, FifthBits(MaskHalf(u + 2368, (8 * pair + j) * 2 + 1, h)));
        }
        for (int c = 0; c < Cg; ++c) {
          Dot(&a0[c], lo, x0[j * Cg + c]);
          Dot(&a1[c], hi, x1[j * Cg + c]);
        }
      }
      for (int hg = 0; hg < 2; ++hg) {
        const int g = 2 * pair + hg;
        const Scales8 scale = Bytes8(u + 64 + 16 * g + 8 * h, false, dv);
        const Scales8 min = Bytes8(u + 192 + 16 * g + 8 * h, false, mv);
        const int64_t gg = g0 + hg;
        for (int c = 0; c < Cg; ++c) {
          Scale(&acc[c], hg == 0 ? a0[c] : a1[c], scale, xd[gg * Cg + c]);
          AddMin(&acc[c], min, -xs[gg * Cg + c]);
        }
      }
    }
  }
  Store<Cg>(o, acc);
}

// Q6_K: 6-bit quants from the low-nibble plane and the 2-bit plane (u - 32: init is the
// correction / 4 per half of 16), each half its own scale; activations in groups of 16.
template <int Cg>
void TileQ6K(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, const HalfOut& o) {
  constexpr size_t kUnitBytes = 32 + 256 + 4 * 512 + 2 * 512;
  const int64_t Sa = x.K / x.G;
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * Sa;
  const int32_t* xc = x.corr + t0 * Sa;
  FAcc8 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c].r[0] = acc[c].r[1] = vdupq_n_f32(0.0f);
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    const Scales8 dv = HalfScales(u + 16 * h);
    for (int g = 0; g < 8; ++g) {
      const int64_t gg = sb * 8 + g;
      Acc8 a0[Cg], a1[Cg];
      for (int c = 0; c < Cg; ++c) {
        a0[c] = Init(xc[(2 * gg) * Cg + c] / 4);
        a1[c] = Init(xc[(2 * gg + 1) * Cg + c] / 4);
      }
      const int32_t* xg = xq + gg * 8 * Cg;
      const uint8_t* lo_plane = u + 288 + (g / 2) * 512 + 32 * h;
      const uint8_t* hi_plane = u + 2336 + (g / 4) * 512 + 32 * h;
      const int8x16_t lo_shift = vdupq_n_s8(static_cast<int8_t>(-4 * (g % 2)));
      const int8x16_t hi_shift = vdupq_n_s8(static_cast<int8_t>(-2 * (g % 4)));
      for (int j = 0; j < 8; ++j) {
        const Rows8 lv = Load8(lo_plane + 64 * j), hv = Load8(hi_plane + 64 * j);
        Rows8 q;
        for (int i = 0; i < 2; ++i) {
          const uint8x16_t lo = vandq_u8(vshlq_u8(vreinterpretq_u8_s8(lv.r[i]), lo_shift), vdupq_n_u8(0x0f));
          const uint8x16_t hi = vandq_u8(vshlq_u8(vreinterpretq_u8_s8(hv.r[i]), hi_shift), vdupq_n_u8(0x03));
          q.r[i] = vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4)));
        }
        for (int c = 0; c < Cg; ++c) Dot(j < 4 ? &a0[c] : &a1[c], q, xg[j * Cg + c]);
      }
      const Scales8 s0 = Bytes8(u + 32 + 32 * g + 8 * h, true, dv);
      const Scales8 s1 = Bytes8(u + 48 + 32 * g + 8 * h, true, dv);
      for (int c = 0; c < Cg; ++c) {
        Scale(&acc[c], a0[c], s0, xd[(2 * gg) * Cg + c]);
        Scale(&acc[c], a1[c], s1, xd[(2 * gg + 1) * Cg + c]);
      }
    }
  }
  Store<Cg>(o, acc);
}

template <int Cg, DType kType>
void Tile(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, const HalfOut& o) {
  if (kType == DType::kQ4_K || kType == DType::kQ5_K) {
    TileQ4KQ5K<Cg, kType == DType::kQ5_K>(panel, x, t0, S, h, o);
  } else if (kType == DType::kQ6_K) {
    TileQ6K<Cg>(panel, x, t0, S, h, o);
  } else {
    TileGroups<Cg, kType>(panel, x, t0, S, h, o);
  }
}

template <DType kType>
void RowPanelsOf(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1) {
  const int64_t S = a.K / kQBlock;
  const size_t panel_bytes = static_cast<size_t>(a.K / RowPanelUnitElems(kType)) * RowPanelUnitBytes(kType);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p * kPanelRows;
    const int rows = static_cast<int>(a.N - n < kPanelRows ? a.N - n : kPanelRows);
    const uint8_t* panel = a.w + p * panel_bytes;
    for (int64_t t0 = 0; t0 < a.T; t0 += kTokens) {
      const int cg = static_cast<int>(a.T - t0 < kTokens ? a.T - t0 : kTokens);
      for (int h = 0; h < 2 && 8 * h < rows; ++h) {
        HalfOut o;
        o.y = a.y + t0 * a.N + n + 8 * h;
        o.ldy = a.N;
        o.rows = rows - 8 * h < 8 ? rows - 8 * h : 8;
        o.bias = a.bias ? a.bias + n + 8 * h : nullptr;
        switch (cg) {
          case 1: Tile<1, kType>(panel, x, t0, S, h, o); break;
          case 2: Tile<2, kType>(panel, x, t0, S, h, o); break;
          case 3: Tile<3, kType>(panel, x, t0, S, h, o); break;
          default: Tile<4, kType>(panel, x, t0, S, h, o); break;
        }
      }
    }
  }
}

}  // namespace

void RowPanelsDotprod(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch) {
  (void)scratch;  // reads the panels as stored
  switch (a.wtype) {
    case DType::kQ4_0: RowPanelsOf<DType::kQ4_0>(a, x, p0, p1); break;
    case DType::kQ4_1: RowPanelsOf<DType::kQ4_1>(a, x, p0, p1); break;
    case DType::kQ5_0: RowPanelsOf<DType::kQ5_0>(a, x, p0, p1); break;
    case DType::kQ5_1: RowPanelsOf<DType::kQ5_1>(a, x, p0, p1); break;
    case DType::kQ4_K: RowPanelsOf<DType::kQ4_K>(a, x, p0, p1); break;
    case DType::kQ5_K: RowPanelsOf<DType::kQ5_K>(a, x, p0, p1); break;
    case DType::kQ6_K: RowPanelsOf<DType::kQ6_K>(a, x, p0, p1); break;
    default: RowPanelsOf<DType::kQ8_0>(a, x, p0, p1); break;
  }
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

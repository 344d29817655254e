// Weights repacked in 16-row panels (matmul_panels.h, cpu_kernels.h), multiplied with AVX2 + FMA +
// F16C: the arithmetic of the AVX-512 panel kernels on 256-bit vectors. Each 64-byte panel vector
// holds 4 bytes of each of 16 rows; one pass takes its first 32 bytes (rows 0..7), a second pass
// its last 32 (rows 8..15), so that 4 tokens of integer and float accumulators fit the 16 ymm
// registers. Without VNNI, u8 x s8 products go through maddubs (pairs into int16) and madd (into
// int32): the 4-, 5- and 6-bit quants are unsigned and at most 63, so 2 * 63 * 127 cannot
// saturate int16; q8_0's signed quants take |w| against x with w's sign (at most 2 * 128 * 127).
// The passes read a panel twice: its second pass finds it in L1 or L2.
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
#include <immintrin.h>

#include <cstring>

#include "matmul_panels.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

constexpr int kTokens = kRowPanelTokensAvx2;
constexpr uintptr_t kPrefetch = 4096;

inline __m256i Dot(__m256i acc, __m256i u, __m256i s) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

// 16 at each byte whose bit is set in m (bit b: byte b).
inline __m256i FifthBits(uint32_t m) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(m)), spread);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

inline uint32_t MaskHalf(const uint8_t* masks, int i, int h) {
  uint32_t m;
  std::memcpy(&m, masks + 8 * i + 4 * h, 4);
  return m;
}

inline __m256 HalfScales(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline void Prefetch(const uint8_t* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + kPrefetch + off), _MM_HINT_T0);
  }
}

// Where a half's outputs go: rows of y at stride ldy, `rows` of the 8 valid, bias added.
struct HalfOut {
  float* y;
  int64_t ldy;
  int rows;
  __m256 bias;
};

template <int Cg>
inline void Store(const HalfOut& o, const __m256 (&acc)[Cg]) {
  alignas(32) static const int32_t kLanes[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(o.rows), _mm256_load_si256(reinterpret_cast<const __m256i*>(kLanes)));
  for (int c = 0; c < Cg; ++c) {
    const __m256 v = _mm256_add_ps(acc[c], o.bias);
    if (o.rows == 8) {
      _mm256_storeu_ps(o.y + c * o.ldy, v);
    } else {
      _mm256_maskstore_ps(o.y + c * o.ldy, mask, v);
    }
  }
}

// The 32-column types (RowPanelGroup): q8_0, q4_0, Q4_1, Q5_0, Q5_1; half h of each vector.
template <int Cg, DType kType>
void TileGroups(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, bool prefetch,
                const HalfOut& o) {
  constexpr RowPanelGroup kLay = RowPanelGroupOf(kType);
  constexpr bool kQ8 = kType == DType::kQ8_0, kMin = kLay.min_at >= 0, kHigh = kLay.masks_at >= 0;
  constexpr size_t kGroupBytes = kQ8 ? 544 : static_cast<size_t>(kLay.quants_at) + 256;
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * S;
  const int32_t* xc = x.corr + t0 * S;
  const float* xs_min = kMin ? x.dsum + t0 * S : nullptr;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < S; ++s) {
    const uint8_t* g = panel + s * kGroupBytes;
    if (prefetch) Prefetch(g, kGroupBytes);
    __m256i ai[Cg];
    for (int c = 0; c < Cg; ++c) {
      // corr = -128 * sum(x): offset 8 (q4_0) is corr / 16, 16 (Q5_0) corr / 8; q8_0's sign trick
      // and the types with a minimum need none.
      const __m256i corr = _mm256_set1_epi32(xc[s * Cg + c]);
      ai[c] = kLay.offset == 8    ? _mm256_srai_epi32(corr, 4)
              : kLay.offset == 16 ? _mm256_srai_epi32(corr, 3)
                                  : _mm256_setzero_si256();
    }
    const int32_t* xs = xq + s * 8 * Cg;
    const uint8_t* qs = g + kLay.quants_at + 32 * h;
    if (kQ8) {
      for (int j = 0; j < 8; ++j) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * j));
        const __m256i aw = _mm256_abs_epi8(w);
        for (int c = 0; c < Cg; ++c) ai[c] = Dot(ai[c], aw, _mm256_sign_epi8(_mm256_set1_epi32(xs[j * Cg + c]), w));
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * j));
        __m256i lo = _mm256_and_si256(v, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        if (kHigh) {
          lo = _mm256_or_si256(lo, FifthBits(MaskHalf(g + kLay.masks_at, j, h)));
          hi = _mm256_or_si256(hi, FifthBits(MaskHalf(g + kLay.masks_at, 4 + j, h)));
        }
        for (int c = 0; c < Cg; ++c) {
          ai[c] = Dot(ai[c], lo, _mm256_set1_epi32(xs[j * Cg + c]));
          ai[c] = Dot(ai[c], hi, _mm256_set1_epi32(xs[(4 + j) * Cg + c]));
        }
      }
    }
    const __m256 sv = HalfScales(g + 16 * h);
    for (int c = 0; c < Cg; ++c) {
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ai[c]), _mm256_mul_ps(sv, _mm256_set1_ps(xd[s * Cg + c])), acc[c]);
    }
    if (kMin) {
      const __m256 mv = HalfScales(g + kLay.min_at + 16 * h);
      for (int c = 0; c < Cg; ++c) acc[c] = _mm256_fmadd_ps(mv, _mm256_set1_ps(xs_min[s * Cg + c]), acc[c]);
    }
  }
  Store<Cg>(o, acc);
}

// Q4_K and Q5_K (kQ5): per super-block and pair of groups, the low nibbles of each vector belong
// to the first group and the high ones to the second; scale d * sc and minimum dmin * m per group.
template <int Cg, bool kQ5>
void TileQ4KQ5K(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, bool prefetch,
                const HalfOut& o) {
  constexpr size_t kUnitBytes = 64 + 256 + 4 * 512 + (kQ5 ? 512 : 0);
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * S;
  const float* xs = x.dsum + t0 * S;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    if (prefetch) Prefetch(u, kUnitBytes);
    const __m256 dv = HalfScales(u + 16 * h);
    const __m256 mv = HalfScales(u + 32 + 16 * h);
    for (int pair = 0; pair < 4; ++pair) {
      __m256i a0[Cg], a1[Cg];
      for (int c = 0; c < Cg; ++c) a0[c] = a1[c] = _mm256_setzero_si256();
      const int64_t g0 = sb * 8 + 2 * pair;
      const int32_t* x0 = xq + g0 * 8 * Cg;
      const int32_t* x1 = x0 + 8 * Cg;
      for (int j = 0; j < 8; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 320 + pair * 512 + 64 * j + 32 * h));
        __m256i lo = _mm256_and_si256(v, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        if (kQ5) {
          lo = _mm256_or_si256(lo, FifthBits(MaskHalf(u + 2368, (8 * pair + j) * 2, h)));
          hi = _mm256_or_si256(hi, FifthBits(MaskHalf(u + 2368, (8 * pair + j) * 2 + 1, h)));
        }
        for (int c = 0; c < Cg; ++c) {
          a0[c] = Dot(a0[c], lo, _mm256_set1_epi32(x0[j * Cg + c]));
          a1[c] = Dot(a1[c], hi, _mm256_set1_epi32(x1[j * Cg + c]));
        }
      }
      for (int hg = 0; hg < 2; ++hg) {
        const int g = 2 * pair + hg;
        auto bytes8 = [&](size_t at) {
          return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(u + at))));
        };
        const __m256 scale = _mm256_mul_ps(dv, bytes8(64 + 16 * g + 8 * h));
        const __m256 min = _mm256_mul_ps(mv, bytes8(192 + 16 * g + 8 * h));
        const int64_t gg = g0 + hg;
        for (int c = 0; c < Cg; ++c) {
          const __m256i ai = hg == 0 ? a0[c] : a1[c];
          acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ai), _mm256_mul_ps(scale, _mm256_set1_ps(xd[gg * Cg + c])), acc[c]);
          acc[c] = _mm256_fnmadd_ps(min, _mm256_set1_ps(xs[gg * Cg + c]), acc[c]);
        }
      }
    }
  }
  Store<Cg>(o, acc);
}

// Q6_K: each group's 6-bit quants from the low-nibble plane and the 2-bit plane (u - 32: init is
// the correction / 4 per half of 16), each half its own scale d * sc; activations in groups of 16.
template <int Cg>
void TileQ6K(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, bool prefetch,
             const HalfOut& o) {
  constexpr size_t kUnitBytes = 32 + 256 + 4 * 512 + 2 * 512;
  const int64_t Sa = x.K / x.G;  // groups of 16
  const int32_t* xq = x.q + t0 * (x.K / 4);
  const float* xd = x.d + t0 * Sa;
  const int32_t* xc = x.corr + t0 * Sa;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  __m256 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    if (prefetch) Prefetch(u, kUnitBytes);
    const __m256 dv = HalfScales(u + 16 * h);
    for (int g = 0; g < 8; ++g) {
      const int64_t gg = sb * 8 + g;
      __m256i a0[Cg], a1[Cg];
      for (int c = 0; c < Cg; ++c) {
        a0[c] = _mm256_srai_epi32(_mm256_set1_epi32(xc[(2 * gg) * Cg + c]), 2);
        a1[c] = _mm256_srai_epi32(_mm256_set1_epi32(xc[(2 * gg + 1) * Cg + c]), 2);
      }
      const int32_t* xg = xq + gg * 8 * Cg;
      const uint8_t* lo_plane = u + 288 + (g / 2) * 512 + 32 * h;
      const uint8_t* hi_plane = u + 2336 + (g / 4) * 512 + 32 * h;
      const __m128i lo_shift = _mm_cvtsi32_si128(4 * (g % 2));
      const __m128i hi_shift = _mm_cvtsi32_si128(2 * (g % 4));
      for (int j = 0; j < 8; ++j) {
        const __m256i lo = _mm256_and_si256(
            _mm256_srl_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo_plane + 64 * j)), lo_shift), low4);
        const __m256i hi = _mm256_and_si256(
            _mm256_srl_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi_plane + 64 * j)), hi_shift), low2);
        const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
        for (int c = 0; c < Cg; ++c) {
          if (j < 4) {
            a0[c] = Dot(a0[c], q, _mm256_set1_epi32(xg[j * Cg + c]));
          } else {
            a1[c] = Dot(a1[c], q, _mm256_set1_epi32(xg[j * Cg + c]));
          }
        }
      }
      auto scales8 = [&](size_t at) {
        return _mm256_mul_ps(
            dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(u + at)))));
      };
      const __m256 s0 = scales8(32 + 32 * g + 8 * h);
      const __m256 s1 = scales8(48 + 32 * g + 8 * h);
      for (int c = 0; c < Cg; ++c) {
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a0[c]), _mm256_mul_ps(s0, _mm256_set1_ps(xd[(2 * gg) * Cg + c])), acc[c]);
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a1[c]), _mm256_mul_ps(s1, _mm256_set1_ps(xd[(2 * gg + 1) * Cg + c])), acc[c]);
      }
    }
  }
  Store<Cg>(o, acc);
}

template <int Cg, DType kType>
void Tile(const uint8_t* panel, const PanelActivations& x, int64_t t0, int64_t S, int h, bool prefetch,
          const HalfOut& o) {
  if (kType == DType::kQ4_K || kType == DType::kQ5_K) {
    TileQ4KQ5K<Cg, kType == DType::kQ5_K>(panel, x, t0, S, h, prefetch, o);
  } else if (kType == DType::kQ6_K) {
    TileQ6K<Cg>(panel, x, t0, S, h, prefetch, o);
  } else {
    TileGroups<Cg, kType>(panel, x, t0, S, h, prefetch, o);
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
        alignas(32) float bias[8] = {};
        for (int r = 0; a.bias && r < o.rows; ++r) bias[r] = a.bias[n + 8 * h + r];
        o.bias = _mm256_load_ps(bias);
        const bool prefetch = t0 == 0 && h == 0;  // later passes find the panel in cache
        switch (cg) {
          case 1: Tile<1, kType>(panel, x, t0, S, h, prefetch, o); break;
          case 2: Tile<2, kType>(panel, x, t0, S, h, prefetch, o); break;
          case 3: Tile<3, kType>(panel, x, t0, S, h, prefetch, o); break;
          default: Tile<4, kType>(panel, x, t0, S, h, prefetch, o); break;
        }
      }
    }
  }
}

}  // namespace

void RowPanelsAvx2(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch) {
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

// MatMul kernels for AVX-512 (F/BW/VL/DQ/VNNI) + FMA + F16C. Integer products use VNNI's
// vpdpbusd on 256-bit vectors (one Q8_0 block each: see x86_matmul_tiles.h for why not 512);
// float weights, bound by loads rather than ports, use 512-bit vectors.
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined operands as uninitialized
// (GCC bug 105593, fixed in 13); nothing in this file reads an uninitialized value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "acorn/half.h"
#include "matmul_panels.h"
#include "x86_kquant_tiles.h"
#include "x86_panel_nibbles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

struct Avx512Ops {
  // [q & 0x0f, q & 0xf0]: the high nibbles stay in place, worth 16 times their value, which
  // saves the shift (ports 0 and 1 are this loop's limit). vpdpbusd has no int16 stage to
  // saturate, and the float lanes that hold them are scaled by 1/16 at the end, exactly.
  static __m256i UnpackQ4(const uint8_t* q16) {
    const __m256i z = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q16)));
    return _mm256_and_si256(z, _mm256_setr_epi64x(0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f,
                                                  static_cast<long long>(0xf0f0f0f0f0f0f0f0ULL),
                                                  static_cast<long long>(0xf0f0f0f0f0f0f0f0ULL)));
  }
  // -8 * sums for the low half; -8 * 16 for the high half.
  static __m256i Q4Init(__m256i nsum4) { return _mm256_sllv_epi32(nsum4, _mm256_setr_epi32(3, 3, 3, 3, 7, 7, 7, 7)); }
  static __m256 Q4Finish(__m256 acc) {
    return _mm256_mul_ps(acc, _mm256_setr_ps(1, 1, 1, 1, 1.0f / 16, 1.0f / 16, 1.0f / 16, 1.0f / 16));
  }
  static __m256i DotQ4(__m256i init, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(init, u, s); }
  // vpdpbusd wants an unsigned operand: w + 128 (flip the sign bit), and the extra 128*sum(x)
  // is taken back through init (per 4-element lane).
  struct Q8W {
    __m256i w_plus_128;
  };
  static Q8W PrepQ8(__m256i w) { return {_mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)))}; }
  static constexpr int kQ8Offset = 128;
  static __m256i GroupSums4(__m256i q) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), q);
  }
  static __m256i DotQ8(__m256i init, const Q8W& pw, __m256i x) {
    return _mm256_dpbusd_epi32(init, pw.w_plus_128, x);
  }
};

// 32 registers: 4 rows x 4 tokens of accumulators.
constexpr int kRows = 4;
constexpr int kToks = 4;

// Panel products (matmul_panels.h), on full 512-bit vectors: lane r of every vector is row r of
// the panel. Per scale group and token: G/4 vpdpbusd (the activations' 4 quants broadcast from
// memory, the int32 sum starting from the offset's correction), one conversion, one multiply
// (weight scales times the token's scale) and one fused multiply-add (and one more for a
// minimum). kPanelTokens tokens share each weight vector: their integer and float accumulators
// take 2 * kPanelTokens of the 32 registers.
constexpr int kPanelTokens = kPanelTokensAvx512;

template <int Cg, int G, bool kMin>
void PanelTile(const WeightPanel& w, const int32_t* xq, const float* xd, const int32_t* xc, const float* xs,
               int64_t S, float* y, int64_t ldy, __mmask16 rows, __m512 bias) {
  constexpr int kQuads = G / 4;
  __m512 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i* wu = reinterpret_cast<const __m512i*>(w.u);
  for (int64_t s = 0; s < S; ++s) {
    __m512i ai[Cg];
#pragma GCC unroll 16
    for (int c = 0; c < Cg; ++c) ai[c] = _mm512_set1_epi32(xc[s * Cg + c]);
#pragma GCC unroll 8
    for (int j = 0; j < kQuads; ++j) {
      const __m512i wv = _mm512_load_si512(wu + s * kQuads + j);
      const int32_t* xj = xq + (s * kQuads + j) * Cg;
#pragma GCC unroll 16
      for (int c = 0; c < Cg; ++c) ai[c] = _mm512_dpbusd_epi32(ai[c], wv, _mm512_set1_epi32(xj[c]));
    }
    const __m512 sv = _mm512_load_ps(w.scale + s * kPanelRows);
#pragma GCC unroll 16
    for (int c = 0; c < Cg; ++c) {
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[c]), _mm512_mul_ps(sv, _mm512_set1_ps(xd[s * Cg + c])), acc[c]);
    }
    if (kMin) {
      const __m512 mv = _mm512_load_ps(w.min + s * kPanelRows);
#pragma GCC unroll 16
      for (int c = 0; c < Cg; ++c) acc[c] = _mm512_fnmadd_ps(mv, _mm512_set1_ps(xs[s * Cg + c]), acc[c]);
    }
  }
  for (int c = 0; c < Cg; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, _mm512_add_ps(acc[c], bias));
}

template <int G, bool kMin>
void PanelRowsOf(const MatMulArgs& a, const PanelActivations& x, const WeightPanel& w, int64_t n, int rows) {
  const int64_t Q = a.K / 4, S = a.K / G;
  const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
  const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(mask, a.bias + n) : _mm512_setzero_ps();
  for (int64_t t0 = 0; t0 < a.T; t0 += kPanelTokens) {
    const int64_t cg = a.T - t0 < kPanelTokens ? a.T - t0 : kPanelTokens;
    const int32_t* xq = x.q + t0 * Q;
    const float* xd = x.d + t0 * S;
    const int32_t* xc = x.corr + t0 * S;
    const float* xs = kMin ? x.dsum + t0 * S : nullptr;
    float* y = a.y + t0 * a.N + n;
    switch (cg) {
#define ACORN_PANEL_CASE(C) \
  case C: PanelTile<C, G, kMin>(w, xq, xd, xc, xs, S, y, a.N, mask, bias); break;
      ACORN_PANEL_CASE(1) ACORN_PANEL_CASE(2) ACORN_PANEL_CASE(3) ACORN_PANEL_CASE(4)
      ACORN_PANEL_CASE(5) ACORN_PANEL_CASE(6) ACORN_PANEL_CASE(7) ACORN_PANEL_CASE(8)
#undef ACORN_PANEL_CASE
    }
  }
}

void PanelRows(const MatMulArgs& a, const PanelActivations& x, const WeightPanel& w, int64_t n, int rows) {
  const bool min = w.min != nullptr;
  if (x.G == 16) {
    (min ? PanelRowsOf<16, true> : PanelRowsOf<16, false>)(a, x, w, n, rows);
  } else {
    (min ? PanelRowsOf<32, true> : PanelRowsOf<32, false>)(a, x, w, n, rows);
  }
}

// Weights repacked at load in 16-row panels (cpu_kernels.h, RowPanelGroup): PanelTile's
// arithmetic, with the quants read as stored (q8_0: sign bit flipped to the offset of 128; the
// 4/5-bit types: each 64-byte vector holds two quads per row, low and high nibbles, the fifth bits
// added from a mask, offset 8 or 16 (so init is the correction / 16 or / 8), or none with a
// minimum (Q4_1, Q5_1: m times Q8_1's block sum)) and the scales widened from fp16. Decode (one
// token) streams each thread's run of panels once.
// Decode is memory-bound per core (the line fill buffers stay full): the tiles prefetch ahead of
// the hardware's own, into L2. Measured on a 2-core Xeon, decode from memory with prefetcht0:
// 1 KiB ahead 26.6 GB/s, 2 KiB 28.5, 4 KiB 31.4, 8 KiB 30.1 (none: 23.2); then q4_0 27.4-28.7 GB/s
// at 4 KiB into L1 against 29.0-30.6 at 8 KiB into L2 (q8_0 the same, 33-34).
constexpr uintptr_t kRowPanelPrefetch = 8192;
// (PrefetchL2: matmul_tiles.h, for the row panels and the f32 tiles alike.)

template <int Cg, DType kType>
void RowPanelTile(const uint8_t* panel, const int32_t* xq, const float* xd, const int32_t* xc, const float* xs_min,
                  int64_t S, float* y, int64_t ldy, __mmask16 rows, __m512 bias, bool prefetch) {
  constexpr RowPanelGroup kLay = RowPanelGroupOf(kType);
  constexpr bool kQ8 = kType == DType::kQ8_0, kMin = kLay.min_at >= 0, kHigh = kLay.masks_at >= 0;
  constexpr size_t kGroupBytes = kQ8 ? 544 : static_cast<size_t>(kLay.quants_at) + 256;
  __m512 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t s = 0; s < S; ++s) {
    const uint8_t* g = panel + s * kGroupBytes;
    // One sequential stream per thread: prefetch ahead of the hardware's own, at the pace it is
    // read (an integer address: past the last panel it points beyond the weights, never read).
    // Only on the first pass over the panel: later token groups find it in cache.
    for (size_t off = 0; prefetch && off < kGroupBytes; off += 64) {
      PrefetchL2(reinterpret_cast<uintptr_t>(g) + kRowPanelPrefetch + off);
    }
    __m512i ai[Cg];
#pragma GCC unroll 16
    for (int c = 0; c < Cg; ++c) {
      // corr = -128 * sum(x): q8_0's offset as it is; 8 (q4_0) is corr / 16, 16 (Q5_0) corr / 8.
      const __m512i corr = _mm512_set1_epi32(xc[s * Cg + c]);
      ai[c] = kQ8 ? corr : kLay.offset == 8 ? _mm512_srai_epi32(corr, 4)
                         : kLay.offset == 16 ? _mm512_srai_epi32(corr, 3) : _mm512_setzero_si512();
    }
    const int32_t* xs = xq + s * 8 * Cg;
    const uint8_t* qs = g + kLay.quants_at;
    if (!kQ8) {
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        __m512i lo, hi;
        PanelNibbles(qs + 64 * j, kHigh ? g + kLay.masks_at + 8 * j : nullptr,
                     kHigh ? g + kLay.masks_at + 8 * (4 + j) : nullptr, &lo, &hi);
#pragma GCC unroll 16
        for (int c = 0; c < Cg; ++c) {
          ai[c] = _mm512_dpbusd_epi32(ai[c], lo, _mm512_set1_epi32(xs[j * Cg + c]));
          ai[c] = _mm512_dpbusd_epi32(ai[c], hi, _mm512_set1_epi32(xs[(4 + j) * Cg + c]));
        }
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * j), flip);
#pragma GCC unroll 16
        for (int c = 0; c < Cg; ++c) ai[c] = _mm512_dpbusd_epi32(ai[c], v, _mm512_set1_epi32(xs[j * Cg + c]));
      }
    }
    const __m512 sv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g)));
#pragma GCC unroll 16
    for (int c = 0; c < Cg; ++c) {
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[c]), _mm512_mul_ps(sv, _mm512_set1_ps(xd[s * Cg + c])), acc[c]);
    }
    if (kMin) {
      const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kLay.min_at)));
#pragma GCC unroll 16
      for (int c = 0; c < Cg; ++c) acc[c] = _mm512_fmadd_ps(mv, _mm512_set1_ps(xs_min[s * Cg + c]), acc[c]);
    }
  }
  for (int c = 0; c < Cg; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, _mm512_add_ps(acc[c], bias));
}

// Q4_K in 16-row panels, one super-block (8 groups of 32) per unit: per pair of groups, each
// 64-byte vector's low nibbles belong to the first group and its high nibbles to the second. The
// quants are unsigned (no offset); scale = d * sc and minimum = dmin * m per group and row, as
// ref::QuantGroupOf computes them (exact in float), the minimum against the activations' d * sum.
// Q5_K (kQ5): the same unit followed by the fifth bits as masks, added to the nibbles in place.
template <int Cg, bool kQ5>
void RowPanelTileQ4K(const uint8_t* panel, const int32_t* xq, const float* xd, const float* xs, int64_t S, float* y,
                     int64_t ldy, __mmask16 rows, __m512 bias, bool prefetch) {
  constexpr size_t kUnitBytes = 64 + 256 + 4 * 512 + (kQ5 ? 512 : 0);
  __m512 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    for (size_t off = 0; prefetch && off < kUnitBytes; off += 64) {
      PrefetchL2(reinterpret_cast<uintptr_t>(u) + kRowPanelPrefetch + off);
    }
    const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u)));
    const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 32)));
    for (int pair = 0; pair < 4; ++pair) {
      __m512i a0[Cg], a1[Cg];
      for (int c = 0; c < Cg; ++c) a0[c] = a1[c] = _mm512_setzero_si512();
      const int64_t g0 = sb * 8 + 2 * pair;  // the pair's first group, over the whole row
      const int32_t* x0 = xq + g0 * 8 * Cg;
      const int32_t* x1 = x0 + 8 * Cg;
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const uint8_t* m = u + 2368 + 16 * (8 * pair + j);
        __m512i lo, hi;
        PanelNibbles(u + 320 + pair * 512 + 64 * j, kQ5 ? m : nullptr, kQ5 ? m + 8 : nullptr, &lo, &hi);
#pragma GCC unroll 16
        for (int c = 0; c < Cg; ++c) {
          a0[c] = _mm512_dpbusd_epi32(a0[c], lo, _mm512_set1_epi32(x0[j * Cg + c]));
          a1[c] = _mm512_dpbusd_epi32(a1[c], hi, _mm512_set1_epi32(x1[j * Cg + c]));
        }
      }
      for (int h = 0; h < 2; ++h) {
        const int g = 2 * pair + h;
        const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 64 + 16 * g))));
        const __m512 mn = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 192 + 16 * g))));
        const __m512 scale = _mm512_mul_ps(dv, sc);
        const __m512 min = _mm512_mul_ps(mv, mn);
        const int64_t gg = g0 + h;
#pragma GCC unroll 16
        for (int c = 0; c < Cg; ++c) {
          const __m512i ai = h == 0 ? a0[c] : a1[c];
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai), _mm512_mul_ps(scale, _mm512_set1_ps(xd[gg * Cg + c])), acc[c]);
          acc[c] = _mm512_fnmadd_ps(min, _mm512_set1_ps(xs[gg * Cg + c]), acc[c]);
        }
      }
    }
  }
  for (int c = 0; c < Cg; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, _mm512_add_ps(acc[c], bias));
}

// Q6_K in 16-row panels, one super-block per unit: each group's 6-bit quants rebuilt from the low
// nibble plane and the 2-bit plane (u = low | high << 4, value u - 32: init is the activations'
// correction / 4, per half), and each half of 16 its own scale d * sc, so two integer sums per
// group and token. The activations come in groups of 16 (PanelGroup(Q6_K)).
template <int Cg>
void RowPanelTileQ6K(const uint8_t* panel, const int32_t* xq, const float* xd, const int32_t* xc, int64_t S, float* y,
                     int64_t ldy, __mmask16 rows, __m512 bias, bool prefetch) {
  constexpr size_t kUnitBytes = 32 + 256 + 4 * 512 + 2 * 512;
  __m512 acc[Cg];
  for (int c = 0; c < Cg; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m512i low2 = _mm512_set1_epi8(0x03);
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnitBytes;
    for (size_t off = 0; prefetch && off < kUnitBytes; off += 64) {
      PrefetchL2(reinterpret_cast<uintptr_t>(u) + kRowPanelPrefetch + off);
    }
    const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u)));
    for (int g = 0; g < 8; ++g) {
      const int64_t gg = sb * 8 + g;  // over the whole row; halves 2gg, 2gg + 1 in the activations
      __m512i a0[Cg], a1[Cg];
#pragma GCC unroll 16
      for (int c = 0; c < Cg; ++c) {
        a0[c] = _mm512_srai_epi32(_mm512_set1_epi32(xc[(2 * gg) * Cg + c]), 2);
        a1[c] = _mm512_srai_epi32(_mm512_set1_epi32(xc[(2 * gg + 1) * Cg + c]), 2);
      }
      const int32_t* xg = xq + gg * 8 * Cg;
      const uint8_t* lo_plane = u + 288 + (g / 2) * 512;
      const uint8_t* hi_plane = u + 2336 + (g / 4) * 512;
      const __m128i lo_shift = _mm_cvtsi32_si128(4 * (g % 2));
      const __m128i hi_shift = _mm_cvtsi32_si128(2 * (g % 4));
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512i lo = _mm512_and_si512(_mm512_srl_epi16(_mm512_loadu_si512(lo_plane + 64 * j), lo_shift), low4);
        const __m512i hi = _mm512_and_si512(_mm512_srl_epi16(_mm512_loadu_si512(hi_plane + 64 * j), hi_shift), low2);
        const __m512i q = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
#pragma GCC unroll 16
        for (int c = 0; c < Cg; ++c) {
          if (j < 4) {
            a0[c] = _mm512_dpbusd_epi32(a0[c], q, _mm512_set1_epi32(xg[j * Cg + c]));
          } else {
            a1[c] = _mm512_dpbusd_epi32(a1[c], q, _mm512_set1_epi32(xg[j * Cg + c]));
          }
        }
      }
      const __m512 s0 = _mm512_mul_ps(
          dv, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 32 + 32 * g)))));
      const __m512 s1 = _mm512_mul_ps(
          dv, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 48 + 32 * g)))));
#pragma GCC unroll 16
      for (int c = 0; c < Cg; ++c) {
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a0[c]), _mm512_mul_ps(s0, _mm512_set1_ps(xd[(2 * gg) * Cg + c])), acc[c]);
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a1[c]), _mm512_mul_ps(s1, _mm512_set1_ps(xd[(2 * gg + 1) * Cg + c])), acc[c]);
      }
    }
  }
  for (int c = 0; c < Cg; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, _mm512_add_ps(acc[c], bias));
}

template <DType kType>
void RowPanelsOf(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, int64_t t_begin) {
  // S groups of 32 per row; the activations' scales and sums come per x.G (16 for Q6_K).
  const int64_t Q = a.K / 4, S = a.K / kQBlock, Sa = a.K / x.G;
  const size_t panel_bytes = static_cast<size_t>(a.K / RowPanelUnitElems(kType)) * RowPanelUnitBytes(kType);
  // The tiles prefetch kRowPanelPrefetch ahead of what they read: ask for the start of the run
  // here, or it comes only as the hardware's prefetcher ramps up (a small product split over many
  // threads is mostly such starts).
  if (p0 < p1 && t_begin < a.T) {
    const uint8_t* start = a.w + p0 * panel_bytes;
    const size_t run = static_cast<size_t>(p1 - p0) * panel_bytes;
    for (size_t off = 0; off < kRowPanelPrefetch && off < run; off += 64) {
      PrefetchL2(reinterpret_cast<uintptr_t>(start) + off);
    }
  }
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p * kPanelRows;
    const int rows = static_cast<int>(a.N - n < kPanelRows ? a.N - n : kPanelRows);
    const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
    const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(mask, a.bias + n) : _mm512_setzero_ps();
    const uint8_t* panel = a.w + p * panel_bytes;
    for (int64_t t0 = t_begin; t0 < a.T; t0 += kPanelTokens) {
      const int64_t cg = a.T - t0 < kPanelTokens ? a.T - t0 : kPanelTokens;
      const int32_t* xq = x.q + t0 * Q;
      const float* xd = x.d + t0 * Sa;
      const int32_t* xc = x.corr + t0 * Sa;
      const float* xs = x.dsum ? x.dsum + t0 * Sa : nullptr;
      float* y = a.y + t0 * a.N + n;
      switch (cg) {
#define ACORN_ROW_PANEL_CASE(C)                                                          \
  case C:                                                                                \
    if (kType == DType::kQ4_K || kType == DType::kQ5_K) {                                \
      RowPanelTileQ4K<C, kType == DType::kQ5_K>(panel, xq, xd, xs, S, y, a.N, mask, bias, \
                                                t0 == t_begin);                                 \
    } else if (kType == DType::kQ6_K) {                                                  \
      RowPanelTileQ6K<C>(panel, xq, xd, xc, S, y, a.N, mask, bias, t0 == t_begin);             \
    } else {                                                                             \
      RowPanelTile<C, kType>(panel, xq, xd, xc, xs, S, y, a.N, mask, bias, t0 == t_begin);     \
    }                                                                                    \
    break;
        ACORN_ROW_PANEL_CASE(1) ACORN_ROW_PANEL_CASE(2) ACORN_ROW_PANEL_CASE(3) ACORN_ROW_PANEL_CASE(4)
        ACORN_ROW_PANEL_CASE(5) ACORN_ROW_PANEL_CASE(6) ACORN_ROW_PANEL_CASE(7) ACORN_ROW_PANEL_CASE(8)
#undef ACORN_ROW_PANEL_CASE
      }
    }
  }
}

void RowPanels(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch) {
  (void)scratch;  // reads the panels as stored
  RowPanelsAvx512From(a, x, p0, p1, 0);
}

// f32 weights with tokens in lanes: R rows x kTokenGroup tokens (R x 2 vectors) of accumulators;
// per k, two activation loads and R weight broadcasts feed 2R fused multiply-adds. K runs in blocks
// of kTokenDepth whose sums are added into a tile in memory: a bounded run of float additions per
// accumulator (rounding grows with it), like the other kernels' per-lane partial sums.
constexpr int kTokenRows = 12;
constexpr int64_t kTokenDepth = 256;

// next, next_bytes: the weights of the tile after this one (contiguous rows), prefetched into L2
// while the first token group runs, a line per k: an f32 tile of 12 rows is a few microseconds of
// work, too short for the hardware's prefetcher to bring its successor from memory in time (20 %
// of a 384-column product's rate was lost to it).
template <int R>
void TokenTile(const MatMulArgs& a, const float* xg, int64_t n, int64_t t0, const uint8_t* next, size_t next_bytes) {
  alignas(64) float tile[R][kTokenGroup];
  const float* w[R];
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const float*>(a.w + (n + r) * a.w_row_bytes);
  for (int64_t k0 = 0; k0 < a.K; k0 += kTokenDepth) {
    const int64_t k1 = a.K - k0 < kTokenDepth ? a.K : k0 + kTokenDepth;
    __m512 acc[R][kTokenVecs];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < kTokenVecs; ++v) acc[r][v] = _mm512_setzero_ps();
    for (int64_t k = k0; k < k1; ++k) {
      if (static_cast<size_t>(k) * 64 < next_bytes) PrefetchL2(reinterpret_cast<uintptr_t>(next) + k * 64);
      __m512 xv[kTokenVecs];
      for (int v = 0; v < kTokenVecs; ++v) xv[v] = _mm512_load_ps(xg + k * kTokenGroup + 16 * v);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m512 wb = _mm512_set1_ps(w[r][k]);
        for (int v = 0; v < kTokenVecs; ++v) acc[r][v] = _mm512_fmadd_ps(wb, xv[v], acc[r][v]);
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < kTokenVecs; ++v) {
        float* p = tile[r] + 16 * v;
        _mm512_store_ps(p, k0 == 0 ? acc[r][v] : _mm512_add_ps(_mm512_load_ps(p), acc[r][v]));
      }
    }
  }
  const int64_t tokens = a.T - t0 < kTokenGroup ? a.T - t0 : kTokenGroup;
  for (int64_t c = 0; c < tokens; ++c) {
    float* y = a.y + (t0 + c) * a.N + n;
    for (int r = 0; r < R; ++r) y[r] = tile[r][c] + BiasOf(a, n + r);
  }
}

void TokenRows(const MatMulArgs& a, const float* x, int64_t n0, int64_t n1) {
  // Each row tile's weights (read once from memory) meet every token group (from cache).
  for (int64_t n = n0; n < n1; n += kTokenRows) {
    const int64_t next_rows = n1 - n - kTokenRows < kTokenRows ? n1 - n - kTokenRows : kTokenRows;
    const uint8_t* next = next_rows > 0 ? a.w + (n + kTokenRows) * a.w_row_bytes : nullptr;
    for (int64_t t0 = 0; t0 < a.T; t0 += kTokenGroup) {
      const float* xg = x + t0 * a.K;
      const size_t next_bytes = t0 == 0 && next_rows > 0 ? static_cast<size_t>(next_rows) * a.w_row_bytes : 0;
      switch (n1 - n < kTokenRows ? n1 - n : kTokenRows) {
#define ACORN_TOKEN_CASE(R) \
  case R: TokenTile<R>(a, xg, n, t0, next, next_bytes); break;
        ACORN_TOKEN_CASE(1) ACORN_TOKEN_CASE(2) ACORN_TOKEN_CASE(3) ACORN_TOKEN_CASE(4) ACORN_TOKEN_CASE(5)
        ACORN_TOKEN_CASE(6) ACORN_TOKEN_CASE(7) ACORN_TOKEN_CASE(8) ACORN_TOKEN_CASE(9) ACORN_TOKEN_CASE(10)
        ACORN_TOKEN_CASE(11) ACORN_TOKEN_CASE(12)
#undef ACORN_TOKEN_CASE
      }
    }
  }
}

// r[i][j] -> r[j][i]: pairs, then quads within 128-bit lanes, then the 4 x 4 lanes (64 shuffles).
inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + m], lane L: column 4L + m of rows 4g..4g+3.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512d a0 = _mm512_castps_pd(t[4 * g]), a1 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d b0 = _mm512_castps_pd(t[4 * g + 2]), b1 = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, b0));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, b0));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, b1));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, b1));
  }
  for (int m = 0; m < 4; ++m) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44), v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
    r[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[4 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[8 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// TokenRows' activations: blocks of 16 k by 16 tokens transposed in registers (a scalar copy took
// 6 % of a BERT step on two cores, a load and a store per element).
void PackTokenPanels(const MatMulArgs& a, float* x, int64_t g0, int64_t g1) {
  for (int64_t gi = g0; gi < g1; ++gi) {
    float* xg = x + gi * kTokenGroup * a.K;
    const int64_t t0 = gi * kTokenGroup;
    const int64_t tokens = a.T - t0 < kTokenGroup ? a.T - t0 : kTokenGroup;
    for (int64_t k = 0; k < a.K; k += 16) {
      const int kn = static_cast<int>(a.K - k < 16 ? a.K - k : 16);
      const __mmask16 cols = static_cast<__mmask16>((1u << kn) - 1);
      for (int h = 0; h < kTokenVecs; ++h) {
        __m512 r[16];
        for (int i = 0; i < 16; ++i) {
          const int64_t c = 16 * h + i;
          r[i] = c < tokens ? _mm512_maskz_loadu_ps(cols, a.x + (t0 + c) * a.K + k) : _mm512_setzero_ps();
        }
        Transpose16x16(r);
        for (int j = 0; j < kn; ++j) _mm512_store_ps(xg + (k + j) * kTokenGroup + 16 * h, r[j]);
      }
    }
  }
}

}  // namespace

void RowPanelsAvx512From(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, int64_t t_begin) {
  switch (a.wtype) {
    case DType::kQ4_0: RowPanelsOf<DType::kQ4_0>(a, x, p0, p1, t_begin); break;
    case DType::kQ4_1: RowPanelsOf<DType::kQ4_1>(a, x, p0, p1, t_begin); break;
    case DType::kQ5_0: RowPanelsOf<DType::kQ5_0>(a, x, p0, p1, t_begin); break;
    case DType::kQ5_1: RowPanelsOf<DType::kQ5_1>(a, x, p0, p1, t_begin); break;
    case DType::kQ4_K: RowPanelsOf<DType::kQ4_K>(a, x, p0, p1, t_begin); break;
    case DType::kQ5_K: RowPanelsOf<DType::kQ5_K>(a, x, p0, p1, t_begin); break;
    case DType::kQ6_K: RowPanelsOf<DType::kQ6_K>(a, x, p0, p1, t_begin); break;
    default: RowPanelsOf<DType::kQ8_0>(a, x, p0, p1, t_begin); break;
  }
}

const KernelSet& Avx512Kernels() {
  static const KernelSet set = {
      RowsF<Avx512FOps, float, kRows, kToks>, RowsF<Avx512FOps, uint16_t, kRows, kToks>,
      RowsQ8<Avx512Ops, kRows, kToks>,        RowsQ4<Avx512Ops, kRows, kToks>,
      QuantizeRowX86<Avx512Ops>,              kDecodeRows,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ4_K>, RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ5_K>,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ6_K>, PanelRows, kPanelTokens,
      TokenRows, PackTokenPanels, RowPanels, true,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ2_K>, RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ3_K>,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kIQ4_XS>,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ4_1>,   RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ5_0>,
      RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kQ5_1>,   RowsGroupTiles<Avx512Ops, kRows, kToks, DType::kIQ4_NL>};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

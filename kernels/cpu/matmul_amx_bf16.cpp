// f32 and f16 weights on the AMX-BF16 tile unit (cpu_kernels.h, MatMulBf16Panels): one TDPBF16PS
// multiplies 16 tokens by 32 columns of a 16-row panel, 8192 multiply-adds, against 16 per lane-wide
// FMA. Unlike the integer tiles (matmul_amx.cpp), float weights have no per-group scales, so a tile
// accumulates over all of K and the vector unit only adds the bias at the end: the tile unit, not an
// epilogue, bounds the rate. Each item is 2 panels by 2 blocks of 16 tokens (4 accumulator tiles),
// every A and B tile used twice per load.
//
// The activations are rounded to bf16 here, with AVX-512F integer operations (the nearest-even rule
// of acorn::F32ToBF16, NaN kept quiet), so the emulated build (amx_emulation.h) runs on any CPU with
// AVX-512.
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
#include "amx_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// Palette 1: tiles 0-3 the accumulators (16 tokens x 16 f32), 4 and 5 A (16 tokens x 32 bf16),
// 6 and 7 B (16 column pairs x 16 rows x 2 bf16).
void ConfigureTiles() {
  TileConfig cfg = PaletteOne();
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
}

constexpr int64_t kLineBytes = 64;               // one column pair of 16 rows
constexpr int64_t kTileBytes = 16 * kLineBytes;  // a B tile: 32 columns

// c: a 16 x 16 accumulator tile as stored; writes tokens [t, T) (at most 16) of rows [n, N).
void Write(const float* c, const Bf16Args& a, int64_t t, int64_t n) {
  const int64_t rows = a.N - n < 16 ? a.N - n : 16;
  const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
  const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(mask, a.bias + n) : _mm512_setzero_ps();
  for (int64_t i = 0; i < 16 && t + i < a.T; ++i) {
    _mm512_mask_storeu_ps(a.y + (t + i) * a.N + n, mask, _mm512_add_ps(_mm512_load_ps(c + 16 * i), bias));
  }
}

// NT token blocks (1 or 2) by NP panels (1 or 2), from x (the first block's row 0) and w (the first
// panel), for tokens from t and rows from n.
template <int NT, int NP>
void Item(const Bf16Args& a, const uint16_t* x, const uint8_t* w, int64_t panel_bytes, int64_t t, int64_t n) {
  const int64_t Kp = Bf16Padded(a.K, kBf16Cols);
  const long stride = static_cast<long>(Kp * 2);
  _tile_zero(0);
  if (NP == 2) _tile_zero(1);
  if (NT == 2) _tile_zero(2);
  if (NT == 2 && NP == 2) _tile_zero(3);
  for (int64_t s = 0; s < Kp / kBf16Cols; ++s) {
    _tile_loadd(4, x + s * kBf16Cols, stride);
    if (NT == 2) _tile_loadd(5, x + 16 * Kp + s * kBf16Cols, stride);
    _tile_loadd(6, w + s * kTileBytes, kLineBytes);
    if (NP == 2) _tile_loadd(7, w + panel_bytes + s * kTileBytes, kLineBytes);
    _tile_dpbf16ps(0, 4, 6);
    if (NP == 2) _tile_dpbf16ps(1, 4, 7);
    if (NT == 2) _tile_dpbf16ps(2, 5, 6);
    if (NT == 2 && NP == 2) _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float c[16 * 16];
  _tile_stored(0, c, 64);
  __asm__ volatile("" ::: "memory");  // GCC's tile store does not say that it writes memory
  Write(c, a, t, n);
  if (NP == 2) {
    _tile_stored(1, c, 64);
    __asm__ volatile("" ::: "memory");
    Write(c, a, t, n + 16);
  }
  if (NT == 2) {
    _tile_stored(2, c, 64);
    __asm__ volatile("" ::: "memory");
    Write(c, a, t + 16, n);
  }
  if (NT == 2 && NP == 2) {
    _tile_stored(3, c, 64);
    __asm__ volatile("" ::: "memory");
    Write(c, a, t + 16, n + 16);
  }
}

}  // namespace

void PackBf16Avx512(const float* x, int64_t T, int64_t K, int64_t t0, int64_t t1, uint16_t* xb) {
  const int64_t Kp = Bf16Padded(K, kBf16Cols);
  const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x400000);
  for (int64_t t = t0; t < t1; ++t) {
    uint16_t* row = xb + t * Kp;
    const int64_t valid = t < T ? K : 0;
    for (int64_t k = 0; k < Kp; k += 16) {
      const int64_t left = valid - k;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff)
                                     : static_cast<__mmask16>(left > 0 ? (1u << left) - 1 : 0);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + t * K + k);
      const __m512i u = _mm512_castps_si512(v);
      // u + 0x7fff + (bit 16 of u): round to nearest even at bit 16; NaN: quiet bit set instead.
      __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
      r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_or_si512(u, quiet));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + k), _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
    }
  }
}

void Bf16ItemsAmx(const Bf16Args& a, int64_t i0, int64_t i1) {
  if (i0 >= i1) return;
  const int64_t Kp = Bf16Padded(a.K, kBf16Cols);
  const int64_t panel_bytes = kBf16Rows * Kp * 2;
  const int64_t n_blocks = Bf16Padded(a.T, kBf16Rows) / kBf16Rows;
  const int64_t n_panels = Bf16Padded(a.N, kBf16Rows) / kBf16Rows;
  ConfigureTiles();
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t p = 2 * (i / a.block_pairs), b = 2 * (i % a.block_pairs);
    const uint16_t* x = a.x + b * kBf16Rows * Kp;
    const uint8_t* w = a.w + p * panel_bytes;
    const int64_t t = b * kBf16Rows, n = p * kBf16Rows;
    const bool two_blocks = b + 1 < n_blocks, two_panels = p + 1 < n_panels;
    if (two_blocks && two_panels) {
      Item<2, 2>(a, x, w, panel_bytes, t, n);
    } else if (two_blocks) {
      Item<2, 1>(a, x, w, panel_bytes, t, n);
    } else if (two_panels) {
      Item<1, 2>(a, x, w, panel_bytes, t, n);
    } else {
      Item<1, 1>(a, x, w, panel_bytes, t, n);
    }
  }
  _tile_release();
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

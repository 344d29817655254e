// Prompt products on Intel AMX (the AMX-INT8 tile unit of Sapphire Rapids and later): the AVX-512
// set (matmul_avx512.cpp) with its row-panel product replaced, from 16 tokens on, by tile
// multiplies. One TDPBSSD multiplies 16 tokens by 32 columns of a 16-row panel: 8192 multiply-adds
// in one instruction, against 128 vpdpbusd.
//
// The weights' 32-column groups each have their own scale, so the tile unit sums one group at a
// time (A: 16 tokens x 32 int8 activations, B: the group's 32 x 16 weights as 8 rows of 16 x 4
// bytes, the layout the panels already have) and the 16 x 16 int32 sums go to memory, from where
// AVX-512 scales them into float accumulators, exactly as the AVX-512 kernel does with its own
// integer sums: the same integers, the same float operations in the same order, so the output is
// bit for bit the AVX-512 kernel's. The vector epilogue, not the tile unit, bounds the rate.
//
// The panels are unpacked once per panel into the thread's scratch as signed bytes (quant minus the
// type's offset, so no correction term), with float scales and minimums, in 64-byte aligned rows.
// Tokens past the last multiple of 16, Q6_K (16-column halves with their own scales) and decode
// run the AVX-512 kernels. Tests without AMX hardware build this file over amx_emulation.h.
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
#include "amx_tiles.h"
#include "matmul_panels.h"
#include "x86_panel_nibbles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// A tile's 16 tokens are two of the AVX-512 set's activation groups (PanelActivations with C = 8).
constexpr int kGroupTokens = kPanelTokensAvx512;
constexpr int kAmxTokens = 2 * kGroupTokens;

// The tile configuration (palette 1): tiles 0-3: C, 16 tokens x 16 int32; 4, 5: A, 16 tokens x 32
// bytes; 6, 7: B, 8 rows of 64 bytes (4 bytes of each of 16 weight rows). A and B alternate so
// that consecutive groups' loads do not wait on each other's multiplies.
void ConfigureTiles() {
  TileConfig cfg = PaletteOne();
  for (int t = 0; t < 4; ++t) {
    cfg.rows[t] = kAmxTokens;
    cfg.colsb[t] = kPanelRows * 4;
  }
  for (int t = 4; t < 6; ++t) {
    cfg.rows[t] = kAmxTokens;
    cfg.colsb[t] = kQBlock;
    cfg.rows[t + 2] = kQBlock / 4;
    cfg.colsb[t + 2] = kPanelRows * 4;
  }
  _tile_loadconfig(&cfg);
}

bool AmxTakes(DType wtype) {
  switch (wtype) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K: return true;
    default: return false;
  }
}

// One panel's weights as the tile loop reads them: B tiles of group s at b + 512 * s (8 rows of
// 64 bytes, signed, aligned), the group's 16 scales at scale + 16 * s, and the minimum term's
// factor at min + 16 * s (added times the activations' dsum: +m for Q4_1/Q5_1, -dmin * m for the
// K-quants).
struct AmxPanel {
  const int8_t* b;
  const float* scale;
  const float* min;
};

// The 32-column types' unit (RowPanelGroupOf): quants unpacked to q - offset, scales widened.
template <DType kType>
AmxPanel UnpackGroups(const uint8_t* panel, int64_t S, const WeightPanel& w) {
  constexpr RowPanelGroup kLay = RowPanelGroupOf(kType);
  constexpr size_t kUnit = kType == DType::kQ8_0 ? 544 : static_cast<size_t>(kLay.quants_at) + 256;
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(kLay.offset));
  int8_t* bq = reinterpret_cast<int8_t*>(w.u);
  for (int64_t s = 0; s < S; ++s) {
    const uint8_t* g = panel + s * kUnit;
    _mm512_store_ps(w.scale + 16 * s, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g))));
    if (kLay.min_at >= 0) {
      _mm512_store_ps(w.min + 16 * s,
                      _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kLay.min_at))));
    }
    if (kType == DType::kQ8_0) {
      // Copied rather than read in place: in the panel each group's quants start 32 bytes into a
      // cache line, and a tile load of rows that straddle lines costs twice as many line reads.
      for (int j = 0; j < 8; ++j) _mm512_store_si512(bq + s * 512 + 64 * j, _mm512_loadu_si512(g + kLay.quants_at + 64 * j));
      continue;
    }
    for (int j = 0; j < 4; ++j) {
      constexpr bool kHigh = kLay.masks_at >= 0;
      __m512i lo, hi;
      PanelNibbles(g + kLay.quants_at + 64 * j, kHigh ? g + kLay.masks_at + 8 * j : nullptr,
                   kHigh ? g + kLay.masks_at + 8 * (4 + j) : nullptr, &lo, &hi);
      // Byte j of a row's quad holds elements 4j.. (low nibbles) and 16 + 4j.. (high): quads j and 4 + j.
      _mm512_store_si512(bq + s * 512 + 64 * j, _mm512_sub_epi8(lo, offset));
      _mm512_store_si512(bq + s * 512 + 64 * (4 + j), _mm512_sub_epi8(hi, offset));
    }
  }
  return {bq, w.scale, kLay.min_at >= 0 ? w.min : nullptr};
}

// Q4_K / Q5_K units (RowPanelUnitBytes): per pair of groups, the low nibbles are the first group's
// quads and the high nibbles the second's; scale d * sc and minimum dmin * m per group, as the
// AVX-512 kernel computes them.
template <bool kQ5>
AmxPanel UnpackQ4K(const uint8_t* panel, int64_t S, const WeightPanel& w) {
  constexpr size_t kUnit = 64 + 256 + 4 * 512 + (kQ5 ? 512 : 0);
  int8_t* bq = reinterpret_cast<int8_t*>(w.u);
  for (int64_t sb = 0; sb < S / 8; ++sb) {
    const uint8_t* u = panel + sb * kUnit;
    const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u)));
    const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 32)));
    for (int g = 0; g < 8; ++g) {
      const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 64 + 16 * g))));
      const __m512 mn = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 192 + 16 * g))));
      _mm512_store_ps(w.scale + 16 * (sb * 8 + g), _mm512_mul_ps(dv, sc));
      // Negated (exactly) so that the epilogue's fused add computes the AVX-512 kernel's fnmadd.
      _mm512_store_ps(w.min + 16 * (sb * 8 + g), _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(mv, mn)));
    }
    for (int pair = 0; pair < 4; ++pair) {
      int8_t* b0 = bq + (sb * 8 + 2 * pair) * 512;
      for (int j = 0; j < 8; ++j) {
        const uint8_t* m = u + 2368 + 16 * (8 * pair + j);
        __m512i lo, hi;
        PanelNibbles(u + 320 + pair * 512 + 64 * j, kQ5 ? m : nullptr, kQ5 ? m + 8 : nullptr, &lo, &hi);
        _mm512_store_si512(b0 + 64 * j, lo);
        _mm512_store_si512(b0 + 512 + 64 * j, hi);
      }
    }
  }
  return {bq, w.scale, w.min};
}

// Group g's 16 x 16 sums (token-major) into the 16 tokens' accumulators: the AVX-512 kernel's
// acc = fma(float(sum), scale * xd, acc), then the minimum's fma. xd / xs: the first 8-token group's
// activation scales and dsum, laid [S][8] (PanelActivations with C = 8), the second's `second`
// further.
template <bool kMin>
__attribute__((always_inline)) inline void Epilogue(const int32_t* c, const AmxPanel& w, int64_t g, const float* xd,
                                                    const float* xs, int64_t second, __m512 (&acc)[kAmxTokens]) {
  const __m512 scale = _mm512_load_ps(w.scale + 16 * g);
  const __m512 min = kMin ? _mm512_load_ps(w.min + 16 * g) : _mm512_setzero_ps();
  const float* xd0 = xd + g * kGroupTokens;
  const float* xs0 = kMin ? xs + g * kGroupTokens : nullptr;
#pragma GCC unroll 16
  for (int t = 0; t < kAmxTokens; ++t) {
    const float d = t < kGroupTokens ? xd0[t] : xd0[second + t - kGroupTokens];
    const __m512 sum = _mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * t));
    acc[t] = _mm512_fmadd_ps(sum, _mm512_mul_ps(scale, _mm512_set1_ps(d)), acc[t]);
    if (kMin) acc[t] = _mm512_fmadd_ps(min, _mm512_set1_ps(t < kGroupTokens ? xs0[t] : xs0[second + t - kGroupTokens]), acc[t]);
  }
}

// Group s on the tile unit into C tile tc, with A and B tiles ta and tb (immediates: the tile
// instructions name their registers in the opcode).
#define ACORN_AMX_GROUP(tc, ta, tb, s)          \
  do {                                          \
    _tile_loadd(ta, xq + (s) * kQBlock, K);     \
    _tile_loadd(tb, w.b + (s) * 512, 64);        \
    _tile_zero(tc);                             \
    _tile_dpbssd(tc, ta, tb);                   \
  } while (0)

// 16 tokens (xq: the first one's quantized row, rows K bytes apart) by one panel. Groups go in
// batches of 4 (C tiles 0-3), and each batch's sums are read back one batch later: the tile
// stores have then left the core's store buffer (vector loads cannot take data from a tile store
// in flight), while the next batch's multiplies run.
template <bool kMin>
void AmxPass(const AmxPanel& w, const int8_t* xq, int64_t K, const float* xd, const float* xs, int64_t S, float* y,
             int64_t ldy, __mmask16 rows, __m512 bias) {
  __m512 acc[kAmxTokens];
  for (int t = 0; t < kAmxTokens; ++t) acc[t] = _mm512_setzero_ps();
  alignas(64) int32_t c[2][4][kAmxTokens * kPanelRows];
  const int64_t second = kGroupTokens * S;
  const int64_t batches = S / 4;
  for (int64_t i = 0; i <= batches; ++i) {
    if (i < batches) {
      const int64_t s = 4 * i;
      ACORN_AMX_GROUP(0, 4, 6, s);
      ACORN_AMX_GROUP(1, 5, 7, s + 1);
      ACORN_AMX_GROUP(2, 4, 6, s + 2);
      ACORN_AMX_GROUP(3, 5, 7, s + 3);
      int32_t(*out)[kAmxTokens * kPanelRows] = c[i & 1];
      _tile_stored(0, out[0], 64);
      _tile_stored(1, out[1], 64);
      _tile_stored(2, out[2], 64);
      _tile_stored(3, out[3], 64);
    }
    if (i > 0) {
      const int64_t s = 4 * (i - 1);
      for (int j = 0; j < 4; ++j) Epilogue<kMin>(c[(i - 1) & 1][j], w, s + j, xd, xs, second, acc);
    }
  }
  for (int64_t s = 4 * batches; s < S; ++s) {  // the last S % 4 groups, one at a time
    ACORN_AMX_GROUP(0, 4, 6, s);
    _tile_stored(0, c[0][0], 64);
    Epilogue<kMin>(c[0][0], w, s, xd, xs, second, acc);
  }
  for (int t = 0; t < kAmxTokens; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, _mm512_add_ps(acc[t], bias));
}
#undef ACORN_AMX_GROUP

AmxPanel Unpack(DType wtype, const uint8_t* panel, int64_t S, const WeightPanel& w) {
  switch (wtype) {
    case DType::kQ4_0: return UnpackGroups<DType::kQ4_0>(panel, S, w);
    case DType::kQ4_1: return UnpackGroups<DType::kQ4_1>(panel, S, w);
    case DType::kQ5_0: return UnpackGroups<DType::kQ5_0>(panel, S, w);
    case DType::kQ5_1: return UnpackGroups<DType::kQ5_1>(panel, S, w);
    case DType::kQ4_K: return UnpackQ4K<false>(panel, S, w);
    case DType::kQ5_K: return UnpackQ4K<true>(panel, S, w);
    default: return UnpackGroups<DType::kQ8_0>(panel, S, w);
  }
}

void RowPanelsAmx(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch) {
  const int64_t t_amx = a.T / kAmxTokens * kAmxTokens;  // tokens [0, t_amx) on the tile unit
  if (t_amx == 0 || scratch == nullptr || !AmxTakes(a.wtype) || x.C != kGroupTokens) {
    RowPanelsAvx512From(a, x, p0, p1, 0);
    return;
  }
  const int64_t S = a.K / kQBlock;
  const size_t panel_bytes = static_cast<size_t>(a.K / RowPanelUnitElems(a.wtype)) * RowPanelUnitBytes(a.wtype);
  const WeightPanel w = PanelAt(scratch, a.K, a.wtype);
  const bool with_min = PanelHasMin(a.wtype);
  ConfigureTiles();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p * kPanelRows;
    const int rows = static_cast<int>(a.N - n < kPanelRows ? a.N - n : kPanelRows);
    const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
    const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(mask, a.bias + n) : _mm512_setzero_ps();
    const AmxPanel panel = Unpack(a.wtype, a.w + p * panel_bytes, S, w);
    // GCC's tileloadd is an asm statement that does not say it reads memory: make the unpacked
    // stores happen first.
    __asm__ volatile("" ::: "memory");
    for (int64_t t0 = 0; t0 < t_amx; t0 += kAmxTokens) {
      const int8_t* xq = a.xq + t0 * a.K;
      const float* xd = x.d + t0 * S;
      const float* xs = with_min ? x.dsum + t0 * S : nullptr;
      float* y = a.y + t0 * a.N + n;
      if (with_min) {
        AmxPass<true>(panel, xq, a.K, xd, xs, S, y, a.N, mask, bias);
      } else {
        AmxPass<false>(panel, xq, a.K, xd, xs, S, y, a.N, mask, bias);
      }
    }
  }
  _tile_release();  // the thread gives back its 8 KiB of tile state
  if (t_amx < a.T) RowPanelsAvx512From(a, x, p0, p1, t_amx);
}

}  // namespace

const KernelSet& AmxKernels() {
  static const KernelSet set = [] {
    KernelSet s = Avx512Kernels();
    s.row_panels = RowPanelsAmx;
    return s;
  }();
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

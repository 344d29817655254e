// Private to kernels/cpu: the x86 integer MatMul tiles and activation quantizer, shared by
// matmul_avx2.cpp and matmul_avx512.cpp (the float tiles and the tiling walk are in
// matmul_tiles.h, shared with ARM64). Each of those files is compiled with its own -m flags and
// includes this with its own instruction policy (Ops); everything here has internal linkage, so
// that the AVX-512 copy can never be picked by the linker for the AVX2 path.
//
// Decode (T=1) runs kDecodeRows x 1 tiles, which stream that many weight rows at once; prefill
// runs R x C tiles.
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "acorn/dtype.h"
#include "acorn/half.h"
#include "matmul_internal.h"
#include "matmul_tiles.h"
#include "x86_float_ops.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// ref::QuantizeRowQ8_0 on 8-float vectors, equal bit for bit: the same IEEE operations (max of
// |x|, amax / 127, 1 / d, x * id) and roundf's rounding (half away from zero), which no SIMD
// rounding mode gives, rebuilt from truncation. Ops::GroupSums4(q) sums each 4 bytes of q.
template <class Ops>
void QuantizeRowX86(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t b = 0; b < K / kQBlock; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + b * kQBlock + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    const float dd = _mm_cvtss_f32(m) / 127.0f;
    const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    // Rounded through fp16 as the stored scale is: F16C's conversion rounds to nearest even, as
    // F32ToF16 does, without its branches (it was a tenth of a q8_0 BERT's time).
    d[b] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(dd), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    const __m256 idv = _mm256_set1_ps(id);
    __m256i qi[4];
    for (int i = 0; i < 4; ++i) {
      const __m256 s = _mm256_mul_ps(v[i], idv);
      const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      // s - t is exact; where it is +-0.5 or more, step away from zero.
      const __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(s, t)), half, _CMP_GE_OQ);
      const __m256 step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(s, sign), one));
      qi[i] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
    }
    // int32 -> int8 with saturation (values are within +-127), then undo the per-lane interleave.
    const __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]);
    const __m256i p16b = _mm256_packs_epi32(qi[2], qi[3]);
    const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b),
                                                   _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kQBlock), p8);
    const __m256i sums = Ops::GroupSums4(p8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(nsum4 + b * 8), _mm256_sub_epi32(_mm256_setzero_si256(), sums));
  }
}

// Integer tiles. One Q8_0/Q4_0 block is one 256-bit vector of 32 int8 lanes. Ops provides:
//   UnpackQ4(q16):       the 16 bytes of a Q4_0 block as 32 unsigned bytes in element order,
//                        each the nibble, or (upper 16) the nibble times 16 if Ops says so
//   Q4Init(nsum4):       the matching -8 (or -128 for the x16 half) times x's group sums
//   Q4Finish(acc):       undoes the x16 on the upper four float lanes at the end (exact)
//   DotQ4(init, u, s):   init + per-int32-lane sums of u[i]*s[i], u unsigned, s int8
//   PrepQ8(w) -> Q8W:    per weight block work that does not depend on the token
//   DotQ8(init, pw, x):  init + sums of (w[i] + Ops::kQ8Offset) * x[i]
// The Q4 nibbles are not re-centred: init carries -8 * (sum of x over each lane's 4 elements),
// so that each lane ends up with the exact sum of its 4 true products; the Q8 policy may use an
// offset the same way (VNNI multiplies unsigned by signed bytes).
//
// Everything here stays on 256-bit vectors: on CPUs with AVX-512, 512-bit instructions close
// vector port 1, and these loops are bound by vector ports, not by loads. Per row and block the
// decode loop is unpack, dot, convert and one FMA whose scale operand is a broadcast from memory:
// the weight scales are widened from fp16 in bulk before the loop (times the token's activation
// scale when there is one token), for a chunk of blocks at a time.

constexpr int64_t kScaleChunk = 128;  // blocks per chunk: 4096 elements

// 16 bytes of packed nibbles as 32 bytes in element order: element j (< 16) is the low nibble of
// byte j, element j + 16 its high nibble (the order of Q4_0, Q4_1, Q5_x, IQ4 blocks). The
// broadcast load needs no shuffle port.
inline __m256i SplitNibbles(const uint8_t* q16) {
  const __m256i z = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q16)));
  return _mm256_and_si256(_mm256_blend_epi32(z, _mm256_srli_epi16(z, 4), 0xf0), _mm256_set1_epi8(0x0f));
}

// ws[r][i] = fp16 scale of block b0+i of row r, as float, times dx[i] when dx is not null.
// The scales sit 18 or 34 bytes apart; eight at a time are inserted into a vector straight from
// memory (a load and one shuffle each), then widened and scaled together. Measured against the
// alternatives: packing them with scalar shifts costs more on the busy vector ports (shifts share
// port 0), and storing them to a buffer to load as a vector stalls on store forwarding.
template <int R>
inline void WidenScales(const uint8_t* const* rows, size_t block_bytes, int64_t b0, int64_t len,
                        const float* dx, float (*ws)[kScaleChunk]) {
  for (int r = 0; r < R; ++r) {
    const uint8_t* p = rows[r] + b0 * block_bytes;
    auto load = [&](int64_t i) {
      int16_t v;
      std::memcpy(&v, p + i * block_bytes, sizeof v);
      return v;
    };
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
      __m128i h = _mm_cvtsi32_si128(static_cast<uint16_t>(load(i)));
      h = _mm_insert_epi16(h, load(i + 1), 1);
      h = _mm_insert_epi16(h, load(i + 2), 2);
      h = _mm_insert_epi16(h, load(i + 3), 3);
      h = _mm_insert_epi16(h, load(i + 4), 4);
      h = _mm_insert_epi16(h, load(i + 5), 5);
      h = _mm_insert_epi16(h, load(i + 6), 6);
      h = _mm_insert_epi16(h, load(i + 7), 7);
      __m256 v = _mm256_cvtph_ps(h);
      if (dx) v = _mm256_mul_ps(v, _mm256_loadu_ps(dx + i));
      _mm256_storeu_ps(ws[r] + i, v);
    }
    for (; i < len; ++i) ws[r][i] = _cvtsh_ss(static_cast<uint16_t>(load(i))) * (dx ? dx[i] : 1.0f);
  }
}

template <class Ops, int R, int C, bool kQ4>
void TileQ(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBlockBytes = kQ4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
  const int64_t nb = a.K / kQBlock;
  const QuantTileInputs<R, C> in(a, n, t);
  const auto& w = in.w;
  const auto& xq = in.xq;
  const auto& xd = in.xd;
  const auto& xs = in.xs;
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  alignas(32) float ws[R][kScaleChunk];
  // The R rows are one contiguous run of memory, and the next tile's rows follow it. Short rows
  // (a few cache lines each) give the hardware prefetchers too little to lock on to, so the
  // loop prefetches the run kPrefetchTiles ahead, at the pace it consumes this one, into L2:
  // L2 tracks more misses in flight than L1 (measured: +8% from memory, -2% from cache).
  // An integer, not a pointer: near the end of the matrix it points past the weights, which a
  // prefetch may do (it never faults) but pointer arithmetic may not.
  const uintptr_t prefetch = in.prefetch;
  constexpr size_t kRunPerBlock = R * kBlockBytes;

  for (int64_t b0 = 0; b0 < nb; b0 += kScaleChunk) {
    const int64_t len = nb - b0 < kScaleChunk ? nb - b0 : kScaleChunk;
    WidenScales<R>(w, kBlockBytes, b0, len, C == 1 ? xd[0] + b0 : nullptr, ws);
    for (int64_t i = 0; i < len; ++i) {
      const int64_t b = b0 + i;
      // Only on the first pass over these rows: later token passes find them in cache.
      for (size_t off = 0; t == 0 && off < kRunPerBlock; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(prefetch + b * kRunPerBlock + off), _MM_HINT_T1);
      }
      __m256i xv[C], init[C];
      for (int c = 0; c < C; ++c) {
        xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[c] + b * kQBlock));
        const __m256i ns = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + b * 8));
        if (kQ4) {
          init[c] = Ops::Q4Init(ns);
        } else {
          static_assert(Ops::kQ8Offset == 0 || Ops::kQ8Offset == 128, "offset must be a shift");
          init[c] = Ops::kQ8Offset == 0 ? _mm256_setzero_si256() : _mm256_slli_epi32(ns, 7);
        }
      }
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = w[r] + b * kBlockBytes + sizeof(uint16_t);  // the quants
        const __m256 wscale = _mm256_set1_ps(ws[r][i]);
        if (kQ4) {
          const __m256i u = Ops::UnpackQ4(blk);
          for (int c = 0; c < C; ++c) {
            const __m256 d = _mm256_cvtepi32_ps(Ops::DotQ4(init[c], u, xv[c]));
            acc[r][c] = _mm256_fmadd_ps(d, C == 1 ? wscale : _mm256_mul_ps(wscale, _mm256_set1_ps(xd[c][b])),
                                        acc[r][c]);
          }
        } else {
          const typename Ops::Q8W pw = Ops::PrepQ8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
          for (int c = 0; c < C; ++c) {
            const __m256 d = _mm256_cvtepi32_ps(Ops::DotQ8(init[c], pw, xv[c]));
            acc[r][c] = _mm256_fmadd_ps(d, C == 1 ? wscale : _mm256_mul_ps(wscale, _mm256_set1_ps(xd[c][b])),
                                        acc[r][c]);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      const __m256 v = kQ4 ? Ops::Q4Finish(acc[r][c]) : acc[r][c];
      a.y[(t + c) * a.N + n + r] = HSum256(v) + BiasOf(a, n + r);
    }
  }
}

template <class Ops, int R, int C>
void TileQ4(const MatMulArgs& a, int64_t n, int64_t t) {
  TileQ<Ops, R, C, true>(a, n, t);
}
template <class Ops, int R, int C>
void TileQ8(const MatMulArgs& a, int64_t n, int64_t t) {
  TileQ<Ops, R, C, false>(a, n, t);
}

// Decode (one token) takes kDecodeRows rows at a time: the per-block work on x is shared by more
// rows, and there are registers to spare without a token dimension.
constexpr int kDecodeRows = 8;

template <class Ops, int R, int C>
void RowsQ4(const MatMulArgs& a, int64_t n0, int64_t n1) {
  if (a.T == 1) {
    RunTiles<TileQ4<Ops, kDecodeRows, 1>, TileQ4<Ops, kDecodeRows, 1>, TileQ4<Ops, 1, 1>, TileQ4<Ops, 1, 1>,
             kDecodeRows, 1>(a, n0, n1);
    return;
  }
  RunTiles<TileQ4<Ops, R, C>, TileQ4<Ops, R, 1>, TileQ4<Ops, 1, C>, TileQ4<Ops, 1, 1>, R, C>(a, n0, n1);
}
template <class Ops, int R, int C>
void RowsQ8(const MatMulArgs& a, int64_t n0, int64_t n1) {
  if (a.T == 1) {
    RunTiles<TileQ8<Ops, kDecodeRows, 1>, TileQ8<Ops, kDecodeRows, 1>, TileQ8<Ops, 1, 1>, TileQ8<Ops, 1, 1>,
             kDecodeRows, 1>(a, n0, n1);
    return;
  }
  RunTiles<TileQ8<Ops, R, C>, TileQ8<Ops, R, 1>, TileQ8<Ops, 1, C>, TileQ8<Ops, 1, 1>, R, C>(a, n0, n1);
}
}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __x86_64__

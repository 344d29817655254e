// Private to kernels/cpu: MatMul tiles for Q4_K, Q5_K and Q6_K weights, shared by matmul_avx2.cpp
// and matmul_avx512.cpp like x86_matmul_tiles.h (whose RunTiles, HSum256 and the Ops policies
// they reuse: Ops::DotQ4(init, u, x) adds per-int32-lane sums of u[i] * x[i], u unsigned).
//
// They compute ref::MatMulQ8Activations: activations in Q8_0 blocks of 32, and each 32-group of
// a weight row unpacked to 32 unsigned quants u (ref::QuantGroup, in element order), so that
// one group meets one activation block. Per group and token: one integer dot product, converted
// and multiplied by (weight scale * activation scale), eight lanes at a time: lanes 0..3 hold
// elements 0..15 and lanes 4..7 elements 16..31, which is where Q6_K's two scales of 16 go. Q6_K's
// offset of 32 comes back through init (32 * the activations' negated group sums, as Q4_0's 8);
// the minimums of Q4_K/Q5_K are one fused multiply-add per super-block against the activations'
// scaled block sums (MatMulArgs::xds), in the same accumulator.
#pragma once

#if defined(__x86_64__)

#include "reference_kernels.h"
#include "x86_matmul_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// The 32 quants of group g (0..7) of one super-block, as unsigned bytes in element order.
template <DType kType>
inline __m256i UnpackKGroup(const uint8_t* block, int g) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  if (kType == DType::kQ6_K) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(block);
    const int half = g / 4, quarter = g % 4;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * half + 32 * (quarter % 2)));
    const __m256i nib = quarter < 2 ? _mm256_and_si256(lo, low4) : _mm256_and_si256(_mm256_srli_epi16(lo, 4), low4);
    const __m256i hv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * half));
    // Bits 2q..2q+1 of each byte; a 16-bit shift is fine, as the mask drops what crossed bytes.
    const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(hv, _mm_cvtsi32_si128(2 * quarter)), _mm256_set1_epi8(3));
    return _mm256_or_si256(nib, _mm256_slli_epi16(hi, 4));
  }
  // Q4_K / Q5_K: groups 2p and 2p + 1 are the low and high nibbles of the same 32 bytes.
  const uint8_t* qs = kType == DType::kQ5_K ? reinterpret_cast<const BlockQ5_K*>(block)->qs
                                            : reinterpret_cast<const BlockQ4_K*>(block)->qs;
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (g / 2)));
  __m256i u = g % 2 == 0 ? _mm256_and_si256(v, low4) : _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
  if (kType == DType::kQ5_K) {
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ5_K*>(block)->qh));
    const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << g));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
    u = _mm256_or_si256(u, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
  }
  return u;
}

// Per super-block and row: the float scale of each group's two halves, and each group's minimum
// (as ref::QuantGroupOf computes them).
template <DType kType>
inline void KScales(const uint8_t* block, float (*scale)[2], float* min) {
  if (kType == DType::kQ6_K) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(block);
    const float d = _cvtsh_ss(b->d);
    for (int g = 0; g < 8; ++g) {
      scale[g][0] = d * static_cast<float>(b->scales[2 * g]);
      scale[g][1] = d * static_cast<float>(b->scales[2 * g + 1]);
      min[g] = 0.0f;
    }
    return;
  }
  const bool q5 = kType == DType::kQ5_K;
  const uint16_t d16 = q5 ? reinterpret_cast<const BlockQ5_K*>(block)->d : reinterpret_cast<const BlockQ4_K*>(block)->d;
  const uint16_t m16 = q5 ? reinterpret_cast<const BlockQ5_K*>(block)->dmin : reinterpret_cast<const BlockQ4_K*>(block)->dmin;
  const uint8_t* packed = q5 ? reinterpret_cast<const BlockQ5_K*>(block)->scales : reinterpret_cast<const BlockQ4_K*>(block)->scales;
  const float d = _cvtsh_ss(d16), dmin = _cvtsh_ss(m16);
  for (int g = 0; g < 8; ++g) {
    uint8_t sc, m;
    ref::ScaleMinK4(g, packed, &sc, &m);
    scale[g][0] = scale[g][1] = d * sc;
    min[g] = dmin * m;
  }
}

template <class Ops, int R, int C, DType kType>
void TileK(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBlockBytes = kType == DType::kQ6_K ? sizeof(BlockQ6_K)
                                 : kType == DType::kQ5_K ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const int64_t nsb = a.K / kQKBlock;
  const int64_t nb = a.K / kQBlock;
  const uint8_t* w[R];
  for (int r = 0; r < R; ++r) w[r] = a.w + (n + r) * a.w_row_bytes;
  const int8_t* xq[C];
  const float* xd[C];
  const int32_t* xs[C];
  const float* xds[C];
  for (int c = 0; c < C; ++c) {
    xq[c] = a.xq + (t + c) * a.K;
    xd[c] = a.xd + (t + c) * nb;
    xs[c] = a.xnsum4 + (t + c) * (a.K / 4);
    xds[c] = a.xds + (t + c) * nb;
  }
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  alignas(32) float scale[R][8][2];
  alignas(32) float min[R][8];

  for (int64_t sb = 0; sb < nsb; ++sb) {
    for (int r = 0; r < R; ++r) {
      KScales<kType>(w[r] + sb * kBlockBytes, scale[r], min[r]);
      if (kType != DType::kQ6_K) {
        const __m256 mv = _mm256_load_ps(min[r]);
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fnmadd_ps(mv, _mm256_loadu_ps(xds[c] + sb * 8), acc[r][c]);
      }
      if (C == 1) {  // one token: its Q8_K scale (the same for the 8 groups) folds into the weights'
        const float dx = xd[0][sb * 8];
        for (int g = 0; g < 8; ++g) scale[r][g][0] *= dx, scale[r][g][1] *= dx;
      }
    }
    for (int g = 0; g < 8; ++g) {
      const int64_t b = sb * 8 + g;
      __m256i xv[C], init[C];
      for (int c = 0; c < C; ++c) {
        xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[c] + b * kQBlock));
        init[c] = kType == DType::kQ6_K
                      ? _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + b * 8)), 5)
                      : _mm256_setzero_si256();
      }
      for (int r = 0; r < R; ++r) {
        const __m256i u = UnpackKGroup<kType>(w[r] + sb * kBlockBytes, g);
        const __m256 ws = kType == DType::kQ6_K
                              ? _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(scale[r][g][0])),
                                                     _mm_set1_ps(scale[r][g][1]), 1)
                              : _mm256_set1_ps(scale[r][g][0]);
        for (int c = 0; c < C; ++c) {
          const __m256 d = _mm256_cvtepi32_ps(Ops::DotQ4(init[c], u, xv[c]));
          acc[r][c] = _mm256_fmadd_ps(d, C == 1 ? ws : _mm256_mul_ps(ws, _mm256_set1_ps(xd[c][b])), acc[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) a.y[(t + c) * a.N + n + r] = HSum256(acc[r][c]) + BiasOf(a, n + r);
  }
}

template <class Ops, int R, int C, DType kType>
void RowsK(const MatMulArgs& a, int64_t n0, int64_t n1) {
  if (a.T == 1) {
    RunTiles<TileK<Ops, kDecodeRows, 1, kType>, TileK<Ops, kDecodeRows, 1, kType>, TileK<Ops, 1, 1, kType>,
             TileK<Ops, 1, 1, kType>, kDecodeRows, 1>(a, n0, n1);
    return;
  }
  RunTiles<TileK<Ops, R, C, kType>, TileK<Ops, R, 1, kType>, TileK<Ops, 1, C, kType>, TileK<Ops, 1, 1, kType>, R, C>(
      a, n0, n1);
}

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __x86_64__

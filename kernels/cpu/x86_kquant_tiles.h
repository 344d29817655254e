// Private to kernels/cpu: MatMul tiles for the 256-element super-block types (Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K, IQ4_XS), shared by matmul_avx2.cpp and matmul_avx512.cpp like x86_matmul_tiles.h
// (whose RunTiles, HSum256 and the Ops policies they reuse: Ops::DotQ4(init, u, x) adds
// per-int32-lane sums of u[i] * x[i], u unsigned).
//
// They compute ref::MatMulQ8Activations: activations in Q8_0 blocks of 32, and each 32-group of
// a weight row unpacked to 32 unsigned quants u (ref::QuantGroup, in element order), so that
// one group meets one activation block. Per group and token: one integer dot product, converted
// and multiplied by (weight scale * activation scale), eight lanes at a time: lanes 0..3 hold
// elements 0..15 and lanes 4..7 elements 16..31, which is where the two scales of 16 of Q2_K,
// Q3_K and Q6_K go. Offsets (32 for Q6_K, 4 for Q3_K) come back through init (the offset times
// the activations' negated sums of 4, as Q4_0's 8). The minimums of Q4_K/Q5_K are one fused
// multiply-add per super-block against the activations' scaled block sums (MatMulArgs::xds);
// Q2_K's, one per 16 elements, one per group against the negated sums of 4, lane by lane.
// IQ4_XS's levels are signed (to 127 in magnitude, where level + 128 would overflow pmaddubsw's
// pairs): |level| meets the activations with the level's sign moved onto them.
#pragma once

#if defined(__x86_64__)

#include <cstring>

#include "reference_kernels.h"
#include "x86_matmul_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

template <DType kType>
constexpr size_t kKBlockBytes = kType == DType::kQ2_K    ? sizeof(BlockQ2_K)
                                : kType == DType::kQ3_K  ? sizeof(BlockQ3_K)
                                : kType == DType::kQ5_K  ? sizeof(BlockQ5_K)
                                : kType == DType::kQ6_K  ? sizeof(BlockQ6_K)
                                : kType == DType::kIQ4_XS ? sizeof(BlockIQ4_XS)
                                                         : sizeof(BlockQ4_K);
// The quant offset each type's unsigned quants carry (ref::QuantGroup::offset), IQ4_XS aside.
template <DType kType>
constexpr int kKOffset = kType == DType::kQ6_K ? 32 : (kType == DType::kQ3_K ? 4 : 0);

// Bits `shift`..`shift` + 1 of each byte of v.
inline __m256i TwoBits(__m256i v, int shift) {
  // A 16-bit shift is fine, as the mask drops what crossed bytes.
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(3));
}

// The IQ4 levels (signed) of 32 nibble indices.
inline __m256i Iq4Levels(__m256i idx) {
  const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4Levels)));
  return _mm256_shuffle_epi8(levels, idx);
}

// The 32 quants of group g (0..7) of one super-block in element order: unsigned bytes (the
// QuantGroup's u), or for IQ4_XS the signed levels.
template <DType kType>
inline __m256i UnpackKGroup(const uint8_t* block, int g) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  if (kType == DType::kQ6_K) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(block);
    const int half = g / 4, quarter = g % 4;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * half + 32 * (quarter % 2)));
    const __m256i nib = quarter < 2 ? _mm256_and_si256(lo, low4) : _mm256_and_si256(_mm256_srli_epi16(lo, 4), low4);
    const __m256i hv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * half));
    return _mm256_or_si256(nib, _mm256_slli_epi16(TwoBits(hv, 2 * quarter), 4));
  }
  if (kType == DType::kQ2_K || kType == DType::kQ3_K) {
    // Group g: the 32 bytes of qs for its 128-element half, bits 2 * (g % 4); Q3_K's third bit is
    // bit g of hmask[l].
    const uint8_t* qs = kType == DType::kQ2_K ? reinterpret_cast<const BlockQ2_K*>(block)->qs
                                              : reinterpret_cast<const BlockQ3_K*>(block)->qs;
    __m256i u = TwoBits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (g / 4))), 2 * (g % 4));
    if (kType == DType::kQ3_K) {
      const __m256i hm =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ3_K*>(block)->hmask));
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << g));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
      u = _mm256_or_si256(u, _mm256_and_si256(set, _mm256_set1_epi8(4)));
    }
    return u;
  }
  if (kType == DType::kIQ4_XS) {
    return Iq4Levels(SplitNibbles(reinterpret_cast<const BlockIQ4_XS*>(block)->qs + 16 * g));
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

// 16 sub-block scales (int8, in sub-block order) times d, into out[16].
inline void ScalesTimes(__m128i s8, float d, float* out) {
  const __m256 dv = _mm256_set1_ps(d);
  _mm256_store_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)), dv));
  _mm256_store_ps(out + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s8, 8))), dv));
}

// Per super-block and row, as ref::QuantGroupOf computes them: the float scale of every half
// group in sub-block order (scale[2g + h]), and the minimums: per half group (hmin, Q2_K) or per
// group (gmin, Q4_K/Q5_K).
template <DType kType>
inline void KScales(const uint8_t* block, float* scale, float* hmin, float* gmin) {
  if (kType == DType::kQ6_K) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(block);
    ScalesTimes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)), _cvtsh_ss(b->d), scale);
    return;
  }
  if (kType == DType::kQ2_K) {
    const BlockQ2_K* b = reinterpret_cast<const BlockQ2_K*>(block);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales));
    const __m128i low4 = _mm_set1_epi8(0x0f);
    ScalesTimes(_mm_and_si128(v, low4), _cvtsh_ss(b->d), scale);
    ScalesTimes(_mm_and_si128(_mm_srli_epi16(v, 4), low4), _cvtsh_ss(b->dmin), hmin);
    return;
  }
  if (kType == DType::kQ3_K) {
    // The 16 six-bit scales as bytes (ref::Q3_KScale for every j at once: ggml's kmask shuffle),
    // then minus their offset of 32.
    const BlockQ3_K* b = reinterpret_cast<const BlockQ3_K*>(block);
    uint32_t aux[3];
    std::memcpy(aux, b->scales, 12);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const __m128i bytes = _mm_setr_epi32(static_cast<int>((aux[0] & m4) | ((aux[2] & m2) << 4)),
                                         static_cast<int>((aux[1] & m4) | (((aux[2] >> 2) & m2) << 4)),
                                         static_cast<int>(((aux[0] >> 4) & m4) | (((aux[2] >> 4) & m2) << 4)),
                                         static_cast<int>(((aux[1] >> 4) & m4) | (((aux[2] >> 6) & m2) << 4)));
    ScalesTimes(_mm_sub_epi8(bytes, _mm_set1_epi8(32)), _cvtsh_ss(b->d), scale);
    return;
  }
  if (kType == DType::kIQ4_XS) {
    const BlockIQ4_XS* b = reinterpret_cast<const BlockIQ4_XS*>(block);
    const float d = _cvtsh_ss(b->d);
    for (int g = 0; g < 8; ++g) scale[2 * g] = scale[2 * g + 1] = d * static_cast<float>(ref::IQ4_XSScale(*b, g) - 32);
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
    scale[2 * g] = scale[2 * g + 1] = d * sc;
    gmin[g] = dmin * m;
  }
  (void)hmin;
}

// The two half scales of group g (of 16 in sub-block order) as lanes 0..3 and 4..7.
inline __m256 HalfPair(const float* v16, int g) {
  const __m256 v = _mm256_load_ps(v16 + 8 * (g / 4));
  const int i = 2 * (g % 4);
  return _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(i, i, i, i, i + 1, i + 1, i + 1, i + 1));
}

template <class Ops, int R, int C, DType kType>
void TileK(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBlockBytes = kKBlockBytes<kType>;
  constexpr bool kBlockMin = kType == DType::kQ4_K || kType == DType::kQ5_K;  // per group, via xds
  constexpr bool kHalfMin = kType == DType::kQ2_K;                            // per 16, via xnsum4
  constexpr bool kTwoScales = kType == DType::kQ6_K || kType == DType::kQ3_K || kType == DType::kQ2_K;
  constexpr bool kSigned = kType == DType::kIQ4_XS;
  constexpr int kOffset = kKOffset<kType>;
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
  alignas(32) float scale[R][16];
  alignas(32) float hmin[R][16];
  alignas(32) float gmin[R][8];

  for (int64_t sb = 0; sb < nsb; ++sb) {
    for (int r = 0; r < R; ++r) {
      KScales<kType>(w[r] + sb * kBlockBytes, scale[r], hmin[r], gmin[r]);
      if (kBlockMin) {
        const __m256 mv = _mm256_load_ps(gmin[r]);
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fnmadd_ps(mv, _mm256_loadu_ps(xds[c] + sb * 8), acc[r][c]);
      }
      if (C == 1) {  // one token: its Q8_K scale (the same for the 8 groups) folds into the weights'
        const __m256 dx = _mm256_set1_ps(xd[0][sb * 8]);
        for (int i = 0; i < 16; i += 8) {
          _mm256_store_ps(scale[r] + i, _mm256_mul_ps(_mm256_load_ps(scale[r] + i), dx));
          if (kHalfMin) _mm256_store_ps(hmin[r] + i, _mm256_mul_ps(_mm256_load_ps(hmin[r] + i), dx));
        }
      }
    }
    for (int g = 0; g < 8; ++g) {
      const int64_t b = sb * 8 + g;
      __m256i xv[C], init[C], nsum[C];
      for (int c = 0; c < C; ++c) {
        xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[c] + b * kQBlock));
        if (kOffset != 0 || kHalfMin) nsum[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + b * 8));
        init[c] = kOffset == 32  ? _mm256_slli_epi32(nsum[c], 5)
                  : kOffset == 4 ? _mm256_slli_epi32(nsum[c], 2)
                                 : _mm256_setzero_si256();
      }
      for (int r = 0; r < R; ++r) {
        const __m256i q = UnpackKGroup<kType>(w[r] + sb * kBlockBytes, g);
        const __m256i u = kSigned ? _mm256_abs_epi8(q) : q;
        const __m256 ws = kTwoScales ? HalfPair(scale[r], g) : _mm256_set1_ps(scale[r][2 * g]);
        const __m256 mv = kHalfMin ? HalfPair(hmin[r], g) : _mm256_setzero_ps();
        for (int c = 0; c < C; ++c) {
          const __m256i x = kSigned ? _mm256_sign_epi8(xv[c], q) : xv[c];
          const __m256 d = _mm256_cvtepi32_ps(Ops::DotQ4(init[c], u, x));
          const __m256 xdc = _mm256_set1_ps(xd[c][b]);
          acc[r][c] = _mm256_fmadd_ps(d, C == 1 ? ws : _mm256_mul_ps(ws, xdc), acc[r][c]);
          // Q2_K: + min * (minus the sum of each lane's 4 activations).
          if (kHalfMin) {
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(nsum[c]), C == 1 ? mv : _mm256_mul_ps(mv, xdc), acc[r][c]);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) a.y[(t + c) * a.N + n + r] = HSum256(acc[r][c]) + BiasOf(a, n + r);
  }
}

// ---- The 32-element block types read as groups: Q4_1, Q5_0, Q5_1, IQ4_NL ----------------------
// The same per-group product for blocks of 32 with their own fp16 scale, for the rows the CPU
// backend has not repacked (IQ4_NL always; Q4_1/Q5_x where cpu_repack is off or panels are
// missing). Activations are Q8_0 blocks; Q4_1/Q5_1's minimum meets the block's Q8_1 sum (xds),
// Q5_0's offset of 16 comes back through init, IQ4_NL's signed levels as IQ4_XS's.

template <DType kType>
constexpr size_t kBBlockBytes = kType == DType::kQ4_1   ? sizeof(BlockQ4_1)
                                : kType == DType::kQ5_0 ? sizeof(BlockQ5_0)
                                : kType == DType::kQ5_1 ? sizeof(BlockQ5_1)
                                                        : sizeof(BlockIQ4_NL);

// Bit j of the 32-bit word at p to all of byte j (0xff when set).
inline __m256i BytesFromBits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202,
                                                                0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// The 32 quants of one block in element order: unsigned (u), or IQ4_NL's signed levels.
template <DType kType>
inline __m256i UnpackBlock(const uint8_t* block) {
  const uint8_t* q = kType == DType::kQ4_1   ? reinterpret_cast<const BlockQ4_1*>(block)->q
                     : kType == DType::kQ5_0 ? reinterpret_cast<const BlockQ5_0*>(block)->q
                     : kType == DType::kQ5_1 ? reinterpret_cast<const BlockQ5_1*>(block)->q
                                             : reinterpret_cast<const BlockIQ4_NL*>(block)->qs;
  const __m256i nib = SplitNibbles(q);
  if (kType == DType::kIQ4_NL) return Iq4Levels(nib);
  if (kType == DType::kQ4_1) return nib;
  const uint8_t* qh = kType == DType::kQ5_0 ? reinterpret_cast<const BlockQ5_0*>(block)->qh
                                            : reinterpret_cast<const BlockQ5_1*>(block)->qh;
  return _mm256_or_si256(nib, _mm256_and_si256(BytesFromBits(qh), _mm256_set1_epi8(0x10)));
}

template <class Ops, int R, int C, DType kType>
void TileB(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBytes = kBBlockBytes<kType>;
  constexpr bool kMin = kType == DType::kQ4_1 || kType == DType::kQ5_1;
  constexpr bool kSigned = kType == DType::kIQ4_NL;
  const int64_t nb = a.K / kQBlock;
  const uint8_t* w[R];
  for (int r = 0; r < R; ++r) w[r] = a.w + (n + r) * a.w_row_bytes;
  __m256 acc[R][C];
  float macc[R][C];  // the minimums' terms, summed apart: one scalar product per block
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps(), macc[r][c] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xv[C], init[C];
    for (int c = 0; c < C; ++c) {
      xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.xq + (t + c) * a.K + b * kQBlock));
      init[c] = kType == DType::kQ5_0
                    ? _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                            a.xnsum4 + (t + c) * (a.K / 4) + b * 8)),
                                        4)
                    : _mm256_setzero_si256();
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* blk = w[r] + b * kBytes;
      uint16_t d16;
      std::memcpy(&d16, blk, 2);
      const float d = _cvtsh_ss(d16);
      const __m256i q = UnpackBlock<kType>(blk);
      const __m256i u = kSigned ? _mm256_abs_epi8(q) : q;
      float m = 0.0f;
      if (kMin) {
        uint16_t m16;
        std::memcpy(&m16, blk + 2, 2);
        m = _cvtsh_ss(m16);
      }
      for (int c = 0; c < C; ++c) {
        const __m256i x = kSigned ? _mm256_sign_epi8(xv[c], q) : xv[c];
        const __m256 dot = _mm256_cvtepi32_ps(Ops::DotQ4(init[c], u, x));
        acc[r][c] = _mm256_fmadd_ps(dot, _mm256_set1_ps(d * a.xd[(t + c) * nb + b]), acc[r][c]);
        if (kMin) macc[r][c] += m * a.xds[(t + c) * nb + b];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) a.y[(t + c) * a.N + n + r] = HSum256(acc[r][c]) + macc[r][c] + BiasOf(a, n + r);
  }
}

// One R x C tile of any type read as groups: the super-block types' tile or the 32-element one.
template <class Ops, int R, int C, DType kType>
void TileGroups(const MatMulArgs& a, int64_t n, int64_t t) {
  if constexpr (kType == DType::kQ4_1 || kType == DType::kQ5_0 || kType == DType::kQ5_1 || kType == DType::kIQ4_NL) {
    TileB<Ops, R, C, kType>(a, n, t);
  } else {
    TileK<Ops, R, C, kType>(a, n, t);
  }
}

template <class Ops, int R, int C, DType kType>
void RowsGroupTiles(const MatMulArgs& a, int64_t n0, int64_t n1) {
  if (a.T == 1) {
    RunTiles<TileGroups<Ops, kDecodeRows, 1, kType>, TileGroups<Ops, kDecodeRows, 1, kType>,
             TileGroups<Ops, 1, 1, kType>, TileGroups<Ops, 1, 1, kType>, kDecodeRows, 1>(a, n0, n1);
    return;
  }
  RunTiles<TileGroups<Ops, R, C, kType>, TileGroups<Ops, R, 1, kType>, TileGroups<Ops, 1, C, kType>,
           TileGroups<Ops, 1, 1, kType>, R, C>(a, n0, n1);
}


}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __x86_64__

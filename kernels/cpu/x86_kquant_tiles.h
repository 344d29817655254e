// Private to kernels/cpu: MatMul tiles for the 256-element super-block types (Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K, IQ4_XS), shared by matmul_avx2.cpp and matmul_avx512.cpp like x86_matmul_tiles.h
// (whose RunTiles, HSum256 and the Ops policies they reuse: Ops::DotQ4(init, u, x) adds
// per-int32-lane sums of u[i] * x[i], u unsigned).
//
// They compute ref::MatMulQ8Activations: activations in Q8_0 blocks of 32, and each 32-group of
// a weight row unpacked to 32 unsigned quants u (ref::QuantGroup, in element order), so that
// one group meets one activation block. Per group and token: one integer dot product, converted
// and multiplied by (weight scale * activation scale), eight lanes at a time: lanes 0..3 hold
// elements 0..15 and lanes 4..7 elements 16..31, which is where Q6_K's two scales of 16 go. Its
// offset of 32 comes back through init (the offset times the activations' negated sums of 4, as
// Q4_0's 8). The minimums of Q4_K/Q5_K are one fused multiply-add per super-block against the
// activations' scaled block sums (MatMulArgs::xds). Q2_K and Q3_K, whose sub-block scales are small
// integers, keep a super-block's products integer instead (TileKInt).
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
// The quant offset each type's unsigned quants carry in TileK (ref::QuantGroup::offset), IQ4_XS aside.
template <DType kType>
constexpr int kKOffset = kType == DType::kQ6_K ? 32 : 0;

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

// Q3_K's 16 six-bit scales as bytes in sub-block order, minus their offset of 32 (ref::Q3_KScale for
// every j at once: ggml's kmask shuffle).
inline __m128i Q3KScales(const BlockQ3_K* b) {
  uint32_t aux[3];
  std::memcpy(aux, b->scales, 12);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const __m128i bytes = _mm_setr_epi32(static_cast<int>((aux[0] & m4) | ((aux[2] & m2) << 4)),
                                       static_cast<int>((aux[1] & m4) | (((aux[2] >> 2) & m2) << 4)),
                                       static_cast<int>(((aux[0] >> 4) & m4) | (((aux[2] >> 4) & m2) << 4)),
                                       static_cast<int>(((aux[1] >> 4) & m4) | (((aux[2] >> 6) & m2) << 4)));
  return _mm_sub_epi8(bytes, _mm_set1_epi8(32));
}

// 16 sub-block scales (int8, in sub-block order) times d, into out[16].
inline void ScalesTimes(__m128i s8, float d, float* out) {
  const __m256 dv = _mm256_set1_ps(d);
  _mm256_store_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)), dv));
  _mm256_store_ps(out + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s8, 8))), dv));
}

// Per super-block and row, as ref::QuantGroupOf computes them: the float scale of every half
// group in sub-block order (scale[2g + h]), and the minimums per group (gmin, Q4_K/Q5_K).
template <DType kType>
inline void KScales(const uint8_t* block, float* scale, float* gmin) {
  if (kType == DType::kQ6_K) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(block);
    ScalesTimes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)), _cvtsh_ss(b->d), scale);
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
}

// The two half scales of group g (of 16 in sub-block order) as lanes 0..3 and 4..7.
inline __m256 HalfPair(const float* v16, int g) {
  const __m256 v = _mm256_load_ps(v16 + 8 * (g / 4));
  const int i = 2 * (g % 4);
  return _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(i, i, i, i, i + 1, i + 1, i + 1, i + 1));
}

// Q4_K, Q5_K, Q6_K and IQ4_XS (Q2_K and Q3_K: TileKInt below).
template <class Ops, int R, int C, DType kType>
void TileK(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBlockBytes = kKBlockBytes<kType>;
  constexpr bool kBlockMin = kType == DType::kQ4_K || kType == DType::kQ5_K;  // per group, via xds
  constexpr bool kTwoScales = kType == DType::kQ6_K;
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
  alignas(32) float gmin[R][8];

  for (int64_t sb = 0; sb < nsb; ++sb) {
    for (int r = 0; r < R; ++r) {
      KScales<kType>(w[r] + sb * kBlockBytes, scale[r], gmin[r]);
      if (kBlockMin) {
        const __m256 mv = _mm256_load_ps(gmin[r]);
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fnmadd_ps(mv, _mm256_loadu_ps(xds[c] + sb * 8), acc[r][c]);
      }
      if (C == 1) {  // one token: its Q8_K scale (the same for the 8 groups) folds into the weights'
        const __m256 dx = _mm256_set1_ps(xd[0][sb * 8]);
        for (int i = 0; i < 16; i += 8) _mm256_store_ps(scale[r] + i, _mm256_mul_ps(_mm256_load_ps(scale[r] + i), dx));
      }
    }
    for (int g = 0; g < 8; ++g) {
      const int64_t b = sb * 8 + g;
      __m256i xv[C], init[C];
      for (int c = 0; c < C; ++c) {
        xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[c] + b * kQBlock));
        init[c] = kOffset == 32 ? _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + b * 8)), 5)
                                : _mm256_setzero_si256();
      }
      for (int r = 0; r < R; ++r) {
        const __m256i q = UnpackKGroup<kType>(w[r] + sb * kBlockBytes, g);
        const __m256i u = kSigned ? _mm256_abs_epi8(q) : q;
        const __m256 ws = kTwoScales ? HalfPair(scale[r], g) : _mm256_set1_ps(scale[r][2 * g]);
        for (int c = 0; c < C; ++c) {
          const __m256i x = kSigned ? _mm256_sign_epi8(xv[c], q) : xv[c];
          const __m256 d = _mm256_cvtepi32_ps(Ops::DotQ4(init[c], u, x));
          const __m256 xdc = _mm256_set1_ps(xd[c][b]);
          acc[r][c] = _mm256_fmadd_ps(d, C == 1 ? ws : _mm256_mul_ps(ws, xdc), acc[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) a.y[(t + c) * a.N + n + r] = HSum256(acc[r][c]) + BiasOf(a, n + r);
  }
}

// ---- Q2_K and Q3_K in the integer domain ------------------------------------------------------
// Their sub-block scales are small integers (Q2_K: 4 bits, and 4-bit minimums; Q3_K: 6 bits minus
// 32), so, as llama.cpp does, a super-block's products stay integer: per 32-group, pmaddubsw pairs the
// quants with the activations and pmaddwd multiplies each half's pairs by its scale, adding into one
// int32 accumulator; the minimums (Q2_K) and the offset of 4 (Q3_K) meet the activations' sums of 16
// in one more pmaddwd per super-block. One conversion and fused multiply-add per super-block then
// apply d (and dmin) times the token's Q8_K scale. The float form (TileK) spent a conversion, a
// scale shuffle and a fused multiply-add or two per 32 elements: these two types were bound by
// instructions at 7-9 GB/s. Exact integers, then fewer float roundings than ref::MatMulQ8Activations'
// per-group ones: within the same bound of it.

// The 16 sums of 16 activations of super-block sb (negated, from xnsum4's sums of 4) as int16, the
// even sub-blocks in the low 128-bit lane and the odd ones in the high: the order EvenOdd16 gives.
inline __m256i NegSums16(const int32_t* nsum4) {
  __m256i v[8];
  for (int g = 0; g < 8; ++g) v[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nsum4 + 8 * g));
  // Lanes 0..3 of v[g] are sub-block 2g's four sums of 4, lanes 4..7 sub-block 2g + 1's.
  const __m256i q0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i q1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  // q0: low lane sub-blocks 0, 2, 4, 6, high lane 1, 3, 5, 7; q1 the same for 8..15. |sum| <= 2032.
  return _mm256_packs_epi32(q0, q1);
}

// 16 bytes in sub-block order as int16, even sub-blocks in the low lane, odd ones in the high.
inline __m256i EvenOdd16(__m128i bytes) {
  const __m128i split = _mm_shuffle_epi8(bytes, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  return _mm256_cvtepi8_epi16(split);
}

// Canonical rows are not repacked, so decode streams them through this tile: prefetch each row a
// kilobyte ahead (measured on the 2-core Xeon, decode from memory, 2 threads: Q2_K 606 -> 526 us,
// Q3_K 897 -> 750 us for 2048 x 8192; 512 and 2048 bytes ahead did no better).
constexpr int kKIntPrefetch = 1024;
template <class Ops, int R, int C, DType kType>
void TileKInt(const MatMulArgs& a, int64_t n, int64_t t) {
  static_assert(kType == DType::kQ2_K || kType == DType::kQ3_K, "Q2_K and Q3_K only");
  constexpr bool kQ2 = kType == DType::kQ2_K;
  constexpr size_t kBlockBytes = kKBlockBytes<kType>;
  const int64_t nsb = a.K / kQKBlock;
  const int64_t nb = a.K / kQBlock;
  const uint8_t* w[R];
  for (int r = 0; r < R; ++r) w[r] = a.w + (n + r) * a.w_row_bytes;
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    __m256i nsums[C], xv[8][C];
    for (int c = 0; c < C; ++c) {
      nsums[c] = NegSums16(a.xnsum4 + (t + c) * (a.K / 4) + sb * 64);
      for (int g = 0; g < 8; ++g) {
        xv[g][c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.xq + (t + c) * a.K + (sb * 8 + g) * kQBlock));
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* block = w[r] + sb * kBlockBytes;
      _mm_prefetch(reinterpret_cast<const char*>(block) + kKIntPrefetch, _MM_HINT_T0);
      // The scales as int16 in EvenOdd16 order (and Q2_K's minimums).
      __m256i sc16, m16 = _mm256_setzero_si256();
      float d, dmin = 0.0f;
      if (kQ2) {
        const BlockQ2_K* b = reinterpret_cast<const BlockQ2_K*>(block);
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales));
        sc16 = EvenOdd16(_mm_and_si128(v, _mm_set1_epi8(0x0f)));
        m16 = EvenOdd16(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f)));
        d = _cvtsh_ss(b->d);
        dmin = _cvtsh_ss(b->dmin);
      } else {
        const BlockQ3_K* b = reinterpret_cast<const BlockQ3_K*>(block);
        sc16 = EvenOdd16(Q3KScales(b));
        d = _cvtsh_ss(b->d);
      }
      __m256i isum[C];
      for (int c = 0; c < C; ++c) {
        // Q3_K: sum of sc * (u - 4) * x = sum of sc * u * x + 4 * sum of sc * (-sum of x), per sub-block.
        isum[c] = kQ2 ? _mm256_setzero_si256() : _mm256_slli_epi32(_mm256_madd_epi16(nsums[c], sc16), 2);
      }
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
        const __m256i u = UnpackKGroup<kType>(block, g);
        // Sub-block 2g's scale in every int16 of the low lane, 2g + 1's in the high lane.
        const __m256i scg = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<short>((2 * g) | ((2 * g + 1) << 8))));
        for (int c = 0; c < C; ++c) {
          isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(u, xv[g][c]), scg));
        }
      }
      for (int c = 0; c < C; ++c) {
        const float dx = a.xd[(t + c) * nb + sb * 8];  // the token's Q8_K scale
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(d * dx), acc[r][c]);
        // Q2_K: - dmin * sum of m * (sum of x) = + dmin * sum of m * (negated sums).
        if (kQ2) acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(nsums[c], m16)), _mm256_set1_ps(dmin * dx), acc[r][c]);
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
  } else if constexpr (kType == DType::kQ2_K || kType == DType::kQ3_K) {
    TileKInt<Ops, R, C, kType>(a, n, t);
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

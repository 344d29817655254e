// Device-side reading of the block types other than q8_0/q4_0 (Q4_1, Q5_0, Q5_1, Q2_K..Q6_K,
// IQ4_NL, IQ4_XS) as 32-element groups, the form ref::QuantGroupOf defines: element j of group g
// is scale[j / 16] * v[j] - min[j / 16], with v the signed integer quant (the QuantGroup's
// u - offset, or the IQ4 level). The values come out as int8 packed four to a word, so that the
// matrix x vector kernel multiplies them with int8 activations by dp4a and the tensor-core kernel
// turns them into fp16 with one multiply-subtract. Only .cu files include this.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"

namespace acorn {
namespace cuda {

// The block types read as groups.
__host__ __device__ constexpr bool GroupType(DType t) {
  return t == DType::kQ4_1 || t == DType::kQ5_0 || t == DType::kQ5_1 || t == DType::kQ2_K || t == DType::kQ3_K ||
         t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ6_K || t == DType::kIQ4_NL || t == DType::kIQ4_XS;
}

template <DType DT> struct GroupBlock;
template <> struct GroupBlock<DType::kQ4_1> { using T = BlockQ4_1; };
template <> struct GroupBlock<DType::kQ5_0> { using T = BlockQ5_0; };
template <> struct GroupBlock<DType::kQ5_1> { using T = BlockQ5_1; };
template <> struct GroupBlock<DType::kQ2_K> { using T = BlockQ2_K; };
template <> struct GroupBlock<DType::kQ3_K> { using T = BlockQ3_K; };
template <> struct GroupBlock<DType::kQ4_K> { using T = BlockQ4_K; };
template <> struct GroupBlock<DType::kQ5_K> { using T = BlockQ5_K; };
template <> struct GroupBlock<DType::kQ6_K> { using T = BlockQ6_K; };
template <> struct GroupBlock<DType::kIQ4_NL> { using T = BlockIQ4_NL; };
template <> struct GroupBlock<DType::kIQ4_XS> { using T = BlockIQ4_XS; };

template <DType DT>
constexpr int kGroupBlockBytes = static_cast<int>(sizeof(typename GroupBlock<DT>::T));
// 32-element groups per block: 8 for the 256-element super-blocks.
template <DType DT>
constexpr int kGroupsPerBlock = (DT == DType::kQ4_1 || DT == DType::kQ5_0 || DT == DType::kQ5_1 || DT == DType::kIQ4_NL)
                                    ? 1
                                    : 8;
// Whether a group's value subtracts a minimum times the activations' sum (the K-quants with one).
template <DType DT>
constexpr bool kGroupMinTimesSum = DT == DType::kQ2_K || DT == DType::kQ4_K || DT == DType::kQ5_K;
// Whether the minimum meets the Q8_1 block sum instead (ref::TakesQ8_1Activations).
template <DType DT>
constexpr bool kGroupMinTimesQ8_1 = DT == DType::kQ4_1 || DT == DType::kQ5_1;

struct QuantGroupRegs {
  uint32_t v[8];   // int8 values, element j in byte j % 4 of word j / 4
  float scale[2];  // for elements 0..15 and 16..31
  float min[2];
};

// Loads. Blocks are packed back to back, so a block's alignment is what its size allows: Q5_0,
// Q3_K, Q6_K and IQ4_NL blocks sit at 2-byte boundaries and are read in 16-bit halves.
__device__ __forceinline__ uint32_t Ld16(const uint8_t* p) { return __ldg(reinterpret_cast<const uint16_t*>(p)); }
__device__ __forceinline__ uint32_t Ld32(const uint8_t* p) { return __ldg(reinterpret_cast<const uint32_t*>(p)); }
__device__ __forceinline__ uint32_t Ld32Halves(const uint8_t* p) { return Ld16(p) | (Ld16(p + 2) << 16); }
// N consecutive words from p (2-byte aligned) in N + 1 aligned loads joined by funnel shifts,
// where at least 4 bytes of the same block follow the N words (the extra load may reach them).
template <int N>
__device__ __forceinline__ void LdWordsInBlock(const uint8_t* p, uint32_t (&w)[N]) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uint32_t* base = reinterpret_cast<const uint32_t*>(a & ~uintptr_t{3});
  const uint32_t shift = static_cast<uint32_t>(a & 3u) * 8u;
  uint32_t prev = __ldg(base);
#pragma unroll
  for (int k = 0; k < N; ++k) {
    const uint32_t next = __ldg(base + k + 1);
    w[k] = __funnelshift_r(prev, next, shift);
    prev = next;
  }
}
__device__ __forceinline__ float HalfOf(uint32_t bits) { return __half2float(__ushort_as_half(static_cast<uint16_t>(bits))); }

// Bits 0..3 of b to bit 4 of bytes 0..3 (a Q5 fifth bit per element).
__device__ __forceinline__ uint32_t FifthBits(uint32_t b) {
  return ((b & 1u) << 4) | ((b & 2u) << 11) | ((b & 4u) << 18) | ((b & 8u) << 25);
}

// Levels 4w..4w+3 of kIQ4Levels as the bytes of one word.
__host__ __device__ constexpr uint32_t Iq4TableWord(int w) {
  return static_cast<uint32_t>(static_cast<uint8_t>(kIQ4Levels[4 * w])) |
         static_cast<uint32_t>(static_cast<uint8_t>(kIQ4Levels[4 * w + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(kIQ4Levels[4 * w + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(kIQ4Levels[4 * w + 3])) << 24;
}

// Four IQ4 levels for the nibbles in bits 0..3 of the bytes of `idx` (other bits zero): two byte
// permutes into the 16-entry table, then one that picks per byte from the low or high eight.
__device__ __forceinline__ uint32_t Iq4Levels(uint32_t idx) {
  constexpr uint32_t t0 = Iq4TableWord(0), t1 = Iq4TableWord(1), t2 = Iq4TableWord(2), t3 = Iq4TableWord(3);
  const uint32_t sel = (idx | (idx >> 4)) & 0xffu;                 // nibbles of bytes 0, 1
  const uint32_t sel_all = sel | (((idx >> 16) | (idx >> 20)) & 0xffu) << 8;  // and of bytes 2, 3
  const uint32_t lo = __byte_perm(t0, t1, sel_all & 0x7777u);
  const uint32_t hi = __byte_perm(t2, t3, sel_all & 0x7777u);
  return __byte_perm(lo, hi, 0x3210u | ((sel_all & 0x8888u) >> 1));
}

// The 6-bit scale and minimum of sub-block j (0..7) of a Q4_K/Q5_K block from its 12 packed bytes
// as words w0, w1, w2 (ref::ScaleMinK4).
__device__ __forceinline__ void ScaleMinK4(int j, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t* sc, uint32_t* m) {
  if (j < 4) {
    *sc = (w0 >> (8 * j)) & 63u;
    *m = (w1 >> (8 * j)) & 63u;
  } else {
    const int s = 8 * (j - 4);
    *sc = ((w2 >> s) & 0xFu) | (((w0 >> s) >> 6) & 3u) << 4;
    *m = ((w2 >> s) >> 4 & 0xFu) | (((w1 >> s) >> 6) & 3u) << 4;
  }
}

// Group g of the row starting at `row`.
template <DType DT>
__device__ __forceinline__ void LoadGroup(const uint8_t* row, int64_t g, QuantGroupRegs& o) {
  using B = typename GroupBlock<DT>::T;
  const uint8_t* blk = row + (g / kGroupsPerBlock<DT>) * kGroupBlockBytes<DT>;
  const int s = static_cast<int>(g % kGroupsPerBlock<DT>);
  o.min[0] = o.min[1] = 0.0f;
  if constexpr (DT == DType::kQ4_1 || DT == DType::kQ5_0 || DT == DType::kQ5_1) {
    constexpr bool kMin = DT != DType::kQ5_0, kFive = DT != DType::kQ4_1;
    // Q4_1 and Q5_1 blocks sit at 4-byte boundaries, Q5_0 at 2-byte ones.
    auto word = [&](size_t off) { return DT == DType::kQ5_0 ? Ld32Halves(blk + off) : Ld32(blk + off); };
    const float d = HalfOf(Ld16(blk));
    uint32_t qh = 0;
    if constexpr (kFive) qh = word(offsetof(B, qh));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint32_t q = word(offsetof(B, q) + 4 * k);
      uint32_t lo = q & 0x0f0f0f0fu, hi = (q >> 4) & 0x0f0f0f0fu;
      if (kFive) {
        lo |= FifthBits(qh >> (4 * k));
        hi |= FifthBits(qh >> (16 + 4 * k));
      }
      o.v[k] = kMin ? lo : __vsub4(lo, 0x10101010u);
      o.v[k + 4] = kMin ? hi : __vsub4(hi, 0x10101010u);
    }
    o.scale[0] = o.scale[1] = d;
    if (kMin) o.min[0] = o.min[1] = -HalfOf(Ld16(blk + 2));
  } else if constexpr (DT == DType::kQ4_K || DT == DType::kQ5_K) {
    const uint32_t dd = Ld32(blk);
    uint32_t sc, m;
    ScaleMinK4(s, Ld32(blk + 4), Ld32(blk + 8), Ld32(blk + 12), &sc, &m);
    o.scale[0] = o.scale[1] = HalfOf(dd) * static_cast<float>(sc);
    o.min[0] = o.min[1] = HalfOf(dd >> 16) * static_cast<float>(m);
    // Groups 2p and 2p+1 share 32 bytes of qs: low and high nibbles; Q5_K's fifth bit of group s
    // is bit s of qh[l].
    const uint4* q = reinterpret_cast<const uint4*>(blk + offsetof(B, qs) + 32 * (s / 2));
    const uint4 q0 = __ldg(q), q1 = __ldg(q + 1);
    const uint32_t qw[8] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
    uint32_t hw[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if constexpr (DT == DType::kQ5_K) {
      const uint4* h = reinterpret_cast<const uint4*>(blk + offsetof(BlockQ5_K, qh));
      const uint4 h0 = __ldg(h), h1 = __ldg(h + 1);
      hw[0] = h0.x, hw[1] = h0.y, hw[2] = h0.z, hw[3] = h0.w, hw[4] = h1.x, hw[5] = h1.y, hw[6] = h1.z, hw[7] = h1.w;
    }
    const int shift = 4 * (s % 2);
#pragma unroll
    for (int k = 0; k < 8; ++k) o.v[k] = ((qw[k] >> shift) & 0x0f0f0f0fu) | (((hw[k] >> s) & 0x01010101u) << 4);
  } else if constexpr (DT == DType::kQ6_K) {
    const int half = s / 4, quarter = s % 4;
    const uint8_t* ql = blk + offsetof(BlockQ6_K, ql) + 64 * half + 32 * (quarter % 2);
    const uint8_t* qh = blk + offsetof(BlockQ6_K, qh) + 32 * half;
    const int nshift = 4 * (quarter / 2), hshift = 2 * quarter;
    uint32_t lw[8], hw[8];  // ql is followed by qh, qh by the scales
    LdWordsInBlock(ql, lw);
    LdWordsInBlock(qh, hw);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const uint32_t u = ((lw[k] >> nshift) & 0x0f0f0f0fu) | (((hw[k] >> hshift) & 0x03030303u) << 4);
      o.v[k] = __vsub4(u, 0x20202020u);
    }
    const float d = HalfOf(Ld16(blk + offsetof(BlockQ6_K, d)));
    const uint32_t sc = Ld16(blk + offsetof(BlockQ6_K, scales) + 2 * s);  // sub-blocks 2s, 2s + 1
    o.scale[0] = d * static_cast<float>(static_cast<int8_t>(sc & 0xffu));
    o.scale[1] = d * static_cast<float>(static_cast<int8_t>(sc >> 8));
  } else if constexpr (DT == DType::kQ2_K) {
    // Group s: the 32 bytes of qs for its 128-element half, at shift 2 * (s % 4).
    const uint8_t* q = blk + offsetof(BlockQ2_K, qs) + 32 * (s / 4);
    const int shift = 2 * (s % 4);
#pragma unroll
    for (int k = 0; k < 8; ++k) o.v[k] = (Ld32(q + 4 * k) >> shift) & 0x03030303u;
    const uint32_t dd = Ld32(blk + offsetof(BlockQ2_K, d));
    const uint32_t sc = Ld16(blk + offsetof(BlockQ2_K, scales) + 2 * s);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const uint32_t b = (sc >> (8 * h)) & 0xffu;
      o.scale[h] = HalfOf(dd) * static_cast<float>(b & 0xFu);
      o.min[h] = HalfOf(dd >> 16) * static_cast<float>(b >> 4);
    }
  } else if constexpr (DT == DType::kQ3_K) {
    const uint8_t* q = blk + offsetof(BlockQ3_K, qs) + 32 * (s / 4);
    const uint8_t* hm = blk + offsetof(BlockQ3_K, hmask);
    const int shift = 2 * (s % 4);
    uint32_t qw[8], hw[8];  // hmask is followed by qs, qs by the scales
    LdWordsInBlock(q, qw);
    LdWordsInBlock(hm, hw);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const uint32_t u = ((qw[k] >> shift) & 0x03030303u) | (((hw[k] >> s) & 0x01010101u) << 2);
      o.v[k] = __vsub4(u, 0x04040404u);
    }
    // The 6-bit scales of sub-blocks 2s and 2s + 1: low 4 bits in byte j % 8 (high nibble for
    // j >= 8), high 2 bits at bits 2 * (j / 4) of byte 8 + j % 4 (ref UnpackQ3_KScales).
    const uint8_t* p = blk + offsetof(BlockQ3_K, scales);
    const uint64_t low = static_cast<uint64_t>(Ld32Halves(p)) | static_cast<uint64_t>(Ld32Halves(p + 4)) << 32;
    const uint32_t high = Ld32Halves(p + 8);
    const float d = HalfOf(Ld16(blk + offsetof(BlockQ3_K, d)));
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int j = 2 * s + h;
      const int lo = static_cast<int>((low >> (8 * (j % 8) + (j < 8 ? 0 : 4))) & 0xFu);
      const int hi = static_cast<int>((high >> (8 * (j % 4) + 2 * (j / 4))) & 3u);
      o.scale[h] = d * static_cast<float>((lo | hi << 4) - 32);
    }
  } else if constexpr (DT == DType::kIQ4_NL) {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint32_t q = Ld32Halves(blk + offsetof(BlockIQ4_NL, qs) + 4 * k);
      o.v[k] = Iq4Levels(q & 0x0f0f0f0fu);
      o.v[k + 4] = Iq4Levels((q >> 4) & 0x0f0f0f0fu);
    }
    o.scale[0] = o.scale[1] = HalfOf(Ld16(blk));
  } else if constexpr (DT == DType::kIQ4_XS) {
    const uint32_t head = Ld32(blk);  // d, scales_h
    const uint32_t sl = Ld32(blk + offsetof(BlockIQ4_XS, scales_l));
    const int ls = static_cast<int>(((sl >> (8 * (s / 2) + 4 * (s % 2))) & 0xFu) | ((head >> (16 + 2 * s)) & 3u) << 4);
    o.scale[0] = o.scale[1] = HalfOf(head) * static_cast<float>(ls - 32);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint32_t q = Ld32(blk + offsetof(BlockIQ4_XS, qs) + 16 * s + 4 * k);
      o.v[k] = Iq4Levels(q & 0x0f0f0f0fu);
      o.v[k + 4] = Iq4Levels((q >> 4) & 0x0f0f0f0fu);
    }
  }
}

// Element j of a loaded group, rounded as ref::DequantizeRow rounds it (a product, then the
// minimum subtracted: no fused multiply-add).
__device__ __forceinline__ float GroupElement(const QuantGroupRegs& q, int j) {
  uint32_t word = 0;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    if (k == j / 4) word = q.v[k];  // a select, not an indexed (local-memory) read
  }
  const float v = static_cast<float>(static_cast<int8_t>((word >> (8 * (j % 4))) & 0xffu));
  const int h = j / 16;
  return __fsub_rn(__fmul_rn(h ? q.scale[1] : q.scale[0], v), h ? q.min[1] : q.min[0]);
}

// Bytes of a row of K elements.
template <DType DT>
__host__ __device__ constexpr int64_t GroupRowBytes(int64_t K) {
  return K / (32 * kGroupsPerBlock<DT>) * kGroupBlockBytes<DT>;
}

}  // namespace cuda
}  // namespace acorn

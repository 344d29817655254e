// Private to kernels/cpu: the ARM64 integer MatMul tiles and activation quantizer, shared by
// matmul_neon.cpp, matmul_neon_dotprod.cpp and matmul_neon_i8mm.cpp (the float tiles and the
// tiling walk are in matmul_tiles.h, shared with x86). Each of those files is compiled with its
// own -march flags and includes this with its own integer dot product (Ops); everything here has
// internal linkage, so that the dotprod copy can never be picked by the linker for the baseline.
//
// ARM's integer instructions multiply signed by signed bytes, so unlike x86 no offset-binary trick
// is needed: Q4_0 nibbles are re-centred to -8..7 in the register and every product is the true
// one. Per block each int32 lane holds an exact partial sum (at most 8 * 128 * 127 < 2^24, so its
// conversion to float is exact too); one FMA per block applies the weight scale times the
// activation scale, as ref::MatMulQ8Activations does.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "acorn/dtype.h"
#include "acorn/half.h"
#include "matmul_internal.h"
#include "matmul_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// The fp16 scale at p as float: one FCVT (ARMv8.0), exact as F16ToF32.
inline float HalfAt(const uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, sizeof h);
  return static_cast<float>(h);
}

// ref::QuantizeRowQ8_0 on 4-float vectors, equal bit for bit: the same IEEE operations (max of
// |x|, amax / 127, 1 / d, x * id), and FCVTAS rounds to nearest with ties away from zero, which is
// std::round. A block with a NaN or an infinity (FMAX propagates NaN) goes to the scalar
// quantizer, which writes the reference's NaN scale and zero quants.
inline void QuantizeRowNeon(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4) {
  for (int64_t b = 0; b < K / kQBlock; ++b) {
    const float* xb = x + b * kQBlock;
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int i = 0; i < 8; ++i) {
      v[i] = vld1q_f32(xb + 4 * i);
      amax = vmaxq_f32(amax, vabsq_f32(v[i]));
    }
    const float m = vmaxvq_f32(amax);
    if (!std::isfinite(m)) {
      QuantizeRowScalar(xb, kQBlock, q + b * kQBlock, d + b, nsum4 + b * (kQBlock / 4));
      continue;
    }
    const float dd = m / 127.0f;
    const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    // fp16 round trip by FCVT (round to nearest even, as F32ToF16).
    d[b] = static_cast<float>(static_cast<__fp16>(dd));
    // |x * id| <= amax * (127 / amax) is 127 within a few ulps, so it rounds to at most 127: the
    // reference's clamp never binds, and the narrowing below saturates anyway.
    int32x4_t qi[8];
    for (int i = 0; i < 8; ++i) qi[i] = vcvtaq_s32_f32(vmulq_n_f32(v[i], id));
    for (int h = 0; h < 2; ++h) {
      const int32x4_t* p = qi + 4 * h;
      const int16x8_t lo = vcombine_s16(vqmovn_s32(p[0]), vqmovn_s32(p[1]));
      const int16x8_t hi = vcombine_s16(vqmovn_s32(p[2]), vqmovn_s32(p[3]));
      vst1q_s8(q + b * kQBlock + 16 * h, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
      // Each vector holds one group of 4: pairwise adds give the four group sums in order.
      const int32x4_t sums = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
      vst1q_s32(nsum4 + b * (kQBlock / 4) + 4 * h, vnegq_s32(sums));
    }
  }
}

// A weight block's 32 quants as two vectors of signed bytes in element order (0-15, 16-31).
template <bool kQ4>
inline void LoadWeightBlock(const uint8_t* quants, int8x16_t* lo, int8x16_t* hi) {
  if (kQ4) {
    const uint8x16_t v = vld1q_u8(quants);
    const int8x16_t eight = vdupq_n_s8(8);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f))), eight);
    *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight);
  } else {
    *lo = vld1q_s8(reinterpret_cast<const int8_t*>(quants));
    *hi = vld1q_s8(reinterpret_cast<const int8_t*>(quants) + 16);
  }
}

// Dot tiles: R rows x C tokens, Ops::Dot(w_lo, w_hi, x_lo, x_hi) returns one block's products
// summed into four int32 lanes.
template <class Ops, int R, int C, bool kQ4>
void TileQ(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr size_t kBlockBytes = kQ4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
  const int64_t nb = a.K / kQBlock;
  const QuantTileInputs<R, C> in(a, n, t);
  float32x4_t acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
  constexpr size_t kRunPerBlock = R * kBlockBytes;
  for (int64_t b = 0; b < nb; ++b) {
    // Only on the first pass over these rows: later token passes find them in cache.
    for (size_t off = 0; t == 0 && off < kRunPerBlock; off += 64) PrefetchL2(in.prefetch + b * kRunPerBlock + off);
    // Unrolled by request: clang (14) otherwise keeps the row loop, and the accumulators with it
    // in memory.
    int8x16_t x_lo[C], x_hi[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      x_lo[c] = vld1q_s8(in.xq[c] + b * kQBlock);
      x_hi[c] = vld1q_s8(in.xq[c] + b * kQBlock + 16);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint8_t* blk = in.w[r] + b * kBlockBytes;
      int8x16_t w_lo, w_hi;
      LoadWeightBlock<kQ4>(blk + sizeof(uint16_t), &w_lo, &w_hi);
      const float dw = HalfAt(blk);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const int32x4_t s = Ops::Dot(w_lo, w_hi, x_lo[c], x_hi[c]);
        acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(s), dw * in.xd[c][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) a.y[(t + c) * a.N + n + r] = vaddvq_f32(acc[r][c]) + BiasOf(a, n + r);
}

// Decode (one token) takes kDecodeRows rows at a time; prefill R x C tiles (Full), with the dot
// tiles of Ops on the ragged edges.
constexpr int kDecodeRows = 4;

template <class Ops, bool kQ4, TileFn Full, int R, int C>
void RowsQ(const MatMulArgs& a, int64_t n0, int64_t n1) {
  if (a.T == 1) {
    RunTiles<TileQ<Ops, kDecodeRows, 1, kQ4>, TileQ<Ops, kDecodeRows, 1, kQ4>, TileQ<Ops, 1, 1, kQ4>,
             TileQ<Ops, 1, 1, kQ4>, kDecodeRows, 1>(a, n0, n1);
    return;
  }
  RunTiles<Full, TileQ<Ops, R, 1, kQ4>, TileQ<Ops, 1, C, kQ4>, TileQ<Ops, 1, 1, kQ4>, R, C>(a, n0, n1);
}

struct NeonFOps {
  using V = float32x4_t;
  static constexpr int kWidth = 4;
  static V Zero() { return vdupq_n_f32(0.0f); }
  static V Load(const float* p) { return vld1q_f32(p); }
  // FCVTL widens fp16 exactly (ARMv8.0); products and sums stay in f32 like the reference's.
  static V Load(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static V Fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static float HSum(V v) { return vaddvq_f32(v); }
  static float Widen(float v) { return v; }
  static float Widen(uint16_t v) { return F16ToF32(v); }
};

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __aarch64__

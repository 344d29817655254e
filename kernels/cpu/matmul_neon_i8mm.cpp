// MatMul kernels for ARMv8.2 with the int8 dot product and the int8 matrix multiply (FEAT_I8MM:
// SMMLA; compiled with -march=armv8.2-a+dotprod+i8mm only; chosen at run time): Cortex-A510/A710/
// X2 and later, Neoverse V1/N2, Apple M2 and later. SMMLA multiplies a 2x8 block of weights by an
// 8x2 block of activations, so prefill tiles take rows and tokens in pairs; a single token (decode)
// and the odd edges use the SDOT tiles, where half of each SMMLA would be wasted.
#include "matmul_internal.h"

#if defined(ACORN_ARM64_KERNELS)
#include "arm_dot_ops.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// Two rows' 32-element blocks (each as lo 0-15, hi 16-31) interleaved 8 elements at a time:
// out[j] = [row0 elements 8j..8j+7, row1 elements 8j..8j+7], SMMLA's operand layout.
inline void PairUp(int8x16_t lo0, int8x16_t hi0, int8x16_t lo1, int8x16_t hi1, int8x16_t out[4]) {
  const int64x2_t a0 = vreinterpretq_s64_s8(lo0), a1 = vreinterpretq_s64_s8(hi0);
  const int64x2_t b0 = vreinterpretq_s64_s8(lo1), b1 = vreinterpretq_s64_s8(hi1);
  out[0] = vreinterpretq_s8_s64(vzip1q_s64(a0, b0));
  out[1] = vreinterpretq_s8_s64(vzip2q_s64(a0, b0));
  out[2] = vreinterpretq_s8_s64(vzip1q_s64(a1, b1));
  out[3] = vreinterpretq_s8_s64(vzip2q_s64(a1, b1));
}

// 2*RP rows x 2*CP tokens. Each accumulator holds a 2x2 corner of the output,
// [row0 tok0, row0 tok1, row1 tok0, row1 tok1], so no horizontal sums are needed at the end.
template <int RP, int CP, bool kQ4>
void TileMmla(const MatMulArgs& a, int64_t n, int64_t t) {
  constexpr int R = 2 * RP, C = 2 * CP;
  constexpr size_t kBlockBytes = kQ4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
  const int64_t nb = a.K / kQBlock;
  const QuantTileInputs<R, C> in(a, n, t);
  float32x4_t acc[RP][CP];
  for (int rp = 0; rp < RP; ++rp)
    for (int cp = 0; cp < CP; ++cp) acc[rp][cp] = vdupq_n_f32(0.0f);
  constexpr size_t kRunPerBlock = R * kBlockBytes;
  for (int64_t b = 0; b < nb; ++b) {
    for (size_t off = 0; t == 0 && off < kRunPerBlock; off += 64) PrefetchL2(in.prefetch + b * kRunPerBlock + off);
    int8x16_t xp[CP][4];
    float32x4_t xscale[CP];  // [d tok0, d tok1, d tok0, d tok1]
#pragma GCC unroll 4
    for (int cp = 0; cp < CP; ++cp) {
      const int8_t* x0 = in.xq[2 * cp] + b * kQBlock;
      const int8_t* x1 = in.xq[2 * cp + 1] + b * kQBlock;
      PairUp(vld1q_s8(x0), vld1q_s8(x0 + 16), vld1q_s8(x1), vld1q_s8(x1 + 16), xp[cp]);
      const float32x2_t d01 = {in.xd[2 * cp][b], in.xd[2 * cp + 1][b]};
      xscale[cp] = vcombine_f32(d01, d01);
    }
#pragma GCC unroll 4
    for (int rp = 0; rp < RP; ++rp) {
      const uint8_t* blk0 = in.w[2 * rp] + b * kBlockBytes;
      const uint8_t* blk1 = in.w[2 * rp + 1] + b * kBlockBytes;
      int8x16_t lo0, hi0, lo1, hi1, wp[4];
      LoadWeightBlock<kQ4>(blk0 + sizeof(uint16_t), &lo0, &hi0);
      LoadWeightBlock<kQ4>(blk1 + sizeof(uint16_t), &lo1, &hi1);
      PairUp(lo0, hi0, lo1, hi1, wp);
      const float32x4_t wscale = vcombine_f32(vdup_n_f32(HalfAt(blk0)), vdup_n_f32(HalfAt(blk1)));
#pragma GCC unroll 4
      for (int cp = 0; cp < CP; ++cp) {
        int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), wp[0], xp[cp][0]);
        s = vmmlaq_s32(s, wp[1], xp[cp][1]);
        s = vmmlaq_s32(s, wp[2], xp[cp][2]);
        s = vmmlaq_s32(s, wp[3], xp[cp][3]);
        acc[rp][cp] = vfmaq_f32(acc[rp][cp], vcvtq_f32_s32(s), vmulq_f32(wscale, xscale[cp]));
      }
    }
  }
  for (int rp = 0; rp < RP; ++rp) {
    for (int cp = 0; cp < CP; ++cp) {
      float out[4];
      vst1q_f32(out, acc[rp][cp]);
      for (int i = 0; i < 4; ++i) {
        const int64_t row = n + 2 * rp + i / 2, tok = t + 2 * cp + i % 2;
        a.y[tok * a.N + row] = out[i] + BiasOf(a, row);
      }
    }
  }
}

// 4 rows x 4 tokens: 4 accumulators, 8 registers of paired activations, 4 of paired weights.
constexpr int kRowPairs = 2;
constexpr int kTokPairs = 2;

}  // namespace

const KernelSet& NeonI8mmKernels() {
  static_assert(kDecodeRows % (2 * kRowPairs) == 0, "row_tile must be whole prefill tiles");
  static const KernelSet set = {
      NeonKernels().f32,
      NeonKernels().f16,
      RowsQ<DotprodOps, false, TileMmla<kRowPairs, kTokPairs, false>, 2 * kRowPairs, 2 * kTokPairs>,
      RowsQ<DotprodOps, true, TileMmla<kRowPairs, kTokPairs, true>, 2 * kRowPairs, 2 * kTokPairs>,
      NeonKernels().quantize_row,
      kDecodeRows,
      nullptr,  // q4_k, q5_k, q6_k: the scalar set's where not repacked
      nullptr,
      nullptr,
      nullptr,  // panel
      kRowPanelTokensNeon,
      nullptr,  // f32_tokens
      nullptr,  // f32_tokens_pack
      RowPanelsDotprod,  // SDOT's: the panels' lanes are 4-quant dot products, not MMLA's 2 x 8
      false,             // q8_0/q4_0 keep the MMLA tiles
      nullptr,           // q2_k, q3_k, iq4_xs, q4_1, q5_0, q5_1, iq4_nl: the scalar set's
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

// MatMul kernels for the ARMv8.0 baseline (Advanced SIMD; compiled with -march=armv8-a only):
// the ARM64 path on cores without the int8 dot product (Cortex-A53/A55 r0, A57, A72, A73).
// Integer products by widening multiplies (SMULL/SMLAL2 into int16, SADALP into int32).
#include "matmul_internal.h"

#if defined(ACORN_ARM64_KERNELS)
#include "arm_matmul_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

struct NeonOps {
  // Each int16 lane sums two products, at most 2 * 128 * 127 = 32512 (weights may be -128,
  // activations are within +-127): no overflow.
  static int32x4_t Dot(int8x16_t w_lo, int8x16_t w_hi, int8x16_t x_lo, int8x16_t x_hi) {
    const int16x8_t p_lo = vmlal_high_s8(vmull_s8(vget_low_s8(w_lo), vget_low_s8(x_lo)), w_lo, x_lo);
    const int16x8_t p_hi = vmlal_high_s8(vmull_s8(vget_low_s8(w_hi), vget_low_s8(x_hi)), w_hi, x_hi);
    return vpadalq_s16(vpaddlq_s16(p_lo), p_hi);
  }
};

// 32 vector registers: 4 rows x 2 tokens of accumulators leaves room for the int16 products;
// float tiles, with no temporaries, take 4 x 4.
constexpr int kRows = 4;
constexpr int kToks = 2;
constexpr int kFloatToks = 4;

}  // namespace

const KernelSet& NeonKernels() {
  static const KernelSet set = {RowsF<NeonFOps, float, kRows, kFloatToks>,
                                RowsF<NeonFOps, uint16_t, kRows, kFloatToks>,
                                RowsQ<NeonOps, false, TileQ<NeonOps, kRows, kToks, false>, kRows, kToks>,
                                RowsQ<NeonOps, true, TileQ<NeonOps, kRows, kToks, true>, kRows, kToks>,
                                QuantizeRowNeon,
                                kDecodeRows,
                                nullptr,  // q4_k, q5_k, q6_k: the scalar set's
                                nullptr,
                                nullptr,
                                nullptr,  // panel
                                0,
                                nullptr,  // f32_tokens
                                nullptr,  // f32_tokens_pack
                                nullptr,  // row_panels: none without SDOT (nothing is repacked)
                                false,
                                nullptr,  // q2_k, q3_k, iq4_xs, q4_1, q5_0, q5_1, iq4_nl: the scalar set's
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

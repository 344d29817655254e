// MatMul kernels for ARMv8.2 with the int8 dot product (FEAT_DotProd: SDOT; compiled with
// -march=armv8.2-a+dotprod only; chosen at run time): Cortex-A55/A76 and later, Neoverse N1,
// Apple A11 and later. Float weights and the quantizer need nothing beyond the baseline, so this
// set shares the baseline's.
#include "matmul_internal.h"

#if defined(ACORN_ARM64_KERNELS)
#include "arm_dot_ops.h"

namespace acorn {
namespace cpu {
namespace internal {

const KernelSet& NeonDotprodKernels() {
  static const KernelSet set = {
      NeonKernels().f32,
      NeonKernels().f16,
      RowsQ<DotprodOps, false, TileQ<DotprodOps, kDotRows, kDotToks, false>, kDotRows, kDotToks>,
      RowsQ<DotprodOps, true, TileQ<DotprodOps, kDotRows, kDotToks, true>, kDotRows, kDotToks>,
      NeonKernels().quantize_row,
      kDecodeRows,
      nullptr,  // q4_k, q5_k, q6_k: the scalar set's where not repacked
      nullptr,
      nullptr,
      nullptr,  // panel
      kRowPanelTokensNeon,
      nullptr,  // f32_tokens
      nullptr,  // f32_tokens_pack
      RowPanelsDotprod,
      false,  // q8_0/q4_0 keep the SDOT tiles
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

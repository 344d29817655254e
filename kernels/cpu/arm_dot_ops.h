// Private to kernels/cpu: the SDOT policy for arm_matmul_tiles.h, included by
// matmul_neon_dotprod.cpp and by matmul_neon_i8mm.cpp (whose single-token and edge tiles are the
// dotprod ones); each compiles its own copy with its own -march flags.
#pragma once

#include "arm_matmul_tiles.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)

namespace acorn {
namespace cpu {
namespace internal {
namespace {

struct DotprodOps {
  static int32x4_t Dot(int8x16_t w_lo, int8x16_t w_hi, int8x16_t x_lo, int8x16_t x_hi) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w_lo, x_lo), w_hi, x_hi);
  }
};

// 32 vector registers: 4 rows x 4 tokens of accumulators, 8 for the tokens' blocks, 2 for a
// weight block's.
constexpr int kDotRows = 4;
constexpr int kDotToks = 4;

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif

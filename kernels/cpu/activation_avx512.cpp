// GELU and SwiGLU (activation_tiles.h) on Avx512FOps vectors (compiled with this ISA's flags only).
#include "activation_internal.h"

#if defined(ACORN_X86_KERNELS)
// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined operands as uninitialized
// (GCC bug 105593, fixed in 13); nothing in this file reads an uninitialized value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "activation_tiles.h"
#include "x86_float_ops.h"

namespace acorn {
namespace cpu {
namespace internal {

const ActivationSet& Avx512Activations() {
  static const ActivationSet set = {ActivationKernels<Avx512FOps>::Gelu, ActivationKernels<Avx512FOps>::SwiGlu};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

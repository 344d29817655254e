// GELU and SwiGLU (activation_tiles.h) on Avx2FOps vectors (compiled with this ISA's flags only).
#include "activation_internal.h"

#if defined(ACORN_X86_KERNELS)
#include "activation_tiles.h"
#include "x86_float_ops.h"

namespace acorn {
namespace cpu {
namespace internal {

const ActivationSet& Avx2Activations() {
  static const ActivationSet set = {ActivationKernels<Avx2FOps>::Gelu, ActivationKernels<Avx2FOps>::SwiGlu};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

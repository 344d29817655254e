// Element-wise activations on the active ISA: the vector kernels of activation_tiles.h, or the
// reference functions themselves where there is no SIMD path.
#include "activation_internal.h"
#include "cpu_kernels.h"
#include "reference_kernels.h"

namespace acorn {
namespace cpu {

namespace {
const internal::ActivationSet& ActiveActivations() {
  static const internal::ActivationSet reference = {ref::Gelu, ref::SwiGlu};
  switch (ActiveIsa()) {
#if defined(ACORN_X86_KERNELS)
    case Isa::kAmx:  // the tile unit only multiplies matrices
    case Isa::kAvx512: return internal::Avx512Activations();
    case Isa::kAvx2: return internal::Avx2Activations();
#endif
    default: return reference;
  }
}
}  // namespace

void Gelu(const float* x, int64_t n, float* out) { ActiveActivations().gelu(x, n, out); }
void SwiGlu(const float* gate, const float* up, int64_t n, float* out) { ActiveActivations().swiglu(gate, up, n, out); }

}  // namespace cpu
}  // namespace acorn

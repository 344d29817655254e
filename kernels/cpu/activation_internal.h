// Private to kernels/cpu: the per-ISA element-wise activations (activation_tiles.h) that
// activation.cpp dispatches to.
#pragma once

#include <cstdint>

namespace acorn {
namespace cpu {
namespace internal {

struct ActivationSet {
  void (*gelu)(const float* x, int64_t n, float* out);
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out);
};

#if defined(ACORN_X86_KERNELS)
const ActivationSet& Avx2Activations();
const ActivationSet& Avx512Activations();
#endif

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

// The accelerators this build has: one function, chosen by CMake options, so that a build without
// CUDA links no CUDA code and needs no CUDA driver.
#include "accelerator.h"

#if ACORN_HAVE_CUDA
#include "cuda/cuda_accelerator.h"
#endif

namespace acorn {

Accelerator* FindAccelerator(Backend backend) {
#if ACORN_HAVE_CUDA
  if (backend == Backend::kCuda) return cuda::GetAccelerator();
#else
  (void)backend;
#endif
  return nullptr;
}

}  // namespace acorn

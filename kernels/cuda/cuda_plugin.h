// The CUDA backend's kernel-table entries and its plugin entry point (kernels/accelerator.h): what
// libacorn_cuda exports so that libacorn can use it without linking it.
#pragma once

#include "accelerator.h"

namespace acorn {
namespace cuda {

// The cuda backend's kernel-table entries.
Span<const KernelEntry> Kernels();

}  // namespace cuda
}  // namespace acorn

extern "C" const acorn::AcceleratorPlugin* acorn_cuda_plugin(void);

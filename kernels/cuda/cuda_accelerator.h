// The CUDA accelerator (kernels/accelerator.h): probing the device, placing a model's weights, and
// running its segments for sessions. Only cuda_plugin.cpp needs this header.
#pragma once

#include "accelerator.h"

namespace acorn {
namespace cuda {

// The process-wide CUDA accelerator.
Accelerator* GetAccelerator();

}  // namespace cuda
}  // namespace acorn

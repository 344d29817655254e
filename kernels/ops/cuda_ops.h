// Op adapters onto the CUDA kernels (kernels/cuda/launchers.h): the kernel-table entries of the
// cuda backend. Each unpacks an OpCall whose tensors are device addresses, and enqueues its kernels
// on the session's stream (KernelResources::stream); nothing here waits for the device. The step's
// position is read by the kernels from device memory (KernelResources::device_step).
#pragma once

#include "kernel_table.h"

namespace acorn {
namespace fb {
struct RopeAttrs;
}
namespace cuda {
struct RopeParams;
}
namespace ops {

Status CudaEmbedding(const OpCall& c);
Status CudaRmsNorm(const OpCall& c);
Status CudaLayerNorm(const OpCall& c);
Status CudaMatMul(const OpCall& c);
Status CudaAdd(const OpCall& c);
Status CudaMul(const OpCall& c);
Status CudaRope(const OpCall& c);
Status CudaAttention(const OpCall& c);
Status CudaSwiGlu(const OpCall& c);
Status CudaGelu(const OpCall& c);
Status CudaSoftmax(const OpCall& c);
Status CudaPool(const OpCall& c);
Status CudaL2Normalize(const OpCall& c);
Status CudaTanh(const OpCall& c);
Status CudaCopy(const OpCall& c);

size_t CudaMatMulScratch(const Bundle& bundle, const OpDesc& op, int threads);
size_t CudaAttentionScratch(const Bundle& bundle, const OpDesc& op, int threads);

// What the CUDA kernels support beyond the op kind: head sizes within the kernels' limits.
bool CudaAttentionSupports(const Bundle& bundle, const OpDesc& op);
bool CudaRopeSupports(const Bundle& bundle, const OpDesc& op);

// A Rope op's attributes as the kernels take them (frequencies precomputed).
void CudaRopeParams(const OpAttributes& attrs, cuda::RopeParams* params);

}  // namespace ops
}  // namespace acorn

// Op adapters: the functions the kernel table points at. Each turns an OpCall into a call of a
// reference (ref::) or optimized (cpu::) kernel.
#pragma once

#include "kernel_table.h"

namespace acorn {
namespace ops {

Status RefEmbedding(const OpCall& c);
Status RefRmsNorm(const OpCall& c);
Status RefLayerNorm(const OpCall& c);
Status RefMatMul(const OpCall& c);
Status RefAdd(const OpCall& c);
Status RefMul(const OpCall& c);
Status RefRope(const OpCall& c);
Status RefAttention(const OpCall& c);
Status RefSwiGlu(const OpCall& c);
Status RefGelu(const OpCall& c);
Status RefSoftmax(const OpCall& c);
Status RefPool(const OpCall& c);
Status RefL2Normalize(const OpCall& c);
Status RefTanh(const OpCall& c);
Status RefCopy(const OpCall& c);

Status CpuMatMul(const OpCall& c);
Status CpuAttention(const OpCall& c);
size_t CpuAttentionScratch(const Bundle& bundle, const OpDesc& op, int threads);
Status CpuRmsNorm(const OpCall& c);
Status CpuLayerNorm(const OpCall& c);
Status CpuRope(const OpCall& c);
Status CpuAdd(const OpCall& c);
Status CpuSwiGlu(const OpCall& c);
Status CpuGelu(const OpCall& c);

size_t AttentionScratch(const Bundle& bundle, const OpDesc& op, int threads);
size_t CpuMatMulScratch(const Bundle& bundle, const OpDesc& op, int threads);

// The row range a Copy op takes from its input (all rows, or its CopyAttrs range), checked.
Status CopyRange(const OpCall& c, int64_t* begin, int64_t* count);

}  // namespace ops
}  // namespace acorn

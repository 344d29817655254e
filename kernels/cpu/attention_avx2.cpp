// The attention kernel (attention_tiles.h) on Avx2FOps vectors (compiled with this ISA's flags only).
#include "attention_internal.h"

#if defined(ACORN_X86_KERNELS)
#include "attention_tiles.h"
#include "x86_float_ops.h"

namespace acorn {
namespace cpu {
namespace internal {

AttentionFn Avx2Attention() { return AttentionKernel<Avx2FOps>::Run; }

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

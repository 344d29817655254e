// The CUDA backend as a library of its own (libacorn_cuda): its kernel-table entries and the entry
// point through which libacorn finds it (kernels/accelerator.h, AcceleratorPlugin).
#include "cuda/cuda_plugin.h"

#include "acorn_generated.h"
#include "cuda/cuda_accelerator.h"
#include "ops/cuda_ops.h"

namespace acorn {
namespace cuda {

namespace {
constexpr uint16_t K(fb::OpKind k) { return static_cast<uint16_t>(k); }
constexpr int D(DType d) { return static_cast<int>(d); }
using B = Backend;

// Every op; matrix products for every weight dtype but the integer ones. Order matters only among
// entries for the same op: the first match wins.
constexpr KernelEntry kCudaKernels[] = {
    // The gather reads tables of every float-holding dtype (LoadWeight).
    {K(fb::OpKind::Embedding), D(DType::kF32), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kF16), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kBF16), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ8_0), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ4_0), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ4_1), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ5_0), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ5_1), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ2_K), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ3_K), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ4_K), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ5_K), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kQ6_K), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kIQ4_NL), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::Embedding), D(DType::kIQ4_XS), B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::RmsNorm), kAnyDType, B::kCuda, ops::CudaRmsNorm, nullptr},
    {K(fb::OpKind::LayerNorm), kAnyDType, B::kCuda, ops::CudaLayerNorm, nullptr},
    {K(fb::OpKind::MatMul), D(DType::kF32), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kF16), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kBF16), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ8_0), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_0), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_1), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_0), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_1), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ2_K), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ3_K), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_K), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_K), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ6_K), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kIQ4_NL), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kIQ4_XS), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::Add), kAnyDType, B::kCuda, ops::CudaAdd, nullptr},
    {K(fb::OpKind::Mul), kAnyDType, B::kCuda, ops::CudaMul, nullptr},
    {K(fb::OpKind::Rope), kAnyDType, B::kCuda, ops::CudaRope, nullptr, ops::CudaRopeSupports},
    {K(fb::OpKind::Attention), kAnyDType, B::kCuda, ops::CudaAttention, ops::CudaAttentionScratch,
     ops::CudaAttentionSupports},
    {K(fb::OpKind::SwiGlu), kAnyDType, B::kCuda, ops::CudaSwiGlu, nullptr},
    {K(fb::OpKind::Gelu), kAnyDType, B::kCuda, ops::CudaGelu, nullptr},
    {K(fb::OpKind::Softmax), kAnyDType, B::kCuda, ops::CudaSoftmax, nullptr},
    {K(fb::OpKind::Pool), kAnyDType, B::kCuda, ops::CudaPool, nullptr},
    {K(fb::OpKind::L2Normalize), kAnyDType, B::kCuda, ops::CudaL2Normalize, nullptr},
    {K(fb::OpKind::Tanh), kAnyDType, B::kCuda, ops::CudaTanh, nullptr},
    {K(fb::OpKind::Copy), kAnyDType, B::kCuda, ops::CudaCopy, nullptr},
};
}  // namespace

Span<const KernelEntry> Kernels() {
  return Span<const KernelEntry>(kCudaKernels, sizeof(kCudaKernels) / sizeof(kCudaKernels[0]));
}

}  // namespace cuda
}  // namespace acorn

extern "C" const acorn::AcceleratorPlugin* acorn_cuda_plugin(void) {
  static const acorn::AcceleratorPlugin plugin = [] {
    acorn::AcceleratorPlugin p;
    p.abi = acorn::AcceleratorPluginAbi();
    p.backend = acorn::Backend::kCuda;
    p.accelerator = acorn::cuda::GetAccelerator();
    p.kernels = acorn::cuda::Kernels();
    return p;
  }();
  return &plugin;
}

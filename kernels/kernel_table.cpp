#include "kernel_table.h"

#include <algorithm>
#include <cstring>

#include "acorn_generated.h"
#include "cpu_kernels.h"
#include "ops/op_adapters.h"
#if ACORN_HAVE_CUDA
#include "ops/cuda_ops.h"
#endif

namespace acorn {

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kReference: return "reference";
    case Backend::kCpu: return "cpu";
    case Backend::kCuda: return "cuda";
  }
  return "unknown";
}

Status ParseBackendList(const std::string& list, std::vector<Backend>* out) {
  out->clear();
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t end = std::min(list.find(',', begin), list.size());
    const std::string name = list.substr(begin, end - begin);
    bool found = false;
    for (Backend b : {Backend::kReference, Backend::kCpu, Backend::kCuda}) {
      if (name == BackendName(b)) {
#if !ACORN_HAVE_CUDA
        if (b == Backend::kCuda) {
          return ACORN_ERROR(kUnsupported, "this build has no CUDA backend (configure with -DACORN_CUDA=ON where nvcc "
                             "is installed); use --backend cpu");
        }
#endif
        out->push_back(b);
        found = true;
      }
    }
    if (!found) {
      return ACORN_ERROR(kInvalidArgument, "unknown backend '%s' (use %s)", name.c_str(),
                         ACORN_HAVE_CUDA ? "cuda, cpu or reference" : "cpu or reference");
    }
    begin = end + 1;
  }
  return Status::Ok();
}

int WeightInput(uint16_t op_kind) {
  switch (static_cast<fb::OpKind>(op_kind)) {
    case fb::OpKind::Embedding: return 0;
    case fb::OpKind::MatMul: return 1;
    default: return -1;
  }
}

namespace {
constexpr uint16_t K(fb::OpKind k) { return static_cast<uint16_t>(k); }
constexpr int D(DType d) { return static_cast<int>(d); }
using B = Backend;

// Order matters only among entries for the same (op, backend): the first match wins.
constexpr KernelEntry kBuiltin[] = {
    // Optimized CPU kernels.
    {K(fb::OpKind::MatMul), D(DType::kF32), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kF16), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ8_0), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_0), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::Attention), kAnyDType, B::kCpu, ops::CpuAttention, ops::AttentionScratch},
    {K(fb::OpKind::RmsNorm), kAnyDType, B::kCpu, ops::CpuRmsNorm, nullptr},
    {K(fb::OpKind::LayerNorm), kAnyDType, B::kCpu, ops::CpuLayerNorm, nullptr},
    {K(fb::OpKind::Rope), kAnyDType, B::kCpu, ops::CpuRope, nullptr},
    {K(fb::OpKind::Add), kAnyDType, B::kCpu, ops::CpuAdd, nullptr},
    {K(fb::OpKind::SwiGlu), kAnyDType, B::kCpu, ops::CpuSwiGlu, nullptr},
    {K(fb::OpKind::Gelu), kAnyDType, B::kCpu, ops::CpuGelu, nullptr},
#if ACORN_HAVE_CUDA
    // CUDA kernels: every op; matrix products for every weight dtype but the integer ones.
    {K(fb::OpKind::Embedding), kAnyDType, B::kCuda, ops::CudaEmbedding, nullptr},
    {K(fb::OpKind::RmsNorm), kAnyDType, B::kCuda, ops::CudaRmsNorm, nullptr},
    {K(fb::OpKind::LayerNorm), kAnyDType, B::kCuda, ops::CudaLayerNorm, nullptr},
    {K(fb::OpKind::MatMul), D(DType::kF32), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kF16), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kBF16), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ8_0), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_0), B::kCuda, ops::CudaMatMul, ops::CudaMatMulScratch},
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
#endif
    // Reference kernels: every op, every dtype the reference dequantizes.
    {K(fb::OpKind::Embedding), kAnyDType, B::kReference, ops::RefEmbedding, nullptr},
    {K(fb::OpKind::RmsNorm), kAnyDType, B::kReference, ops::RefRmsNorm, nullptr},
    {K(fb::OpKind::LayerNorm), kAnyDType, B::kReference, ops::RefLayerNorm, nullptr},
    {K(fb::OpKind::MatMul), kAnyDType, B::kReference, ops::RefMatMul, nullptr},
    {K(fb::OpKind::Add), kAnyDType, B::kReference, ops::RefAdd, nullptr},
    {K(fb::OpKind::Mul), kAnyDType, B::kReference, ops::RefMul, nullptr},
    {K(fb::OpKind::Rope), kAnyDType, B::kReference, ops::RefRope, nullptr},
    {K(fb::OpKind::Attention), kAnyDType, B::kReference, ops::RefAttention, ops::AttentionScratch},
    {K(fb::OpKind::SwiGlu), kAnyDType, B::kReference, ops::RefSwiGlu, nullptr},
    {K(fb::OpKind::Gelu), kAnyDType, B::kReference, ops::RefGelu, nullptr},
    {K(fb::OpKind::Softmax), kAnyDType, B::kReference, ops::RefSoftmax, nullptr},
    {K(fb::OpKind::Pool), kAnyDType, B::kReference, ops::RefPool, nullptr},
    {K(fb::OpKind::L2Normalize), kAnyDType, B::kReference, ops::RefL2Normalize, nullptr},
    {K(fb::OpKind::Tanh), kAnyDType, B::kReference, ops::RefTanh, nullptr},
    {K(fb::OpKind::Copy), kAnyDType, B::kReference, ops::RefCopy, nullptr},
};

const KernelEntry* Search(Span<const KernelEntry> table, const Bundle& bundle, const OpDesc& op, Backend backend) {
  const int w = WeightInput(op.kind);
  const int dtype = w >= 0 ? static_cast<int>(bundle.tensors()[op.inputs[w]].dtype) : kAnyDType;
  for (const KernelEntry& e : table) {
    if (e.op_kind == op.kind && e.backend == backend && (e.weight_dtype == kAnyDType || e.weight_dtype == dtype) &&
        (e.supports == nullptr || e.supports(bundle, op))) {
      return &e;
    }
  }
  return nullptr;
}
}  // namespace

Span<const KernelEntry> BuiltinKernels() { return Span<const KernelEntry>(kBuiltin, sizeof(kBuiltin) / sizeof(kBuiltin[0])); }

const KernelEntry* FindKernel(const Bundle& bundle, const OpDesc& op, Backend backend, Span<const KernelEntry> custom) {
  if (const KernelEntry* e = Search(custom, bundle, op, backend)) return e->fn != nullptr ? e : nullptr;
  return Search(BuiltinKernels(), bundle, op, backend);
}

}  // namespace acorn

#include "kernel_table.h"

#include <algorithm>
#include <cstring>

#include "accelerator.h"
#include "acorn_generated.h"
#include "cpu_kernels.h"
#include "ops/op_adapters.h"

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
        out->push_back(b);
        found = true;
      }
    }
    if (!found) return ACORN_ERROR(kInvalidArgument, "unknown backend '%s' (use cuda, cpu or reference)", name.c_str());
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
    {K(fb::OpKind::MatMul), D(DType::kQ4_K), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_K), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ6_K), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ2_K), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ3_K), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kIQ4_NL), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kIQ4_XS), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ4_1), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_0), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::MatMul), D(DType::kQ5_1), B::kCpu, ops::CpuMatMul, ops::CpuMatMulScratch},
    {K(fb::OpKind::Attention), kAnyDType, B::kCpu, ops::CpuAttention, ops::CpuAttentionScratch},
    {K(fb::OpKind::RmsNorm), kAnyDType, B::kCpu, ops::CpuRmsNorm, nullptr},
    {K(fb::OpKind::LayerNorm), kAnyDType, B::kCpu, ops::CpuLayerNorm, nullptr},
    {K(fb::OpKind::Rope), kAnyDType, B::kCpu, ops::CpuRope, nullptr},
    {K(fb::OpKind::Add), kAnyDType, B::kCpu, ops::CpuAdd, nullptr},
    {K(fb::OpKind::SwiGlu), kAnyDType, B::kCpu, ops::CpuSwiGlu, nullptr},
    {K(fb::OpKind::Gelu), kAnyDType, B::kCpu, ops::CpuGelu, nullptr},
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
  if (backend == Backend::kCpu || backend == Backend::kReference) return Search(BuiltinKernels(), bundle, op, backend);
  const AcceleratorPlugin* plugin = FindAcceleratorPlugin(backend);
  return plugin != nullptr ? Search(plugin->kernels, bundle, op, backend) : nullptr;
}

}  // namespace acorn

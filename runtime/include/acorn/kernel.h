// Kernels an application supplies: the types of the kernel table's entries, through which an app
// adds an op implementation of its own or overrides a built-in one (ModelOptions::custom_kernels),
// and the backend names. A kernel receives an OpCall (its tensors resolved for one step) and returns
// a Status; it must not allocate, and may use the session's scratch and threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/dtype.h"
#include "acorn/status.h"

namespace acorn {

namespace cpu {
class ThreadPool;
}

enum class Backend : uint8_t { kReference = 0, kCpu = 1, kCuda = 2 };
const char* BackendName(Backend backend);
// Parses a comma-separated preference list ("cuda,cpu", "reference"); the error names the bad entry.
// Whether an accelerator is there to use is found at load (Model::Load says why not).
Status ParseBackendList(const std::string& list, std::vector<Backend>* out);

constexpr int kMaxOpInputs = 6;

// How a constant's bytes are laid out where a kernel reads them. Bundles hold the canonical (GGUF)
// layout; a backend may repack weights at load (the CUDA backend splits q8_0/q4_0 blocks into an
// array of quants followed by an array of scales, so that loads are aligned and coalesced).
// The CPU backend repacks q8_0/q4_0/q4_1/q5_0/q5_1/Q4_K/Q5_K/Q6_K matrices into 16-row panels where
// its kernels read them that way (cpu::MatMulRepacks): each vector load then feeds 16 output rows
// (cpu_kernels.h). With ModelOptions::cpu_bf16_products, on a CPU with AMX-BF16, it copies f32 and
// f16 matrices into bf16 panels of column pairs for the tile unit (cpu::MatMulBf16Panels).
enum class WeightLayout : uint8_t { kCanonical = 0, kSplitBlocks = 1, kRowPanels16 = 2, kBf16Panels16 = 3 };

// A tensor as a kernel sees it in one step: data and dims with the tokens dimension resolved.
struct TensorArg {
  void* data = nullptr;
  const TensorDesc* desc = nullptr;
  WeightLayout layout = WeightLayout::kCanonical;
  int64_t dims[kMaxRank] = {};
  int64_t Rows() const { return desc->rank == 1 ? 1 : dims[0]; }
  int64_t Cols() const { return dims[desc->rank - 1]; }
  float* f32() const { return static_cast<float*>(data); }
};

// Per-session resources a kernel may use: threads and one scratch buffer sized at bind. Kernels of
// an accelerator get its queue and scratch in its memory instead, and read the step's position from
// device memory (device_step[0]), so that a captured step can be replayed at any position.
struct KernelResources {
  cpu::ThreadPool* pool = nullptr;
  int threads = 1;
  uint8_t* scratch = nullptr;
  size_t scratch_bytes = 0;
  void* stream = nullptr;
  const int64_t* device_step = nullptr;
};

struct OpCall {
  const OpDesc* op = nullptr;
  TensorArg in[kMaxOpInputs];
  int n_in = 0;
  TensorArg out;
  int64_t n_tokens = 0;  // rows in this step
  int64_t pos = 0;       // position of the step's first row
  KernelResources* res = nullptr;
};

using KernelFn = Status (*)(const OpCall& call);
// Scratch bytes the kernel needs for this op at the bound maximum (tokens = max_tokens, the
// bundle's context length, `threads` threads); null means none.
using ScratchFn = size_t (*)(const Bundle& bundle, const OpDesc& op, int threads);

// Whether the kernel handles this op's attributes and sizes (a head size within its limits, say);
// null means every op of its kind and dtype. Checked at bind, so that a bundle that loads never
// fails mid-step for a reason the loader could see.
using SupportsFn = bool (*)(const Bundle& bundle, const OpDesc& op);

constexpr int kAnyDType = -1;

struct KernelEntry {
  uint16_t op_kind;
  int weight_dtype;  // dtype of the op's weight input (see WeightInput), or kAnyDType
  Backend backend;
  KernelFn fn;
  ScratchFn scratch;
  SupportsFn supports = nullptr;
};

// Which input of an op kind holds its weights (whose dtype selects the kernel), or -1.
int WeightInput(uint16_t op_kind);

}  // namespace acorn

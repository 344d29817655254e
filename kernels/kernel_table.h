// The kernel table: one static entry per (op kind, weight dtype, backend) -> function pointer.
// Binding looks each op up once at load; a step is then a flat loop of calls through these
// pointers. There is no registration by static initializers (which breaks static linking), and an
// application can put its own entries in front of the table at load (ModelOptions::custom_kernels).
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
// Parses a comma-separated preference list ("cpu", "reference,cpu"); the error names the bad entry
// and what this build offers.
Status ParseBackendList(const std::string& list, std::vector<Backend>* out);

constexpr int kMaxOpInputs = 6;

// A tensor as a kernel sees it in one step: data and dims with the tokens dimension resolved.
struct TensorArg {
  void* data = nullptr;
  const TensorDesc* desc = nullptr;
  int64_t dims[kMaxRank] = {};
  int64_t Rows() const { return desc->rank == 1 ? 1 : dims[0]; }
  int64_t Cols() const { return dims[desc->rank - 1]; }
  float* f32() const { return static_cast<float*>(data); }
};

// Per-session resources a kernel may use: threads and one scratch buffer sized at bind.
struct KernelResources {
  cpu::ThreadPool* pool = nullptr;
  int threads = 1;
  uint8_t* scratch = nullptr;
  size_t scratch_bytes = 0;
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

constexpr int kAnyDType = -1;

struct KernelEntry {
  uint16_t op_kind;
  int weight_dtype;  // dtype of the op's weight input (see WeightInput), or kAnyDType
  Backend backend;
  KernelFn fn;
  ScratchFn scratch;
};

// Which input of an op kind holds its weights (whose dtype selects the kernel), or -1.
int WeightInput(uint16_t op_kind);

// The built-in table: reference kernels for every op, CPU kernels for the hot ones.
Span<const KernelEntry> BuiltinKernels();

// First entry for `op` on `backend`, searching `custom` before the built-in table; nullptr when none.
const KernelEntry* FindKernel(const Bundle& bundle, const OpDesc& op, Backend backend, Span<const KernelEntry> custom);

}  // namespace acorn

// The CUDA backend's plan for its segments: the bound ops turned into launches, built once per
// model. Where the graph allows, several ops become one launch:
//  - RMSNorm also writes its output as int8 blocks for the quantized matrix products that read it
//    (Q8_0 blocks; products that read Q8_K quantize their input themselves);
//  - consecutive matrix products of one input (q/k/v, gate/up) share one launch, gate/up with the
//    SwiGLU after them, a single product with the residual Add after it;
//  - the two RoPE ops before an attention op rotate q and k and fill the KV cache in the launch
//    that then runs the attention (whose output can come out quantized for the next product).
// Every other op, and every op with an application kernel, runs its kernel-table entry. A decode
// layer of a LLaMA graph is then 10 launches instead of 17.
#pragma once

#include <cstdint>
#include <vector>

#include "accelerator.h"
#include "acorn/status.h"
#include "device_types.h"

namespace acorn {
namespace cuda {

enum class LaunchKind : uint8_t {
  kOp,         // one op through its kernel-table entry
  kNorm,       // RmsNorm (+ quantized output)
  kLinear,     // 1-3 MatMuls on one input (+ SwiGLU or residual Add)
  kAttention,  // Attention (+ the RoPE ops that feed it)
};

struct Launch {
  LaunchKind kind = LaunchKind::kOp;
  bool tail = false;  // its ops are in the row-wise tail (DeviceProgramSpec::tail_begin)
  int op = -1;        // the op (kLinear: the first MatMul)
  int matmuls[3] = {-1, -1, -1};
  int n_matmuls = 0;
  int swiglu_op = -1;  // kLinear: the fused SwiGlu, whose output is the launch's output
  int add_op = -1;     // kLinear: the fused residual Add, whose output is the launch's output
  int rope_q = -1;     // kAttention: the fused RoPE ops
  int rope_k = -1;
  int q8_in = -1;               // kLinear with quantized weights: the slot its input is read from
  bool quantize_input = false;  // ... which this launch fills itself first
  int q8_out = -1;              // kNorm, kAttention: also write the output into this slot
};

// A quantized-activation slot: up to kSmallRows rows of K, in one format.
struct ActSlot {
  int64_t cols = 0;
  ActQuant format = ActQuant::kQ8_0;
};

struct Program {
  std::vector<std::vector<Launch>> segments;  // per DeviceProgramSpec segment (host ones empty)
  std::vector<ActSlot> slots;                 // the quantized-activation slots
  size_t op_scratch = 0;                      // device scratch the launches need at once
};

// fuse = false: every op is its own kOp launch (AcceleratorOptions::fuse). Needs no memory plan.
Result<Program> BuildProgram(const DeviceProgramSpec& spec, bool fuse);

// Per tensor, the op until which a fused launch still reads it (-1: none later than the graph):
// a product's input is read while the fused Add or SwiGLU after it writes its output, and the RoPE
// inputs are read where the attention runs. The memory plan must not reuse them before.
std::vector<int> KeepAlive(const DeviceProgramSpec& spec, const Program& program);

}  // namespace cuda
}  // namespace acorn

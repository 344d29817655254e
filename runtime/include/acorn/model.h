// Model and Session: the interpreter's public API.
//
// A Model is a loaded bundle bound to kernels: opened and verified, memory planned, every op checked
// for shapes and bound to a kernel from the static kernel table (the first backend in the caller's
// preference list that has one, the reference kernels last). It is immutable and may be shared by
// many sessions on many threads.
//
// With an accelerator in the preference list (cuda), consecutive ops on one side form segments;
// the weights the accelerator's ops read are placed on it once, here (uploaded, or used in place
// from the mapped file on unified memory), and every tensor gets a home:
// device memory, host memory, or pinned host memory both sides reach when it crosses a segment
// boundary. An accelerator that is missing or unusable falls back to the next backend in the list,
// with a warning; if the list has no other backend, loading fails and says why.
//
// A Session is one conversation's state: the arena (activations, the KV cache), a thread pool, the
// current position. Creating one allocates (or takes the caller's memory); running steps never does.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/memory_plan.h"
#include "acorn/kernel.h"
#include "acorn/status.h"
#include "acorn/tokenizer.h"

namespace acorn {

namespace cpu {
class ThreadPool;
}
// Interpreter and accelerator internals (runtime/interpreter/bound_graph.h, kernels/accelerator.h).
struct BoundGraph;
class Accelerator;
class DeviceSession;
struct OpSegment;

// Settings of an accelerator backend (cuda) when it is in the preference list.
struct AcceleratorOptions {
  int device = 0;
  // Use weights in place from the bundle's memory and keep every tensor in one shared arena, also
  // on a discrete GPU (where this is slow: every access crosses the bus). Integrated GPUs always
  // work this way.
  bool zero_copy = false;
  // Fuse ops into fewer kernels where the graph allows. Off runs every op through its own
  // kernel-table kernel: for tests and for finding a faulty fusion.
  bool fuse = true;
  // Capture one-token steps into device graphs and replay them (fewer launches per token).
  bool graphs = true;
  // Time every launch with device events (graphs off): Session::DeviceProfile says where a
  // step's time goes. For benchmarks; it adds a little time of its own.
  bool profile = false;
};

struct ModelOptions {
  LoadMode load_mode = LoadMode::kMap;
  // Backends in order of preference; reference kernels always serve as the last resort.
  std::vector<Backend> backends = {Backend::kCpu};
  // Application kernels, searched before the built-in table. An entry whose fn is null hides the
  // kernels of its (op, dtype, backend) instead, so that the op goes to the next backend.
  std::vector<KernelEntry> custom_kernels;
  // Settings of the accelerator (cuda) when it is in the list: device index, forced zero-copy.
  AcceleratorOptions accelerator;
  // Repack the q8_0/q4_0/q4_1/q5_0/q5_1/Q4_K/Q5_K/Q6_K matrices that CPU kernels multiply into the
  // layout this CPU's kernels read fastest (16-row panels, where the active ISA has kernels for
  // them: AVX-512, AVX2, ARM with the dot product), at load, on all cores: a copy of those weights in memory and 0.4-2 s per
  // GB of load time, for faster decode and prefill. Off: every kernel reads the mapped bundle (zero
  // copy, as on firmware).
  bool cpu_repack = true;
  // Multiply f32 and f16 matrices in bf16 on CPUs whose AMX tile unit has it (Sapphire Rapids and
  // later): each such matrix is copied at load into bf16 (half of f32's bytes) and activations are
  // rounded to bf16 per product, sums in f32, as PyTorch's float32 matmul precision "medium" and
  // oneDNN's bf16 math mode allow. Prompts run up to 16 times the f32 rate, at 8 significant bits
  // per factor: each output within (2^-7 + K 2^-22) * sum|x w| of the f32 product (cpu_kernels.h).
  // Off by default: f32 weights give f32 products. Ignored where the CPU has no AMX-BF16 (the
  // vector bf16 dot product of AVX512-BF16 runs at half the f32 FMA rate on the Xeons measured).
  bool cpu_bf16_products = false;
};

class Model {
 public:
  static Result<std::shared_ptr<const Model>> Load(const char* path, const ModelOptions& options = ModelOptions());
  static Result<std::shared_ptr<const Model>> FromBundle(std::unique_ptr<Bundle> bundle,
                                                         const ModelOptions& options = ModelOptions());

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Bundle& bundle() const { return *bundle_; }
  // The host arena's plan: every tensor when all ops run on the host, else the tensors whose home
  // is host memory. arena_bytes is what SessionOptions::arena must hold.
  const MemoryPlan& plan() const { return plan_; }
  // Tensor indices of well-known roles, -1 when absent: token ids in, positions in, logits out.
  int tokens_input() const { return tokens_input_; }
  int positions_input() const { return positions_input_; }
  int logits_output() const { return logits_output_; }
  int64_t vocab_size() const;
  // The bundle's tokenizer, or null when it was converted without one (then only ids go in).
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // The ops bound to kernels, their backend segments, the tensors' homes and the accelerator's
  // share: the interpreter's own state (runtime/interpreter/bound_graph.h), not part of the API.
  const BoundGraph& bound() const { return *bound_; }

 private:
  Model();
  Status Bind(const ModelOptions& options);
  Status RepackForCpu(const ModelOptions& options);
  Status PlaceTensors(Accelerator* accelerator, const ModelOptions& options);

  std::unique_ptr<Bundle> bundle_;
  MemoryPlan plan_;
  std::unique_ptr<Tokenizer> tokenizer_;
  int tokens_input_ = -1;
  int positions_input_ = -1;
  int logits_output_ = -1;
  // Last, so that it goes first: its device share refers to everything above.
  std::unique_ptr<BoundGraph> bound_;
};

// Which rows of a step's outputs the caller needs.
enum class StepRows {
  kAll,   // every row
  kLast,  // the last row only: the row-wise tail of the graph (the last layer's MLP, the final norm,
          // the LM head) runs on that row alone, so a prompt pays for one row of logits
};

struct SessionOptions {
  int threads = 0;                // 0: all hardware threads
  void* arena = nullptr;          // caller memory for the arena (64-byte aligned), or null
  size_t arena_bytes = 0;         // its size; at least Session::ArenaBytes(model, threads)
  // Time every op the host runs (CPU and reference kernels): Session::HostProfile says where the
  // steps' time went. For benchmarks; it adds two clock reads per op.
  bool profile = false;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = SessionOptions());
  // The memory a session of `model` with `threads` threads (0: all) needs from the caller
  // (SessionOptions::arena): the planned activations and KV cache (Model::plan().arena_bytes) and,
  // after them, the kernels' scratch. Nothing is allocated while steps run.
  static uint64_t ArenaBytes(const Model& model, int threads = 0);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Model& model() const { return *model_; }
  int64_t position() const { return pos_; }
  int64_t context_length() const { return model_->bundle().context_length(); }
  // Forgets the conversation: position 0, state cleared.
  void Reset();
  // Goes back to `position` (<= position()): later KV cache rows are simply overwritten by the next
  // steps. Lets a chat keep the part of the cache that still matches its new prompt.
  Status Rewind(int64_t position);

  // Raw step: inputs must be written (TensorData) for n_tokens rows; runs every op at the current
  // position, then advances it by n_tokens. With StepRows::kLast only the last row of each output
  // is computed; the other rows hold stale data.
  Status Step(int64_t n_tokens, StepRows rows = StepRows::kAll);
  // The accelerator's launch profile since the last call (ModelOptions::accelerator.profile), or "".
  std::string DeviceProfile() const;
  // Where the host's time went since the last call (SessionOptions::profile), or "": one line per
  // op name (layer numbers folded into N) with its kind, weight dtype, time per step, and for ops
  // with weights the rate at which they were read.
  std::string HostProfile();
  // Where tensor `index` lives for this session on the host (arena or constant data); null for a
  // tensor that lives in device memory only (an intermediate of accelerator ops).
  void* TensorData(int index) const;

  // Runs `n` token ids from the current position, in chunks of the bundle's max_tokens. If logits
  // is not null it receives [n, vocab] floats when all_positions is true, else the last position's
  // [vocab] floats. Fails, with the session unchanged, if the tokens would pass the context.
  Status Forward(const int32_t* tokens, int64_t n, float* logits, bool all_positions);

 private:
  Session() = default;
  Status RunHostOps(const OpSegment& segment, int64_t n_tokens, bool last_row_only);
  Status CheckTokenIds(int64_t n_tokens) const;

  std::shared_ptr<const Model> model_;
  std::unique_ptr<DeviceSession> device_;
  uint8_t* arena_ = nullptr;
  bool owns_arena_ = false;
  uint8_t* device_scratch_ = nullptr;  // kernel scratch beside a device-provided host arena
  std::unique_ptr<cpu::ThreadPool> pool_;
  KernelResources res_;
  std::vector<OpCall> calls_;
  std::vector<void*> data_;  // per tensor
  // Per op: the tokens-dimension row size in bytes of each input (and the output), 0 for tensors
  // without one; a last-row step offsets the tail's pointers by (n - 1) rows.
  std::vector<std::vector<uint64_t>> row_bytes_;
  std::vector<uint64_t> op_nanos_;  // per op, when profiling: time since the last HostProfile
  int64_t profiled_steps_ = 0;
  int64_t pos_ = 0;
};

}  // namespace acorn

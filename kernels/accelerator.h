// The accelerator seam: what the interpreter needs from a backend with memory and a queue of its own
// (CUDA today; Metal and other integrated GPUs are why it is shaped around shared memory).
//
// The interpreter decides which op runs where (the kernel table, the preference list) and cuts the
// op list into segments of consecutive ops on one backend. It then decides where every tensor
// lives (TensorHome) and plans one arena per memory. The accelerator places the weights once per
// model (DeviceModel: uploaded to device memory, or used in place from the mapped file), and runs
// its segments for a session (DeviceSession) on its own queue, asynchronously: the interpreter calls
// Finish before the host touches anything the device wrote.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/memory_plan.h"
#include "acorn/model.h"
#include "acorn/span.h"
#include "acorn/status.h"
#include "kernel_table.h"

namespace acorn {

// Where a non-constant tensor lives when some ops run on an accelerator.
enum class TensorHome : uint8_t {
  kHost = 0,      // only host ops touch it: the host arena
  kDevice = 1,    // only device ops touch it: the device arena
  kShared = 2,    // host and device ops touch it: the host arena, pinned and mapped into the device
  kMirrored = 3,  // a graph input or output only device ops touch: a host copy for the caller and a
                  // device copy for the kernels, copied once per step (inputs in, outputs out)
};

struct BoundOp {
  const OpDesc* op = nullptr;
  const KernelEntry* kernel = nullptr;
  // Where a host kernel reads the op's weights when it is not the bundle's canonical bytes: a copy
  // repacked at load (the CPU's 16-row panels), owned by the bound graph; null otherwise.
  const void* weights = nullptr;
  WeightLayout weight_layout = WeightLayout::kCanonical;
};

// Consecutive ops [begin, end) bound to one backend.
struct OpSegment {
  Backend backend = Backend::kCpu;
  int begin = 0;
  int end = 0;
};

// What an accelerator gets at load: the whole bound graph and the interpreter's decisions.
struct DeviceProgramSpec {
  const Bundle* bundle = nullptr;
  Span<const BoundOp> ops;                  // every op, in graph order
  Span<const OpSegment> segments;           // every segment; the accelerator runs its own
  Span<const TensorHome> homes;             // per tensor (constants: kHost, unused)
  const MemoryPlan* host_plan = nullptr;    // offsets of kHost, kShared and kMirrored tensors
  const MemoryPlan* device_plan = nullptr;  // offsets of kDevice and kMirrored tensors
  // Ops from here to the end are row-wise (each output row depends on the same input row only):
  // a step that needs only its last row runs them on that row alone.
  int tail_begin = 0;
};


// One step as a device segment sees it.
struct DeviceStep {
  int64_t n_tokens = 0;
  int64_t pos = 0;
  bool last_row_only = false;  // tail ops run on the last row alone (see tail_begin)
};

class DeviceSession {
 public:
  virtual ~DeviceSession() = default;
  // Host memory of the session (host_plan.arena_bytes): pinned and mapped into the device, so the
  // host writes inputs there and reads outputs there.
  virtual uint8_t* host_arena() = 0;
  // Enqueues the segment with index `segment` (into DeviceProgramSpec::segments). The first device
  // segment of a step copies the mirrored inputs in; the last one copies the mirrored outputs out.
  virtual Status Run(int segment, const DeviceStep& step) = 0;
  // Waits for everything enqueued; returns the first device error, which leaves the session unusable.
  virtual Status Finish() = 0;
  // Zeroes the state tensors in device memory (the KV cache), as Session::Reset does on the host.
  virtual Status ResetState() = 0;
  // With AcceleratorOptions::profile: device time per kind of launch since the last call, as a
  // table; then starts over. Empty otherwise.
  virtual std::string ProfileReport() = 0;
};

class DeviceModel {
 public:
  virtual ~DeviceModel() = default;
  // A session's device memory and queue. host_arena: the caller's memory for the host arena
  // (registered with the device), or null to allocate pinned memory.
  virtual Result<std::unique_ptr<DeviceSession>> CreateSession(void* host_arena, size_t host_arena_bytes) = 0;
  // Bytes of weights copied to device memory (0 when used in place) and how long that took.
  virtual uint64_t uploaded_bytes() const = 0;
  virtual double upload_ms() const = 0;
  virtual bool zero_copy() const = 0;
  virtual std::string device_name() const = 0;
};

class Accelerator {
 public:
  virtual ~Accelerator() = default;
  virtual Backend backend() const = 0;
  // Ok when the backend can run on this machine with these options; otherwise why not (no device,
  // driver too old), in words a user can act on.
  virtual Status Probe(const AcceleratorOptions& options) = 0;
  // True when the device shares memory with the host (integrated GPU): weights are then used in
  // place and all tensors live in shared memory. Valid after a successful Probe.
  virtual bool unified_memory(const AcceleratorOptions& options) = 0;
  // Before memory is planned (spec's plans are null): per tensor, the op until which it must stay
  // allocated (-1: as the graph says), because a fused kernel reads it later than the graph does.
  virtual Result<std::vector<int>> KeepAlive(const DeviceProgramSpec& spec, const AcceleratorOptions& options) = 0;
  virtual Result<std::unique_ptr<DeviceModel>> Prepare(const DeviceProgramSpec& spec,
                                                       const AcceleratorOptions& options) = 0;
  // The device memory's copy rate in GB/s (bytes read + written), the limit of batch-1 decode, which
  // reads every weight once per token; for benchmarks.
  virtual Result<double> MemoryBandwidthGBs(const AcceleratorOptions& options) = 0;
};

// What an accelerator library (libacorn_cuda) hands the interpreter: its Accelerator and the
// kernel-table entries of its backend. The CPU-only libacorn finds it without linking it: through
// a weak reference that an application linking the library resolves, or else by loading the shared
// library by name where the platform can (platform::LoadSymbol). Its types are acorn's internal
// C++ ones, so both sides must come from the same acorn version: `abi` says which.
struct AcceleratorPlugin {
  uint32_t abi = 0;
  Backend backend = Backend::kCuda;
  Accelerator* accelerator = nullptr;
  Span<const KernelEntry> kernels;
};
// ACORN_VERSION_MAJOR.MINOR.PATCH as one number.
uint32_t AcceleratorPluginAbi();

// The accelerator library behind `backend`, or null with the reason in *why when there is none
// (kCpu and kReference are the host's and have none either).
const AcceleratorPlugin* FindAcceleratorPlugin(Backend backend, std::string* why = nullptr);
// Its Accelerator, or null.
Accelerator* FindAccelerator(Backend backend);

}  // namespace acorn

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

struct AcceleratorOptions {
  int device = 0;
  // Use weights in place from the bundle's memory and keep every tensor in one shared arena, also
  // on a discrete GPU (where this is slow: every access crosses the bus). Integrated GPUs always
  // work this way.
  bool zero_copy = false;
  // Fuse ops into fewer kernels where the graph allows (kernels/cuda/program.h). Off runs every op
  // through its own kernel-table kernel: for tests and for finding a faulty fusion.
  bool fuse = true;
  // Capture one-token steps into device graphs and replay them (fewer launches per token).
  bool graphs = true;
  // Time every launch with device events (graphs off): DeviceSession::ProfileReport says where a
  // step's time goes. For benchmarks; it adds a little time of its own.
  bool profile = false;
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

// The accelerator behind `backend`, or null when this build has none (kCpu and kReference are the
// host's and have none either).
Accelerator* FindAccelerator(Backend backend);

}  // namespace acorn

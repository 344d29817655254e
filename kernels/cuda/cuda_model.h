// The CUDA backend's model and session (kernels/accelerator.h's DeviceModel and DeviceSession).
//
// CudaModel places the weights the CUDA ops read, once: on a discrete GPU they are uploaded (q8_0
// and q4_0 matrices repacked into the split layout of device_types.h); in zero-copy mode (integrated
// GPUs, or forced) the bundle's own memory is registered with the device and read in place. It also
// holds the launch plan (program.h).
//
// CudaSession owns a stream, the device arena (KV cache and activations), the pinned host arena
// (inputs, outputs, tensors shared with host ops) and the scratch. A one-token step is captured
// into a CUDA graph per segment the first time and replayed after that: the step's position comes
// from device memory, so the same graph serves every position.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "accelerator.h"
#include "device_types.h"
#include "program.h"

namespace acorn {
namespace cuda {

// Where a constant lives for the device.
struct DeviceConstant {
  const uint8_t* data = nullptr;
  WeightLayout layout = WeightLayout::kCanonical;
};

class CudaModel : public DeviceModel {
 public:
  static Result<std::unique_ptr<CudaModel>> Create(const DeviceProgramSpec& spec, const AcceleratorOptions& options);
  ~CudaModel() override;

  Result<std::unique_ptr<DeviceSession>> CreateSession(void* host_arena, size_t host_arena_bytes) override;
  uint64_t uploaded_bytes() const override { return uploaded_bytes_; }
  double upload_ms() const override { return upload_ms_; }
  bool zero_copy() const override { return options_.zero_copy; }
  std::string device_name() const override { return device_name_; }

  const DeviceProgramSpec& spec() const { return spec_; }
  const AcceleratorOptions& options() const { return options_; }
  const Program& program() const { return program_; }
  const DeviceConstant& constant(uint32_t tensor) const { return constants_[tensor]; }

 private:
  CudaModel() = default;
  Status Upload(const std::vector<uint8_t>& used);
  Status Register(const std::vector<uint8_t>& used);

  DeviceProgramSpec spec_;
  AcceleratorOptions options_;
  Program program_;
  std::vector<DeviceConstant> constants_;
  void* device_weights_ = nullptr;
  std::vector<void*> registered_;  // host ranges registered for zero-copy
  uint64_t uploaded_bytes_ = 0;
  double upload_ms_ = 0;
  std::string device_name_;
};

class CudaSession : public DeviceSession {
 public:
  static Result<std::unique_ptr<CudaSession>> Create(const CudaModel& model, void* host_arena, size_t host_arena_bytes);
  ~CudaSession() override;

  uint8_t* host_arena() override { return host_arena_; }
  Status Run(int segment, const DeviceStep& step) override;
  Status Finish() override;
  Status ResetState() override;
  std::string ProfileReport() override;

 private:
  explicit CudaSession(const CudaModel& model) : model_(model) {}
  Status Enqueue(int segment, const DeviceStep& step);
  Status RunLaunch(const Launch& l, const DeviceStep& step);
  Status RunOp(int op, int64_t rows, bool one_row, const DeviceStep& step);
  Status RunLinear(const Launch& l, int64_t rows, bool one_row, const DeviceStep& step);
  Status RunAttention(const Launch& l, int64_t rows, bool one_row, const DeviceStep& step);
  // Device address of tensor t; for a last-row launch, of its last row.
  float* F(uint32_t t, bool one_row, const DeviceStep& step) const;
  uint8_t* Ptr(uint32_t t, bool one_row, const DeviceStep& step) const;
  WeightView Weight(uint32_t t) const;
  Q8Rows Slot(int slot) const;

  const CudaModel& model_;
  cudaStream_t stream_ = nullptr;
  uint8_t* host_arena_ = nullptr;
  uint8_t* host_arena_device_ = nullptr;  // the same memory as the device addresses it
  bool owns_host_arena_ = false;
  uint8_t* device_arena_ = nullptr;
  uint8_t* scratch_ = nullptr;  // [step params][op scratch][slots]
  int64_t* step_host_ = nullptr;  // pinned: the position the next step's graph copies in
  int64_t* step_device_ = nullptr;
  std::vector<size_t> slot_offsets_;
  size_t op_scratch_offset_ = 0;
  int first_device_segment_ = -1;
  int last_device_segment_ = -1;
  std::vector<cudaGraphExec_t> graphs_;  // per segment, one-token steps; null until captured
  bool graphs_enabled_ = true;
  std::vector<uint64_t> row_bytes_;      // per tensor: bytes of one tokens-dimension row (0: none)
  Status error_;                         // a failed step leaves the session unusable

  // Profiling (AcceleratorOptions::profile): an event pair around each launch of the step in flight.
  struct Timed {
    std::string name;
    cudaEvent_t begin, end;
  };
  Status Mark(const std::string& name, bool begin);
  std::string LaunchName(const Launch& l) const;
  std::vector<cudaEvent_t> event_pool_;
  size_t events_used_ = 0;
  std::vector<Timed> timed_;
  struct Total {
    std::string name;
    int64_t launches = 0;
    double ms = 0;
  };
  std::vector<Total> totals_;
  int64_t profiled_steps_ = 0;
};

}  // namespace cuda
}  // namespace acorn

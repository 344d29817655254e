// A loaded model's interpreter state: every op bound to a kernel, the ops cut into backend segments,
// every tensor's home, the accelerator's arena plan and its share of the model. Built once by
// Model::Load and read by sessions, the accelerator, the benchmark and tests; applications see
// only acorn/model.h.
#pragma once

#include <memory>
#include <vector>

#include "acorn/kernel.h"
#include "acorn/memory_plan.h"
#include "accelerator.h"

namespace acorn {

// Memory from platform::LargeAlloc, freed with it.
struct LargeBuffer {
  void* data = nullptr;
  size_t size = 0;
  LargeBuffer(void* p, size_t n) : data(p), size(n) {}
  ~LargeBuffer();
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
};

struct BoundGraph {
  std::vector<KernelEntry> custom;    // the application's kernels (ModelOptions::custom_kernels)
  std::vector<BoundOp> ops;           // per bundle op, in graph order
  std::vector<std::unique_ptr<LargeBuffer>> repacked;  // weights repacked at load (BoundOp::weights)
  std::vector<OpSegment> segments;
  std::vector<TensorHome> homes;      // per tensor; all kHost when no op runs on an accelerator
  MemoryPlan device_plan;             // the accelerator's arena (tensors homed kDevice or kMirrored)
  // Ops from tail_begin on are row-wise: Step(n, StepRows::kLast) runs them on the last row only.
  int tail_begin = 0;
  // Last, so that it goes first: it refers to everything above.
  std::unique_ptr<DeviceModel> device_model;
};

}  // namespace acorn

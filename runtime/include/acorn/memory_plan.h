// The memory plan: where every non-constant tensor lives inside a session's arena. Computed once at
// load from tensor lifetimes (first op that writes, last op that reads), so a step never allocates.
// State tensors (the KV cache) get their own region at the start of the arena, since they live across
// steps; activations share the rest, greedily packed (largest first, lowest free offset), the way
// TensorFlow Lite Micro's greedy planner does.
#pragma once

#include <cstdint>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/status.h"

namespace acorn {

constexpr uint64_t kNotInArena = UINT64_MAX;
constexpr uint64_t kArenaAlignment = 64;

struct MemoryPlan {
  std::vector<uint64_t> offsets;  // per tensor; kNotInArena for constants
  uint64_t state_bytes = 0;       // [0, state_bytes) holds state tensors
  uint64_t arena_bytes = 0;       // total bytes a session needs
};

Result<MemoryPlan> PlanMemory(const Bundle& bundle);
// Plans only the tensors t with include[t] != 0 (one entry per tensor); the others get
// kNotInArena. A backend with memory of its own (a discrete GPU) plans its arena this way beside
// the host's, each holding the tensors that live there. With keep_until, tensor t stays allocated
// at least until op keep_until[t] (-1: as the graph says): a backend that runs several ops as one
// kernel reads some inputs later than the graph does.
Result<MemoryPlan> PlanMemory(const Bundle& bundle, const std::vector<uint8_t>& include,
                              const std::vector<int>* keep_until = nullptr);

}  // namespace acorn

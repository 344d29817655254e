#include "acorn/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/limits.h"

namespace acorn {

namespace {
using limits::kMaxArenaBytes;

uint64_t AlignUp(uint64_t v) { return (v + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

struct Interval {
  uint32_t tensor;
  int64_t first;  // op index of the first write (-1: before the first op)
  int64_t last;   // op index of the last read (n_ops: after the last op)
  uint64_t bytes;
};
}  // namespace

Result<MemoryPlan> PlanMemory(const Bundle& bundle) {
  return PlanMemory(bundle, std::vector<uint8_t>(bundle.tensors().size(), 1));
}

Result<MemoryPlan> PlanMemory(const Bundle& bundle, const std::vector<uint8_t>& include,
                              const std::vector<int>* keep_until) {
  const std::vector<TensorDesc>& tensors = bundle.tensors();
  if (include.size() != tensors.size()) return ACORN_ERROR(kInternal, "PlanMemory: include has the wrong size");
  const std::vector<OpDesc>& ops = bundle.ops();
  const int64_t n_ops = static_cast<int64_t>(ops.size());
  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), kNotInArena);

  // State region first: stable offsets across steps.
  uint64_t cursor = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].storage != Storage::kState || !include[i]) continue;
    plan.offsets[i] = cursor;
    cursor = AlignUp(cursor + tensors[i].max_bytes);
    if (cursor > kMaxArenaBytes) return ACORN_ERROR(kMalformed, "state tensors need more than 2^48 bytes");
  }
  plan.state_bytes = cursor;

  // Lifetimes of the activations.
  std::vector<Interval> live;
  std::vector<int64_t> first(tensors.size(), -2), last(tensors.size(), -2);
  for (int64_t k = 0; k < n_ops; ++k) {
    for (uint32_t t : ops[k].outputs) {
      if (first[t] == -2) first[t] = k;
      last[t] = std::max(last[t], k);
    }
    for (uint32_t t : ops[k].inputs) last[t] = std::max(last[t], k);
  }
  if (keep_until != nullptr) {
    if (keep_until->size() != tensors.size()) return ACORN_ERROR(kInternal, "PlanMemory: keep_until has the wrong size");
    for (size_t t = 0; t < tensors.size(); ++t) {
      if ((*keep_until)[t] >= 0) last[t] = std::max<int64_t>(last[t], std::min<int64_t>((*keep_until)[t], n_ops - 1));
    }
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Storage s = tensors[i].storage;
    if (s == Storage::kConstant || s == Storage::kState || !include[i]) continue;
    Interval iv{static_cast<uint32_t>(i), first[i], last[i], AlignUp(tensors[i].max_bytes)};
    if (s == Storage::kInput || iv.first == -2) iv.first = -1;  // inputs exist before the first op
    if (s == Storage::kOutput) iv.last = n_ops;                  // outputs are read after the last op
    if (iv.last < iv.first) iv.last = iv.first;
    live.push_back(iv);
  }
  std::sort(live.begin(), live.end(), [](const Interval& a, const Interval& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.tensor < b.tensor;
  });

  // Greedy: each tensor takes the lowest offset that does not collide with a placed tensor whose
  // lifetime overlaps its own.
  std::vector<size_t> placed;
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  uint64_t top = plan.state_bytes;
  for (size_t n = 0; n < live.size(); ++n) {
    const Interval& iv = live[n];
    busy.clear();
    for (size_t p : placed) {
      const Interval& o = live[p];
      if (o.first <= iv.last && iv.first <= o.last) {
        const uint64_t at = plan.offsets[o.tensor];
        busy.emplace_back(at, at + o.bytes);
      }
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = plan.state_bytes;
    for (const auto& b : busy) {
      if (offset + iv.bytes <= b.first) break;
      offset = std::max(offset, b.second);
    }
    if (offset + iv.bytes > kMaxArenaBytes) {
      return ACORN_ERROR(kMalformed, "tensor '%s': the arena would exceed 2^48 bytes", tensors[iv.tensor].name);
    }
    plan.offsets[iv.tensor] = offset;
    top = std::max(top, offset + iv.bytes);
    placed.push_back(n);
  }
  plan.arena_bytes = std::max<uint64_t>(top, kArenaAlignment);
  return plan;
}

}  // namespace acorn

// The memory planner: state first and stable, activations packed so that tensors whose lifetimes
// overlap never share bytes, and all of it inside arena_bytes.
#include <gtest/gtest.h>

#include "acorn/bundle.h"
#include "acorn/memory_plan.h"
#include "sample_bundles.h"

namespace acorn {
namespace {

// A chain x0 -> x1 -> ... -> xN of elementwise ops on [T, 256] f32 tensors plus one state tensor.
std::vector<uint8_t> ChainBundle(int n) {
  BundleWriter w;
  w.SetLimits(4, 8);
  std::vector<uint8_t> one(256 * 4, 0);
  const uint32_t c = w.AddConstant("c", DType::kF32, {1, 256}, one).value();
  w.AddTensor("state", DType::kF32, {8, 256}, Storage::kState).value();
  uint32_t prev = w.AddTensor("x0", DType::kF32, {kTokensDim, 256}, Storage::kInput).value();
  for (int i = 1; i <= n; ++i) {
    const Storage s = i == n ? Storage::kOutput : Storage::kPlanned;
    const uint32_t next = w.AddTensor("x" + std::to_string(i), DType::kF32, {kTokensDim, 256}, s).value();
    EXPECT_TRUE(w.AddOp(fb::OpKind::Copy, {prev}, {next}).ok());
    (void)c;
    prev = next;
  }
  return w.WriteToMemory().value();
}

TEST(MemoryPlan, ChainReusesMemory) {
  std::vector<uint8_t> bytes = ChainBundle(20);
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto plan = PlanMemory(**b);
  ASSERT_TRUE(plan.ok());
  const uint64_t act = 4 * 256 * 4;
  EXPECT_EQ(plan->state_bytes, 8u * 256 * 4);
  // A chain needs two live activations at a time (plus the output, which lives to the end).
  EXPECT_LE(plan->arena_bytes, plan->state_bytes + 3 * act);
  EXPECT_EQ(plan->offsets[(*b)->FindTensor("state")], 0u);
  EXPECT_EQ(plan->offsets[(*b)->FindTensor("c")], kNotInArena);
}

TEST(MemoryPlan, OverlappingLifetimesNeverShareBytes) {
  std::vector<uint8_t> bytes = testing::MakeSampleBundle();
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok());
  auto plan = PlanMemory(**b);
  ASSERT_TRUE(plan.ok());
  const auto& ts = (*b)->tensors();
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].storage == Storage::kConstant) continue;
    EXPECT_EQ(plan->offsets[i] % kArenaAlignment, 0u);
    EXPECT_LE(plan->offsets[i] + ts[i].max_bytes, plan->arena_bytes) << ts[i].name;
  }
  // In the sample graph every op's input and output are live together.
  for (const OpDesc& op : (*b)->ops()) {
    for (uint32_t in : op.inputs) {
      if (ts[in].storage == Storage::kConstant) continue;
      const uint32_t out = op.outputs[0];
      const bool disjoint = plan->offsets[in] + ts[in].max_bytes <= plan->offsets[out] ||
                            plan->offsets[out] + ts[out].max_bytes <= plan->offsets[in];
      EXPECT_TRUE(disjoint) << ts[in].name << " and " << ts[out].name;
    }
  }
}

}  // namespace
}  // namespace acorn

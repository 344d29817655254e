// The attention driver: picks the active ISA's kernel (attention_tiles.h; scalar where no SIMD
// instantiation exists) and hands each thread every n-th work item with its own scratch.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "attention_internal.h"
#include "attention_tiles.h"
#include "cpu_kernels.h"

namespace acorn {
namespace cpu {

namespace internal {
namespace {

// One lane: the portable path (and ARM64 until it has a vector policy with Exp).
struct ScalarFOps {
  using V = float;
  static constexpr int kWidth = 1;
  static V Zero() { return 0.0f; }
  static V Set1(float v) { return v; }
  static V Load(const float* p) { return *p; }
  static void Store(float* p, V v) { *p = v; }
  static V Add(V a, V b) { return a + b; }
  static V Sub(V a, V b) { return a - b; }
  static V Mul(V a, V b) { return a * b; }
  static V Max(V a, V b) { return std::max(a, b); }
  static V Fma(V a, V b, V c) { return a * b + c; }
  static float HSum(V v) { return v; }
  static float HMax(V v) { return v; }
  static V Exp(V x) { return std::exp(x); }
};

AttentionFn ActiveAttention() {
  switch (ActiveIsa()) {
#if defined(ACORN_X86_KERNELS)
    case Isa::kAmx:  // the tile unit only multiplies matrices
    case Isa::kAvx512: return Avx512Attention();
    case Isa::kAvx2: return Avx2Attention();
#endif
    default: return AttentionKernel<ScalarFOps>::Run;
  }
}

}  // namespace
}  // namespace internal

namespace {
constexpr size_t kAlign = 64;
}  // namespace

size_t AttentionScratchBytes(int64_t T, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int threads) {
  const auto l = internal::AttentionLayout::For(std::max<int64_t>(T, 1), n_heads, n_kv_heads, head_dim);
  const size_t per_thread = (static_cast<size_t>(l.ScratchFloats()) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  return kAlign + static_cast<size_t>(std::max(threads, 1)) * per_thread;
}

void Attention(ThreadPool* pool, const float* q, const float* k_cache, const float* v_cache, int64_t T, int64_t pos,
               int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, bool causal, const float* mask,
               int64_t kv_len, float* out, void* scratch) {
  if (T <= 0) return;
  const internal::AttentionArgs a{q, k_cache, v_cache, mask, out, T, pos, n_heads, n_kv_heads, head_dim, kv_len,
                                  scale, causal};
  const internal::AttentionLayout l = internal::AttentionLayout::For(T, n_heads, n_kv_heads, head_dim);
  const internal::AttentionFn fn = internal::ActiveAttention();
  const size_t per_thread = (static_cast<size_t>(l.ScratchFloats()) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch) + kAlign - 1) / kAlign * kAlign);
  const int64_t items = l.blocks * n_kv_heads;
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t slots = std::min(threads, items);
  // Slot i (one per thread) runs items i, i + slots, ... in its own scratch.
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* s = reinterpret_cast<float*>(base + static_cast<size_t>(i) * per_thread);
      for (int64_t item = i; item < items; item += slots) fn(a, l, item, s);
    }
  };
  ParallelFor(pool, slots, run);
}

}  // namespace cpu
}  // namespace acorn

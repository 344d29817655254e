// Run-time choice of the instruction-set path.
#include <atomic>

#include "cpu_kernels.h"

namespace acorn {
namespace cpu {

namespace {
bool Detect(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
#if defined(ACORN_X86_KERNELS)
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case Isa::kAvx512:
      return Detect(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
#else
    default:
      return false;
#endif
  }
  return false;
}

Isa DetectBest() {
  if (Detect(Isa::kAvx512)) return Isa::kAvx512;
  if (Detect(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

// -1: not chosen yet (first use detects).
std::atomic<int> g_active{-1};
}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

bool IsaSupported(Isa isa) { return Detect(isa); }

Isa BestIsa() {
  static const Isa best = DetectBest();
  return best;
}

Isa ActiveIsa() {
  const int v = g_active.load(std::memory_order_relaxed);
  return v < 0 ? BestIsa() : static_cast<Isa>(v);
}

bool ForceIsa(Isa isa) {
  if (!IsaSupported(isa)) return false;
  g_active.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

}  // namespace cpu
}  // namespace acorn

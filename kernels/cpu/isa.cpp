// Run-time choice of the instruction-set path.
#include <atomic>
#include <cstdint>

#if defined(ACORN_X86_KERNELS)
#include <cpuid.h>
#endif

#include "cpu_kernels.h"

namespace acorn {
namespace cpu {

namespace {
#if defined(ACORN_X86_KERNELS)
// cpuid and xgetbv directly rather than __builtin_cpu_supports: clang 14 does not know "f16c" there,
// and the OS must also have enabled the vector registers (XCR0), or the instructions fault.
struct X86Features {
  bool avx2 = false;    // AVX2 + FMA + F16C, with YMM state enabled
  bool avx512 = false;  // F, BW, VL, DQ, VNNI, with ZMM and opmask state enabled
};

X86Features ReadX86Features() {
  X86Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6u) == 0x6u;
  const bool zmm_state = (xcr0_lo & 0xe6u) == 0xe6u;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = (b >> 5) & 1;
  const bool avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  const bool avx512vnni = (c >> 11) & 1;
  f.avx2 = ymm_state && avx2 && fma && f16c;
  f.avx512 = f.avx2 && zmm_state && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni;
  return f;
}

const X86Features& Features() {
  static const X86Features features = ReadX86Features();
  return features;
}
#endif

bool Detect(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
#if defined(ACORN_X86_KERNELS)
    case Isa::kAvx2:
      return Features().avx2;
    case Isa::kAvx512:
      return Features().avx512;
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

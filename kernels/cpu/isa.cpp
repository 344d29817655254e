// Run-time choice of the instruction-set path.
#include <atomic>
#include <cstdint>

#if defined(ACORN_X86_KERNELS)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif
#if defined(ACORN_ARM64_KERNELS) && defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(ACORN_ARM64_KERNELS)
#include <sys/auxv.h>
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
  bool amx = false;     // AMX-TILE + AMX-INT8 with tile state enabled and granted to this process
  bool amx_bf16 = false;  // amx, and the tile unit's bf16 multiply (AMX-BF16)
};

// Linux enables the 8 KiB tile state per process, on request (arch/x86/include/uapi/asm/prctl.h:
// ARCH_REQ_XCOMP_PERM; XFEATURE_XTILEDATA is state component 18): without it the first tile
// instruction faults. Granted for the whole process, every thread, once. Elsewhere: not used.
[[maybe_unused]] bool GrantTileState() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

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
  const bool amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1, amx_bf16 = (d >> 22) & 1;
  const bool tile_state = (xcr0_lo & 0x60000u) == 0x60000u;  // XTILECFG (17) and XTILEDATA (18)
#if defined(ACORN_AMX_EMULATION)
  // The tests' build with the tile instructions emulated (amx_emulation.h): AVX-512 suffices.
  (void)amx_tile, (void)amx_int8, (void)amx_bf16, (void)tile_state;
  f.amx = f.avx512;
  f.amx_bf16 = f.amx;
#else
  f.amx = f.avx512 && amx_tile && amx_int8 && tile_state && GrantTileState();
  f.amx_bf16 = f.amx && amx_bf16;
#endif
  return f;
}

const X86Features& Features() {
  static const X86Features features = ReadX86Features();
  return features;
}
#endif

#if defined(ACORN_ARM64_KERNELS)
// Advanced SIMD is part of every ARMv8-A application core (and of the AArch64 ABI of Linux,
// Android and Apple), so kNeon needs no check; the optional int8 extensions are asked of the OS,
// since reading the ID registers from user space traps on some kernels.
struct ArmFeatures {
  bool dotprod = false;  // FEAT_DotProd: sdot/udot
  bool i8mm = false;     // FEAT_I8MM: smmla/usmmla
};

#if defined(__APPLE__)
bool SysctlFlag(const char* name) {
  int value = 0;
  size_t size = sizeof value;
  return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
}

ArmFeatures ReadArmFeatures() {
  ArmFeatures f;
  f.dotprod = SysctlFlag("hw.optional.arm.FEAT_DotProd");
  f.i8mm = SysctlFlag("hw.optional.arm.FEAT_I8MM");
  return f;
}
#else
// The bits of AT_HWCAP / AT_HWCAP2 (Linux arch/arm64/include/uapi/asm/hwcap.h, the same on
// Android); spelled out because older C libraries' headers lack HWCAP2_I8MM.
constexpr unsigned long kHwcapAsimdDp = 1ul << 20;
constexpr unsigned long kHwcap2I8mm = 1ul << 13;

ArmFeatures ReadArmFeatures() {
  ArmFeatures f;
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  f.dotprod = (hwcap & kHwcapAsimdDp) != 0;
  f.i8mm = (hwcap2 & kHwcap2I8mm) != 0;
  return f;
}
#endif

const ArmFeatures& Features() {
  static const ArmFeatures features = ReadArmFeatures();
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
    case Isa::kAmx:
      return Features().amx;
#endif
#if defined(ACORN_ARM64_KERNELS)
    case Isa::kNeon:
      return true;
    case Isa::kNeonDotprod:
      return Features().dotprod;
    case Isa::kNeonI8mm:
      return Features().dotprod && Features().i8mm;  // the i8mm set runs sdot for single tokens
#endif
    default:
      return false;
  }
  return false;
}

Isa DetectBest() {
  // Best first; a build has only its own architecture's paths.
  for (Isa isa : {Isa::kAmx, Isa::kAvx512, Isa::kAvx2, Isa::kNeonI8mm, Isa::kNeonDotprod, Isa::kNeon}) {
    if (Detect(isa)) return isa;
  }
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
    case Isa::kNeon: return "neon";
    case Isa::kNeonDotprod: return "neon_dotprod";
    case Isa::kNeonI8mm: return "neon_i8mm";
    case Isa::kAmx: return "amx";
  }
  return "unknown";
}

bool IsaSupported(Isa isa) { return Detect(isa); }

bool IsaHasBf16Tiles(Isa isa) {
#if defined(ACORN_X86_KERNELS)
  return isa == Isa::kAmx && Features().amx && Features().amx_bf16;
#else
  (void)isa;
  return false;
#endif
}

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

// The MatMul driver: picks the kernel set of the active ISA, quantizes activations once for
// integer kernels, and splits output rows over threads in contiguous ranges, so that at decode
// each thread streams its own slice of the weights exactly once.
#include <cstdint>

#include "acorn/half.h"
#include "cpu_kernels.h"
#include "matmul_internal.h"
#include "matmul_panels.h"
#include "reference_kernels.h"
#include "row_bytes.h"

namespace acorn {
namespace cpu {

namespace {
using internal::KernelSet;
using internal::MatMulArgs;

constexpr size_t kAlign = 64;
size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

const KernelSet& ActiveKernels() {
  switch (ActiveIsa()) {
#if defined(ACORN_X86_KERNELS)
    case Isa::kAmx: return internal::AmxKernels();
    case Isa::kAvx512: return internal::Avx512Kernels();
    case Isa::kAvx2: return internal::Avx2Kernels();
#endif
#if defined(ACORN_ARM64_KERNELS)
    case Isa::kNeonI8mm: return internal::NeonI8mmKernels();
    case Isa::kNeonDotprod: return internal::NeonDotprodKernels();
    case Isa::kNeon: return internal::NeonKernels();
#endif
    default: return internal::ScalarKernels();
  }
}

// Every block type has an integer kernel taking quantized activations (Q8_0, Q8_1 or Q8_K, as
// llama.cpp's): Q8_0 and Q4_0 their own, the K-quants a SIMD one where the set has it, the others
// the portable RowsGroupsScalar.
bool IsQuantized(DType wtype) { return GetDTypeInfo(wtype).quantized; }

// The set's function for a type appended to KernelSet, or the scalar set's where it has none.
internal::RowsFn OrScalar(internal::RowsFn KernelSet::*field, const KernelSet& ks) {
  return ks.*field ? ks.*field : internal::ScalarKernels().*field;
}
// Quantizes the T rows of a->x into scratch and points a at them. As llama.cpp: Q8_K activations
// for the K-quants and IQ4_XS, Q8_1 (Q8_0 and s) for Q4_1 and Q5_1, Q8_0 for the others. The SIMD
// K-quant kernels take the minimums through the scaled block sums.
void QuantizeActivations(ThreadPool* pool, const KernelSet& ks, MatMulArgs* a, void* scratch) {
  const int64_t T = a->T, K = a->K, nb = K / kQBlock;
  const float* x = a->x;
  uintptr_t p = AlignUp(reinterpret_cast<uintptr_t>(scratch));
  int8_t* xq = reinterpret_cast<int8_t*>(p);
  p += AlignUp(static_cast<size_t>(T * K));
  float* xd = reinterpret_cast<float*>(p);
  p += AlignUp(static_cast<size_t>(T * nb) * sizeof(float));
  int32_t* xnsum4 = reinterpret_cast<int32_t*>(p);
  p += AlignUp(static_cast<size_t>(T * (K / 4)) * sizeof(int32_t));
  float* xds = reinterpret_cast<float*>(p);
  const bool k_quant = ref::TakesQ8KActivations(a->wtype);
  const bool q8_1 = ref::TakesQ8_1Activations(a->wtype);
  const auto quantize_row = k_quant ? internal::QuantizeRowQ8KScalar : ks.quantize_row;
  auto quantize = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      quantize_row(x + t * K, K, xq + t * K, xd + t * nb, xnsum4 + t * (K / 4));
      for (int64_t b = 0; k_quant && b < nb; ++b) {
        int32_t sum = 0;
        for (int g = 0; g < kQBlock / 4; ++g) sum -= xnsum4[t * (K / 4) + b * (kQBlock / 4) + g];
        xds[t * nb + b] = xd[t * nb + b] * static_cast<float>(sum);
      }
      for (int64_t b = 0; q8_1 && b < nb; ++b) {
        xds[t * nb + b] = ref::Q8_1BlockSum(x + t * K + b * kQBlock, xq + t * K + b * kQBlock);
      }
    }
  };
  ParallelFor(pool, T, quantize);
  a->xq = xq;
  a->xd = xd;
  a->xnsum4 = xnsum4;
  a->xds = xds;
}

// Packs the activations, then gives each thread a contiguous run of 16-row panels, which it packs
// one at a time into its own scratch and multiplies by every token.
void MatMulPanels(ThreadPool* pool, const MatMulArgs& a, const KernelSet& ks, uint8_t* scratch) {
  using internal::kPanelRows;
  const internal::PanelActivations x = internal::PanelActivationsAt(scratch, a, ks.panel_tokens);
  const int64_t token_groups = (a.T + ks.panel_tokens - 1) / ks.panel_tokens;
  auto pack = [&](int64_t g0, int64_t g1) { internal::PackActivations(a, x, g0, g1); };
  ParallelFor(pool, token_groups, pack);

  uint8_t* panels = scratch + internal::PanelActivationBytes(a.T, a.K, a.wtype, 0);
  const size_t panel_bytes = internal::PanelBytes(a.K, a.wtype);
  const int64_t n_panels = (a.N + kPanelRows - 1) / kPanelRows;
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t slots = threads < n_panels ? threads : n_panels;
  // One item per thread: item i is thread i's run of panels and its scratch.
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const internal::WeightPanel w = internal::PanelAt(panels + i * panel_bytes, a.K, a.wtype);
      for (int64_t p = n_panels * i / slots; p < n_panels * (i + 1) / slots; ++p) {
        const int64_t n = p * kPanelRows;
        const int rows = static_cast<int>(a.N - n < kPanelRows ? a.N - n : kPanelRows);
        internal::PackPanel(a, n, rows, w);
        ks.panel(a, x, w, n, rows);
      }
    }
  };
  ParallelFor(pool, slots, run);
}

}  // namespace

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t k) {
  const KernelSet& ks = ActiveKernels();
  for (int64_t b = 0; b < k / kQBlock; ++b) {
    float d;
    int32_t nsum4[kQBlock / 4];
    ks.quantize_row(x + b * kQBlock, kQBlock, y[b].q, &d, nsum4);
    y[b].scale = F32ToF16(d);  // d is an fp16 value widened: exact
  }
}

bool MatMulSupports(DType wtype) {
  return wtype == DType::kF32 || wtype == DType::kF16 || IsQuantized(wtype);
}

namespace {
// From this many tokens on, quantized products go through packed panels (where the kernel set has
// them): packing costs about one pass over the weights, as much as a few tokens' products.
constexpr int64_t kPanelMinTokens = 4;

bool UsesPanels(int64_t T, DType wtype) { return T >= kPanelMinTokens && IsQuantized(wtype); }

size_t QuantizedActivationBytes(int64_t T, int64_t K) {
  const size_t blocks = static_cast<size_t>(T) * static_cast<size_t>(K / kQBlock);
  const size_t groups = static_cast<size_t>(T) * static_cast<size_t>(K / 4);
  // Slack for aligning an arbitrary pointer, then quants, scales, sums and scaled block sums.
  return kAlign + AlignUp(static_cast<size_t>(T) * static_cast<size_t>(K)) + 2 * AlignUp(blocks * sizeof(float)) +
         AlignUp(groups * sizeof(int32_t));
}
}  // namespace

// f32 weights: tokens in lanes from a vector's worth of tokens on.
constexpr int64_t kTokenPanelMinTokens = 8;
bool UsesTokenPanels(int64_t T, DType wtype) { return T >= kTokenPanelMinTokens && wtype == DType::kF32; }

size_t MatMulScratchBytes(int64_t T, int64_t K, DType wtype, int threads) {
  threads = threads < 1 ? 1 : threads;
  if (!IsQuantized(wtype)) {
    // Float weights may have been repacked for bf16 products (ModelOptions::cpu_bf16_products)
    // where the CPU has the tile unit for them.
    const size_t bf16 = IsaHasBf16Tiles(Isa::kAmx) || Bf16ProductsAvailable() ? MatMulBf16ScratchBytes(T, K) : 0;
    const size_t f32 = UsesTokenPanels(T, wtype) ? internal::TokenPanelBytes(T, K) : 0;
    return bf16 > f32 ? bf16 : f32;
  }
  // The activations quantized, then packed for panels (weights repacked at load take them at any
  // T), and, whatever ISA runs (ForceIsa may change it after planning), room for packing panels.
  size_t bytes = QuantizedActivationBytes(T, K) + internal::PanelActivationBytes(T, K, wtype, 0);
  if (UsesPanels(T, wtype)) bytes += static_cast<size_t>(threads) * internal::PanelBytes(K, wtype);
  return bytes;
}

void MatMul(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* w, DType wtype,
            int64_t N, const float* bias, float* y, void* scratch) {
  if (T <= 0 || N <= 0) return;
  const KernelSet& ks = ActiveKernels();
  MatMulArgs a{};
  a.T = T;
  a.K = K;
  a.N = N;
  a.x = x;
  a.w = static_cast<const uint8_t*>(w);
  a.w_row_bytes = kernels::StoredRowBytes(wtype, K);
  a.wtype = wtype;
  a.bias = bias;
  a.y = y;

  internal::RowsFn rows = nullptr;
  switch (wtype) {
    case DType::kF32: rows = ks.f32; break;
    case DType::kF16: rows = ks.f16; break;
    case DType::kQ8_0: rows = ks.q8_0; break;
    case DType::kQ4_0: rows = ks.q4_0; break;
    case DType::kQ4_K: rows = OrScalar(&KernelSet::q4_k, ks); break;
    case DType::kQ5_K: rows = OrScalar(&KernelSet::q5_k, ks); break;
    case DType::kQ6_K: rows = OrScalar(&KernelSet::q6_k, ks); break;
    case DType::kQ2_K: rows = OrScalar(&KernelSet::q2_k, ks); break;
    case DType::kQ3_K: rows = OrScalar(&KernelSet::q3_k, ks); break;
    case DType::kIQ4_XS: rows = OrScalar(&KernelSet::iq4_xs, ks); break;
    case DType::kQ4_1: rows = OrScalar(&KernelSet::q4_1, ks); break;
    case DType::kQ5_0: rows = OrScalar(&KernelSet::q5_0, ks); break;
    case DType::kQ5_1: rows = OrScalar(&KernelSet::q5_1, ks); break;
    case DType::kIQ4_NL: rows = OrScalar(&KernelSet::iq4_nl, ks); break;
    default:
      if (!IsQuantized(wtype)) return;  // the binder only binds supported dtypes (MatMulSupports)
      rows = internal::RowsGroupsScalar;
  }

  if (ks.f32_tokens && UsesTokenPanels(T, wtype)) {
    float* xp = internal::TokenPanelAt(scratch);
    auto pack = [&](int64_t g0, int64_t g1) { ks.f32_tokens_pack(a, xp, g0, g1); };
    ParallelFor(pool, (T + internal::kTokenGroup - 1) / internal::kTokenGroup, pack);
    auto rows = [&](int64_t b, int64_t e) { ks.f32_tokens(a, xp, b * 16, e * 16 < N ? e * 16 : N); };
    ParallelFor(pool, (N + 15) / 16, rows);  // ranges of whole 16-row runs
    return;
  }

  if (IsQuantized(wtype)) {
    QuantizeActivations(pool, ks, &a, scratch);
    if (ks.panel && UsesPanels(T, wtype)) {
      MatMulPanels(pool, a, ks, static_cast<uint8_t*>(scratch) + QuantizedActivationBytes(T, K));
      return;
    }
  }

  // Cut thread ranges on whole row tiles so that no thread gets a ragged tile in the middle.
  const int64_t tile = ks.row_tile;
  const int64_t n_tiles = (N + tile - 1) / tile;
  auto run = [&](int64_t b, int64_t e) {
    const int64_t n1 = e * tile < N ? e * tile : N;
    rows(a, b * tile, n1);
  };
  ParallelFor(pool, n_tiles, run);
}

bool MatMulRepacks(DType wtype) {
  const KernelSet& ks = ActiveKernels();
  if (ks.row_panels == nullptr) return false;
  if (wtype == DType::kQ8_0 || wtype == DType::kQ4_0) return ks.row_panels_q8_0_q4_0;
  return wtype == DType::kQ4_1 || wtype == DType::kQ5_0 || wtype == DType::kQ5_1 || wtype == DType::kQ4_K ||
         wtype == DType::kQ5_K || wtype == DType::kQ6_K;
}

size_t RowPanelBytes(DType wtype, int64_t K, int64_t N) {
  return static_cast<size_t>((N + internal::kPanelRows - 1) / internal::kPanelRows) *
         static_cast<size_t>(K / internal::RowPanelUnitElems(wtype)) * internal::RowPanelUnitBytes(wtype);
}

void RepackRowPanels(ThreadPool* pool, const void* w, DType wtype, int64_t K, int64_t N, void* panels) {
  auto run = [&](int64_t p0, int64_t p1) {
    internal::RepackRowPanels(static_cast<const uint8_t*>(w), wtype, K, N, p0, p1, static_cast<uint8_t*>(panels));
  };
  ParallelFor(pool, (N + internal::kPanelRows - 1) / internal::kPanelRows, run);
}

void MatMulRowPanels(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* panels, DType wtype,
                     int64_t N, const float* bias, float* y, void* scratch) {
  if (T <= 0 || N <= 0) return;
  const KernelSet& ks = ActiveKernels();
  MatMulArgs a{};
  a.T = T;
  a.K = K;
  a.N = N;
  a.x = x;
  a.w = static_cast<const uint8_t*>(panels);
  a.wtype = wtype;
  a.bias = bias;
  a.y = y;
  QuantizeActivations(pool, ks, &a, scratch);
  const int C = ks.panel_tokens > 0 ? ks.panel_tokens : internal::kPanelRows;
  uint8_t* after_q = static_cast<uint8_t*>(scratch) + QuantizedActivationBytes(T, K);
  const internal::PanelActivations xp = internal::PanelActivationsAt(after_q, a, C);
  auto pack = [&](int64_t g0, int64_t g1) { internal::PackActivations(a, xp, g0, g1); };
  ParallelFor(pool, (T + C - 1) / C, pack);
  const internal::RowPanelFn fn = ks.row_panels ? ks.row_panels : internal::RowPanelsPortable;
  // One item per thread, as MatMulPanels: a contiguous run of panels and, from kPanelMinTokens on
  // (MatMulScratchBytes planned it then), the thread's own panel of scratch.
  uint8_t* panel_scratch = after_q + internal::PanelActivationBytes(T, K, wtype, 0);
  const size_t panel_bytes = internal::PanelBytes(K, wtype);
  const int64_t n_panels = (N + internal::kPanelRows - 1) / internal::kPanelRows;
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t slots = threads < n_panels ? threads : n_panels;
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      uint8_t* own = UsesPanels(T, wtype) ? internal::PanelAt(panel_scratch + i * panel_bytes, K, wtype).u : nullptr;
      fn(a, xp, n_panels * i / slots, n_panels * (i + 1) / slots, own);
    }
  };
  ParallelFor(pool, slots, run);
}

}  // namespace cpu
}  // namespace acorn

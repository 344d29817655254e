// f32 and f16 weights multiplied in bf16 (cpu_kernels.h, MatMulBf16Panels): the panel layout, its
// repack at load, the driver that cuts the product into items over the threads, and the portable
// path, which sums in the tile unit's order (column pairs in order, the even column first), so that
// it gives what the emulated tile unit gives bit for bit, and serves where ForceIsa moved a model
// loaded on AMX to another path.
#include <atomic>
#include <cstring>

#include "acorn/half.h"
#include "cpu_kernels.h"
#include "matmul_internal.h"

namespace acorn {
namespace cpu {

namespace {
using internal::Bf16Padded;
using internal::kBf16Cols;
using internal::kBf16Rows;

constexpr size_t kAlign = 64;

std::atomic<bool> g_emulate{false};

// Bytes of one panel: 16 rows of Kp bf16 values.
size_t PanelBytes(int64_t K) { return static_cast<size_t>(kBf16Rows * Bf16Padded(K, kBf16Cols)) * 2; }
}  // namespace

bool Bf16ProductsAvailable() { return IsaHasBf16Tiles(ActiveIsa()) || g_emulate.load(std::memory_order_relaxed); }

void EmulateBf16Products(bool on) { g_emulate.store(on, std::memory_order_relaxed); }

size_t Bf16PanelBytes(int64_t K, int64_t N) {
  return static_cast<size_t>(Bf16Padded(N, kBf16Rows) / kBf16Rows) * PanelBytes(K);
}

void RepackBf16Panels(ThreadPool* pool, const void* w, DType wtype, int64_t K, int64_t N, void* panels) {
  const size_t row_bytes = static_cast<size_t>(K) * (wtype == DType::kF16 ? 2 : 4);
  auto run = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      uint16_t* out = reinterpret_cast<uint16_t*>(static_cast<uint8_t*>(panels) + p * PanelBytes(K));
      std::memset(out, 0, PanelBytes(K));
      for (int64_t r = 0; r < kBf16Rows && p * kBf16Rows + r < N; ++r) {
        const uint8_t* row = static_cast<const uint8_t*>(w) + static_cast<size_t>(p * kBf16Rows + r) * row_bytes;
        for (int64_t k = 0; k < K; ++k) {
          float v;
          if (wtype == DType::kF16) {
            uint16_t h;
            std::memcpy(&h, row + 2 * k, 2);
            v = F16ToF32(h);
          } else {
            std::memcpy(&v, row + 4 * k, 4);
          }
          // Line k / 2 holds the 16 rows' column pairs: row r's pair at values 2r, 2r + 1.
          out[(k / 2) * 2 * kBf16Rows + 2 * r + (k & 1)] = F32ToBF16(v);
        }
      }
    }
  };
  ParallelFor(pool, Bf16Padded(N, kBf16Rows) / kBf16Rows, run);
}

size_t MatMulBf16ScratchBytes(int64_t T, int64_t K) {
  return kAlign + static_cast<size_t>(Bf16Padded(T, kBf16Rows) * Bf16Padded(K, kBf16Cols)) * 2;
}

namespace internal {

void PackBf16Portable(const float* x, int64_t T, int64_t K, int64_t t0, int64_t t1, uint16_t* xb) {
  const int64_t Kp = Bf16Padded(K, kBf16Cols);
  for (int64_t t = t0; t < t1; ++t) {
    uint16_t* row = xb + t * Kp;
    int64_t k = 0;
    for (; t < T && k < K; ++k) row[k] = F32ToBF16(x[t * K + k]);
    for (; k < Kp; ++k) row[k] = 0;
  }
}

void Bf16ItemsPortable(const Bf16Args& a, int64_t i0, int64_t i1) {
  const int64_t Kp = Bf16Padded(a.K, kBf16Cols);
  const int64_t n_panels = Bf16Padded(a.N, kBf16Rows) / kBf16Rows;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t pp = i / a.block_pairs, bp = i % a.block_pairs;
    for (int64_t p = 2 * pp; p < 2 * pp + 2 && p < n_panels; ++p) {
      const uint16_t* w = reinterpret_cast<const uint16_t*>(a.w + p * PanelBytes(a.K));
      for (int64_t t = 2 * bp * kBf16Rows; t < (2 * bp + 2) * kBf16Rows && t < a.T; ++t) {
        const uint16_t* xt = a.x + t * Kp;
        for (int64_t r = 0; r < kBf16Rows && p * kBf16Rows + r < a.N; ++r) {
          float acc = 0.0f;
          for (int64_t j = 0; j < Kp / 2; ++j) {
            const uint16_t* wj = w + j * 2 * kBf16Rows + 2 * r;
            acc += BF16ToF32(xt[2 * j]) * BF16ToF32(wj[0]);  // exact products: bf16 x bf16 fits f32
            acc += BF16ToF32(xt[2 * j + 1]) * BF16ToF32(wj[1]);
          }
          const int64_t n = p * kBf16Rows + r;
          a.y[t * a.N + n] = acc + (a.bias ? a.bias[n] : 0.0f);
        }
      }
    }
  }
}

}  // namespace internal

void MatMulBf16Panels(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* panels, int64_t N,
                      const float* bias, float* y, void* scratch) {
  if (T <= 0 || N <= 0) return;
  internal::Bf16PackFn pack = internal::PackBf16Portable;
  internal::Bf16ItemsFn items = internal::Bf16ItemsPortable;
#if defined(ACORN_X86_KERNELS)
  if (IsaHasBf16Tiles(ActiveIsa())) {
    pack = internal::PackBf16Avx512;
    items = internal::Bf16ItemsAmx;
  }
#endif
  uint16_t* xb = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(scratch) + kAlign - 1) / kAlign * kAlign);
  const int64_t Tp = Bf16Padded(T, kBf16Rows);
  auto pack_rows = [&](int64_t b0, int64_t b1) { pack(x, T, K, b0 * kBf16Rows, b1 * kBf16Rows, xb); };
  ParallelFor(pool, Tp / kBf16Rows, pack_rows);

  internal::Bf16Args a{};
  a.x = xb;
  a.w = static_cast<const uint8_t*>(panels);
  a.T = T;
  a.K = K;
  a.N = N;
  a.block_pairs = (Tp / kBf16Rows + 1) / 2;
  a.bias = bias;
  a.y = y;
  const int64_t panel_pairs = (Bf16Padded(N, kBf16Rows) / kBf16Rows + 1) / 2;
  const int64_t n_items = panel_pairs * a.block_pairs;
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t slots = threads < n_items ? threads : n_items;
  // One call per thread, on its contiguous run of items (the tile unit is configured once a call).
  auto run = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) items(a, n_items * s / slots, n_items * (s + 1) / slots);
  };
  ParallelFor(pool, slots, run);
}

}  // namespace cpu
}  // namespace acorn

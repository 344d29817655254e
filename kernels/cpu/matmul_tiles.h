// Private to kernels/cpu: the ISA-independent half of the MatMul tile kernels, shared by the x86
// (x86_matmul_tiles.h) and ARM64 (arm_matmul_tiles.h) files. Each per-ISA file is compiled with its
// own target flags and includes this with its own vector policy; everything here has internal
// linkage, so that one ISA's copy can never be picked by the linker for another ISA's path.
//
// A tile computes R output rows x C tokens: each weight block is loaded once and used for C
// tokens, each activation block is loaded once and used for R rows. RunTiles walks a range of
// rows with full tiles and narrower ones on the ragged edges.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"
#include "matmul_internal.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

inline float BiasOf(const MatMulArgs& a, int64_t n) { return a.bias ? a.bias[n] : 0.0f; }

// The tiles prefetch their weight rows this many tiles ahead (into L2): short rows give the
// hardware prefetchers too little to lock on to. Measured on x86: 1 and 8 slower, 4 the same.
constexpr int64_t kPrefetchTiles = 2;

// Prefetch for reading into L2 (locality 2: prefetcht1 on x86, prfm pldl2keep on ARM64). An
// integer address, not a pointer: near the end of the matrix it points past the weights, which a
// prefetch may do (it never faults) but pointer arithmetic may not.
inline void PrefetchL2(uintptr_t address) { __builtin_prefetch(reinterpret_cast<const char*>(address), 0, 2); }

// Where an R x C tile of a quantized MatMul reads: its R weight rows, its C tokens' Q8_0 quants,
// scales and negated group sums, and the weights kPrefetchTiles tiles ahead (an integer, as above).
template <int R, int C>
struct QuantTileInputs {
  const uint8_t* w[R];
  const int8_t* xq[C];
  const float* xd[C];
  const int32_t* xs[C];
  uintptr_t prefetch;

  QuantTileInputs(const MatMulArgs& a, int64_t n, int64_t t) {
    const int64_t nb = a.K / kQBlock;
    for (int r = 0; r < R; ++r) w[r] = a.w + (n + r) * a.w_row_bytes;
    for (int c = 0; c < C; ++c) {
      xq[c] = a.xq + (t + c) * a.K;
      xd[c] = a.xd + (t + c) * nb;
      xs[c] = a.xnsum4 + (t + c) * (a.K / 4);
    }
    prefetch = reinterpret_cast<uintptr_t>(a.w) + (n + kPrefetchTiles * R) * a.w_row_bytes;
  }
};

// Float tiles. FOps provides a float vector V of FOps::kWidth lanes: Zero, Load(const float*),
// Load(const uint16_t*) (fp16 widened), Fma(a, b, c) = a*b+c, HSum. WT is the weight element.
template <class FOps, typename WT, int R, int C>
void TileF(const MatMulArgs& a, int64_t n, int64_t t) {
  using V = typename FOps::V;
  constexpr int W = FOps::kWidth;
  const WT* w[R];
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const WT*>(a.w + (n + r) * a.w_row_bytes);
  const float* x[C];
  for (int c = 0; c < C; ++c) x[c] = a.x + (t + c) * a.K;
  V acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = FOps::Zero();
  // Prefetch the rows kPrefetchTiles tiles ahead, at the pace this tile's are read.
  const uintptr_t prefetch = reinterpret_cast<uintptr_t>(a.w) + (n + kPrefetchTiles * R) * a.w_row_bytes;
  constexpr size_t kRunPerStep = R * W * sizeof(WT);
  int64_t k = 0;
  for (; k + W <= a.K; k += W) {
    for (size_t off = 0; t == 0 && off < kRunPerStep; off += 64) {
      PrefetchL2(prefetch + (k / W) * kRunPerStep + off);
    }
    // Unrolled by request: clang otherwise may keep a loop and the accumulators in memory.
    V xv[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) xv[c] = FOps::Load(x[c] + k);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V wv = FOps::Load(w[r] + k);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) acc[r][c] = FOps::Fma(wv, xv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float s = FOps::HSum(acc[r][c]);
      for (int64_t kk = k; kk < a.K; ++kk) s += x[c][kk] * FOps::Widen(w[r][kk]);
      a.y[(t + c) * a.N + n + r] = s + BiasOf(a, n + r);
    }
  }
}

using TileFn = void (*)(const MatMulArgs&, int64_t, int64_t);

// Runs Full (R x C) over rows [n0, n1) and all tokens, with narrower tiles on the ragged edges.
template <TileFn Full, TileFn RowEdge, TileFn TokEdge, TileFn Corner, int R, int C>
void RunTiles(const MatMulArgs& a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + R <= n1; n += R) {
    int64_t t = 0;
    for (; t + C <= a.T; t += C) Full(a, n, t);
    for (; t < a.T; ++t) RowEdge(a, n, t);
  }
  for (; n < n1; ++n) {
    int64_t t = 0;
    for (; t + C <= a.T; t += C) TokEdge(a, n, t);
    for (; t < a.T; ++t) Corner(a, n, t);
  }
}

template <class FOps, typename WT, int R, int C>
void RowsF(const MatMulArgs& a, int64_t n0, int64_t n1) {
  RunTiles<TileF<FOps, WT, R, C>, TileF<FOps, WT, R, 1>, TileF<FOps, WT, 1, C>, TileF<FOps, WT, 1, 1>, R, C>(
      a, n0, n1);
}

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

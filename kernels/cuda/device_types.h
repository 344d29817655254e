// Types the CUDA kernels and their host-side callers share: how a weight matrix and a block of
// int8-quantized activations look in device memory. Plain structs, passed to kernels by value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"
#include "kernel_table.h"

namespace acorn {
namespace cuda {

// A weight matrix [rows, cols] (or an embedding table) where the device reads it.
//  - kCanonical: the bundle's bytes, rows one after another (GGUF blocks for q8_0/q4_0).
//  - kSplitBlocks (q8_0/q4_0 only): all blocks' quants first (16 bytes per q4_0 block, 32 per
//    q8_0 block, row-major), then at `scales` one fp16 scale per block. Loads are 16-byte aligned
//    and a warp reads consecutive blocks as one contiguous span.
struct WeightView {
  const uint8_t* data = nullptr;
  const uint16_t* scales = nullptr;  // kSplitBlocks only
  int64_t rows = 0;
  int64_t cols = 0;
  DType dtype = DType::kF32;
  WeightLayout layout = WeightLayout::kCanonical;
};

// Bytes of quants per block in the split layout.
constexpr int SplitQuantBytes(DType t) { return t == DType::kQ4_0 ? 16 : 32; }
// Offset of the scales in a split tensor: after the quants, rounded up to 256 bytes.
inline uint64_t SplitScalesOffset(DType t, int64_t rows, int64_t cols) {
  const uint64_t q = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols / kQBlock) * SplitQuantBytes(t);
  return (q + 255) / 256 * 256;
}
inline uint64_t SplitBytes(DType t, int64_t rows, int64_t cols) {
  return SplitScalesOffset(t, rows, cols) + static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols / kQBlock) * 2;
}

// Rows of activations quantized to 32-element blocks, as ref::QuantizeRowQ8_0 does it (scale
// amax/127, quants round(x / scale)), laid out for aligned loads: all quants, then per block the
// scale (fp16-rounded, stored as float) and the sum of its quants (q4_0 weights subtract 8 x it).
struct Q8Rows {
  int8_t* qs = nullptr;   // [rows][K]
  float* d = nullptr;     // [rows][K / 32]
  int32_t* sum = nullptr; // [rows][K / 32]
  int64_t K = 0;
};

// Bytes of a Q8Rows buffer for `rows` rows of K (K a multiple of 32), with aligned sub-arrays.
inline size_t Q8RowsBytes(int64_t rows, int64_t K) {
  const size_t qs = (static_cast<size_t>(rows * K) + 255) / 256 * 256;
  const size_t blocks = static_cast<size_t>(rows * (K / kQBlock));
  return qs + (blocks * 4 + 255) / 256 * 256 + blocks * 4;
}
inline Q8Rows Q8RowsAt(void* base, int64_t rows, int64_t K) {
  Q8Rows q;
  uint8_t* p = static_cast<uint8_t*>(base);
  const size_t qs = (static_cast<size_t>(rows * K) + 255) / 256 * 256;
  const size_t blocks = static_cast<size_t>(rows * (K / kQBlock));
  q.qs = reinterpret_cast<int8_t*>(p);
  q.d = reinterpret_cast<float*>(p + qs);
  q.sum = reinterpret_cast<int32_t*>(p + qs + (blocks * 4 + 255) / 256 * 256);
  q.K = K;
  return q;
}
// The same buffer seen from row `r` on.
inline Q8Rows Q8RowsFrom(const Q8Rows& q, int64_t r) {
  Q8Rows o = q;
  o.qs += r * q.K;
  o.d += r * (q.K / kQBlock);
  o.sum += r * (q.K / kQBlock);
  return o;
}

// Rows up to which matrix products run as matrix x vector kernels (weights read once for all
// rows, activations int8 for quantized weights) and attention as one pass per query row; larger
// steps use the tiled tensor-core and flash-attention kernels.
constexpr int kSmallRows = 8;

}  // namespace cuda
}  // namespace acorn

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
//    Every other block type is read in this layout (quant_groups.cuh).
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

// What the integer kernels read for a product with weights of a dtype: nothing (float weights
// read the float activations), Q8_0 blocks (q8_0, q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL weights; Q4_1
// and Q5_1 also read the blocks' Q8_1 sums), or Q8_K (the K-quants and IQ4_XS), as
// ref::MatMulQ8Activations quantizes them for that dtype.
enum class ActQuant : uint8_t { kNone, kQ8_0, kQ8_K };
constexpr ActQuant ActQuantFor(DType t) {
  switch (t) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kIQ4_NL: return ActQuant::kQ8_0;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS: return ActQuant::kQ8_K;
    default: return ActQuant::kNone;
  }
}

// Rows of activations quantized for the integer kernels, laid out for aligned loads: all quants,
// then per 32-block the scale as a float, the sum of its quants, and the Q8_1 sum.
//  - kQ8_0: as ref::QuantizeRowQ8_0 (scale amax/127 rounded to fp16, quants round(x / scale));
//    s = fp16(sum x unrounded scale), as ref::Q8_1BlockSum.
//  - kQ8_K: as ref::QuantizeRowQ8_K; each 32-block carries its 256-block's scale; s is not written.
struct Q8Rows {
  int8_t* qs = nullptr;   // [rows][K]
  float* d = nullptr;     // [rows][K / 32]
  int32_t* sum = nullptr; // [rows][K / 32]
  float* s = nullptr;     // [rows][K / 32]
  int64_t K = 0;
};

// Bytes of a Q8Rows buffer for `rows` rows of K (K a multiple of 32), with aligned sub-arrays.
inline size_t Q8RowsBytes(int64_t rows, int64_t K) {
  const size_t qs = (static_cast<size_t>(rows * K) + 255) / 256 * 256;
  const size_t blocks = (static_cast<size_t>(rows * (K / kQBlock)) * 4 + 255) / 256 * 256;
  return qs + 3 * blocks;
}
inline Q8Rows Q8RowsAt(void* base, int64_t rows, int64_t K) {
  Q8Rows q;
  uint8_t* p = static_cast<uint8_t*>(base);
  const size_t qs = (static_cast<size_t>(rows * K) + 255) / 256 * 256;
  const size_t blocks = (static_cast<size_t>(rows * (K / kQBlock)) * 4 + 255) / 256 * 256;
  q.qs = reinterpret_cast<int8_t*>(p);
  q.d = reinterpret_cast<float*>(p + qs);
  q.sum = reinterpret_cast<int32_t*>(p + qs + blocks);
  q.s = reinterpret_cast<float*>(p + qs + 2 * blocks);
  q.K = K;
  return q;
}
// The same buffer seen from row `r` on.
inline Q8Rows Q8RowsFrom(const Q8Rows& q, int64_t r) {
  Q8Rows o = q;
  o.qs += r * q.K;
  o.d += r * (q.K / kQBlock);
  o.sum += r * (q.K / kQBlock);
  o.s += r * (q.K / kQBlock);
  return o;
}

// Rows up to which matrix products run as matrix x vector kernels (weights read once for all
// rows, activations int8 for quantized weights) and attention as one pass per query row; larger
// steps use the tiled tensor-core and flash-attention kernels.
constexpr int kSmallRows = 8;

}  // namespace cuda
}  // namespace acorn

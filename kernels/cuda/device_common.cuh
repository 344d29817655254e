// Device-side helpers every CUDA kernel file uses: reductions, fp16/bf16 conversion, and reading
// one element or one quant block of a WeightView in either layout. Only .cu files include this.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "device_types.h"
#include "quant_groups.cuh"

namespace acorn {
namespace cuda {

__device__ __forceinline__ float WarpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ int WarpSumInt(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float WarpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum / max over the whole block (blockDim.x a multiple of 32, at most 1024). `scratch` holds 32
// floats of shared memory; every thread gets the result.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  v = WarpSum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // earlier users of scratch are done
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x >> 5) ? scratch[threadIdx.x] : 0.0f;
  if (warp == 0) v = WarpSum(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}
__device__ __forceinline__ float BlockMax(float v, float* scratch) {
  v = WarpMax(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x >> 5) ? scratch[threadIdx.x] : -INFINITY;
  if (warp == 0) v = WarpMax(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

__device__ __forceinline__ float HalfBits(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float Bf16Bits(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }
// fp16 rounding of a float, as acorn::F32ToF16 (round to nearest even).
__device__ __forceinline__ float RoundToHalf(float v) { return __half2float(__float2half_rn(v)); }

// One warp quantizes one 32-block whose element `lane` is v; as ref::QuantizeRowQ8_0, with the
// block's Q8_1 sum as ref::Q8_1BlockSum.
__device__ __forceinline__ void QuantizeBlock(float v, int lane, int8_t* qs, float* d_out, int32_t* sum_out,
                                              float* s_out) {
  const float amax = WarpMax(fabsf(v));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const int q = static_cast<int>(roundf(v * id));
  qs[lane] = static_cast<int8_t>(q);
  const int sum = WarpSumInt(q);
  if (lane == 0) {
    *d_out = RoundToHalf(d);
    *sum_out = sum;
    *s_out = RoundToHalf(static_cast<float>(sum) * d);
  }
}

// The quant block `b` of row `r` (nb blocks per row) of a q8_0/q4_0 matrix whose bytes start at
// `data` (and, split, whose scales start at `scales`): the scale and the 16 (q4_0) or 32 (q8_0) quant
// bytes as 32-bit words. Canonical blocks sit at 2-byte alignment only, so they are read in halves.
template <DType DT, bool kSplit>
__device__ __forceinline__ void LoadQuantBlock(const uint8_t* data, const uint16_t* scales, int64_t r, int64_t b,
                                               int64_t nb, uint32_t (&q)[DT == DType::kQ4_0 ? 4 : 8], float& d) {
  constexpr int kWords = DT == DType::kQ4_0 ? 4 : 8;
  const int64_t block = r * nb + b;
  if (kSplit) {
    const uint4* p = reinterpret_cast<const uint4*>(data + block * (kWords * 4));
#pragma unroll
    for (int i = 0; i < kWords / 4; ++i) {
      const uint4 v = __ldg(p + i);
      q[4 * i] = v.x;
      q[4 * i + 1] = v.y;
      q[4 * i + 2] = v.z;
      q[4 * i + 3] = v.w;
    }
    d = HalfBits(__ldg(scales + block));
  } else {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(data + block * (2 + kWords * 4));
    d = HalfBits(__ldg(p));
#pragma unroll
    for (int i = 0; i < kWords; ++i) {
      q[i] = static_cast<uint32_t>(__ldg(p + 1 + 2 * i)) | (static_cast<uint32_t>(__ldg(p + 2 + 2 * i)) << 16);
    }
  }
}

// Element c of a row of a group-read block type (the whole 32-element group is decoded).
template <DType DT>
__device__ __forceinline__ float LoadGroupElement(const WeightView& w, int64_t r, int64_t c) {
  QuantGroupRegs g;
  LoadGroup<DT>(w.data + r * GroupRowBytes<DT>(w.cols), c / kQBlock, g);
  return GroupElement(g, static_cast<int>(c % kQBlock));
}

// Element (r, c) of a weight matrix, dequantized as ref::DequantizeRow does.
__device__ __forceinline__ float LoadWeight(const WeightView& w, int64_t r, int64_t c) {
  switch (w.dtype) {
    case DType::kQ4_1: return LoadGroupElement<DType::kQ4_1>(w, r, c);
    case DType::kQ5_0: return LoadGroupElement<DType::kQ5_0>(w, r, c);
    case DType::kQ5_1: return LoadGroupElement<DType::kQ5_1>(w, r, c);
    case DType::kQ2_K: return LoadGroupElement<DType::kQ2_K>(w, r, c);
    case DType::kQ3_K: return LoadGroupElement<DType::kQ3_K>(w, r, c);
    case DType::kQ4_K: return LoadGroupElement<DType::kQ4_K>(w, r, c);
    case DType::kQ5_K: return LoadGroupElement<DType::kQ5_K>(w, r, c);
    case DType::kQ6_K: return LoadGroupElement<DType::kQ6_K>(w, r, c);
    case DType::kIQ4_NL: return LoadGroupElement<DType::kIQ4_NL>(w, r, c);
    case DType::kIQ4_XS: return LoadGroupElement<DType::kIQ4_XS>(w, r, c);
    case DType::kF32:
      return __ldg(reinterpret_cast<const float*>(w.data) + r * w.cols + c);
    case DType::kF16:
      return HalfBits(__ldg(reinterpret_cast<const uint16_t*>(w.data) + r * w.cols + c));
    case DType::kBF16:
      return Bf16Bits(__ldg(reinterpret_cast<const uint16_t*>(w.data) + r * w.cols + c));
    case DType::kQ8_0: {
      const int64_t block = r * (w.cols / kQBlock) + c / kQBlock;
      const int j = static_cast<int>(c % kQBlock);
      if (w.layout == WeightLayout::kSplitBlocks) {
        return HalfBits(__ldg(w.scales + block)) * static_cast<float>(static_cast<int8_t>(__ldg(w.data + block * 32 + j)));
      }
      const uint8_t* p = w.data + block * 34;
      const uint16_t s = static_cast<uint16_t>(__ldg(p)) | static_cast<uint16_t>(__ldg(p + 1) << 8);
      return HalfBits(s) * static_cast<float>(static_cast<int8_t>(__ldg(p + 2 + j)));
    }
    case DType::kQ4_0: {
      const int64_t block = r * (w.cols / kQBlock) + c / kQBlock;
      const int j = static_cast<int>(c % kQBlock);
      uint8_t byte;
      float d;
      if (w.layout == WeightLayout::kSplitBlocks) {
        byte = __ldg(w.data + block * 16 + (j & 15));
        d = HalfBits(__ldg(w.scales + block));
      } else {
        const uint8_t* p = w.data + block * 18;
        d = HalfBits(static_cast<uint16_t>(__ldg(p)) | static_cast<uint16_t>(__ldg(p + 1) << 8));
        byte = __ldg(p + 2 + (j & 15));
      }
      const int nib = j < 16 ? (byte & 0x0f) : (byte >> 4);
      return d * static_cast<float>(nib - 8);
    }
    default:
      return 0.0f;
  }
}

}  // namespace cuda
}  // namespace acorn

// Matrix x vector products for steps of up to kSmallRows rows (decode): memory-bound, so each
// weight is read once for all rows and the kernels aim at streaming the weights at full bandwidth.
// A block of 4 warps owns a few output rows and walks their K dimension with all 128 threads
// (consecutive blocks per thread, so the loads form one contiguous span per row): a row of 4096
// q4_0 weights is then one 16-byte load per thread, all rows' loads in flight at once, one trip to
// memory. Partial sums are reduced across lanes, then across warps in shared memory.
//  - q8_0/q4_0 weights: integer dot products (dp4a) against int8 activations, one float scale
//    multiply per 32-block, as ref::MatMulQ8Activations defines the result.
//  - the other block types (Q4_1, Q5_x, the K-quants, IQ4): the same per 32-element group, with
//    the activations quantized as llama.cpp does for them (Q8_0/Q8_1 or Q8_K, ActQuantFor).
//  - f32/f16/bf16 weights: fp32 multiply-adds against the float activations.
// Up to three matrices reading the same activations run in one launch (q/k/v, gate/up), and the
// epilogue adds the bias and a residual, or applies SwiGLU to a gate/up pair.
#include "device_common.cuh"
#include "launchers.h"

namespace acorn {
namespace cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
// Output rows per block: four for one-token steps, two when each weight serves up to eight rows.
constexpr int RowsPerBlock(int tmax) { return tmax == 1 ? 4 : 2; }

struct GemvParams {
  const uint8_t* data[3];
  const uint16_t* scales[3];
  const float* bias[3];
  const float* residual[3];
  float* out[3];
  int64_t row_start[4];  // prefix sums of the matrices' rows
  int n;
  const float* x;
  Q8Rows xq;
  int64_t T;
  int64_t K;
};

// Parameter arrays are selected with constant indices only: a run-time index would copy them to
// local memory.
template <class V>
__device__ __forceinline__ V Sel(int m, V a, V b, V c) {
  return m == 0 ? a : (m == 1 ? b : c);
}
__device__ __forceinline__ int MatrixOf(const GemvParams& p, int64_t r) {
  return (p.n > 1 && r >= p.row_start[1]) ? ((p.n > 2 && r >= p.row_start[2]) ? 2 : 1) : 0;
}

// Which matrix and row weight slot j of the block starting at global row r0 reads.
template <bool kSwiGlu>
__device__ __forceinline__ void SlotRow(const GemvParams& p, int64_t r0, int j, int64_t total, int* m, int64_t* row) {
  const int64_t r = r0 + (kSwiGlu ? j / 2 : j);
  if (r >= total) {  // past the end: read row 0 of matrix 0, never stored
    *m = 0;
    *row = 0;
    return;
  }
  if (kSwiGlu) {
    *m = j & 1;
    *row = r;
  } else {
    *m = MatrixOf(p, r);
    *row = r - Sel(*m, p.row_start[0], p.row_start[1], p.row_start[2]);
  }
}

// Sums the block's partial products (lanes, then warps through shared memory) and writes each
// (row, token) output from its own thread: bias, then SwiGLU or the residual.
template <int R, int NW, int TMAX, bool kSwiGlu>
__device__ __forceinline__ void Epilogue(const GemvParams& p, float (&acc)[NW][TMAX], int64_t r0, int64_t total) {
  __shared__ float red[kWarps][NW][TMAX];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int j = 0; j < NW; ++j) {
#pragma unroll
    for (int t = 0; t < TMAX; ++t) {
      const float v = WarpSum(acc[j][t]);
      if (lane == 0) red[warp][j][t] = v;
    }
  }
  __syncthreads();
  const int jr = threadIdx.x / TMAX, t = threadIdx.x % TMAX;
  if (jr >= R || t >= p.T) return;
  const int64_t r = r0 + jr;
  if (r >= total) return;
  auto sum = [&](int j) {
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) v += red[w][j][t];
    return v;
  };
  if (kSwiGlu) {
    float g = sum(2 * jr), u = sum(2 * jr + 1);
    if (p.bias[0]) g += p.bias[0][r];
    if (p.bias[1]) u += p.bias[1][r];
    float y = g / (1.0f + expf(-g)) * u;
    if (p.residual[0]) y += p.residual[0][t * total + r];
    p.out[0][t * total + r] = y;
  } else {
    const int m = MatrixOf(p, r);
    const int64_t begin = Sel(m, p.row_start[0], p.row_start[1], p.row_start[2]);
    const int64_t n = Sel(m, p.row_start[1], p.row_start[2], p.row_start[3]) - begin;
    const int64_t lr = r - begin;
    const float* bias = Sel(m, p.bias[0], p.bias[1], p.bias[2]);
    const float* res = Sel(m, p.residual[0], p.residual[1], p.residual[2]);
    float* out = Sel(m, p.out[0], p.out[1], p.out[2]);
    float y = sum(jr);
    if (bias) y += bias[lr];
    if (res) y += res[t * n + lr];
    out[t * n + lr] = y;
  }
}

template <DType DT, bool kSplit, int TMAX, bool kSwiGlu>
__global__ void __launch_bounds__(kThreads) GemvQuantKernel(const GemvParams p) {
  constexpr int kWords = DT == DType::kQ4_0 ? 4 : 8;
  constexpr int R = RowsPerBlock(TMAX);
  constexpr int NW = kSwiGlu ? 2 * R : R;
  const int64_t total = kSwiGlu ? p.row_start[1] : p.row_start[p.n];
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * R;
  const int64_t nb = p.K / kQBlock;
  const uint8_t* wdata[NW];
  const uint16_t* wscales[NW];
  int64_t wrow[NW];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
    int m;
    SlotRow<kSwiGlu>(p, r0, j, total, &m, &wrow[j]);
    wdata[j] = Sel(m, p.data[0], p.data[1], p.data[2]);
    wscales[j] = Sel(m, p.scales[0], p.scales[1], p.scales[2]);
  }
  float acc[NW][TMAX];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
#pragma unroll
    for (int t = 0; t < TMAX; ++t) acc[j][t] = 0.0f;
  }
  // Loads of several iterations in flight where registers allow: a gate/up pair or q8_0 rows hold
  // twice the quants, and unrolling those further costs more in occupancy than it gains.
  constexpr int kUnroll = NW * kWords > 16 ? 2 : 4;
#pragma unroll kUnroll
  for (int64_t b = threadIdx.x; b < nb; b += kThreads) {
    uint32_t q[NW][kWords];
    float d[NW];
#pragma unroll
    for (int j = 0; j < NW; ++j) LoadQuantBlock<DT, kSplit>(wdata[j], wscales[j], wrow[j], b, nb, q[j], d[j]);
#pragma unroll
    for (int t = 0; t < TMAX; ++t) {
      if (t >= p.T) break;
      const int4* xp = reinterpret_cast<const int4*>(p.xq.qs + t * p.K + b * kQBlock);
      const int4 x0 = __ldg(xp), x1 = __ldg(xp + 1);
      const int xw[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
      const float xd = __ldg(p.xq.d + t * nb + b);
      const int xs = __ldg(p.xq.sum + t * nb + b);
#pragma unroll
      for (int j = 0; j < NW; ++j) {
        int s = 0;
        if (DT == DType::kQ4_0) {
          // Byte i holds element i (low nibble) and i + 16 (high nibble), values 0..15; the
          // offset of 8 comes off as 8 x the activations' sum.
#pragma unroll
          for (int k = 0; k < 4; ++k) {
            s = __dp4a(static_cast<int>(q[j][k] & 0x0f0f0f0fu), xw[k], s);
            s = __dp4a(static_cast<int>((q[j][k] >> 4) & 0x0f0f0f0fu), xw[k + 4], s);
          }
          s -= 8 * xs;
        } else {
#pragma unroll
          for (int k = 0; k < 8; ++k) s = __dp4a(static_cast<int>(q[j][k]), xw[k], s);
        }
        acc[j][t] += static_cast<float>(s) * (d[j] * xd);
      }
    }
  }
  Epilogue<R, NW, TMAX, kSwiGlu>(p, acc, r0, total);
}

// Every other block type, one 32-element group per thread and step (quant_groups.cuh): per half
// of the group the integer product of its values with the activations, times the half's scale;
// the minimum times the activations' sum over the half (the K-quants with one) or times the
// block's Q8_1 sum (Q4_1, Q5_1).
template <DType DT, int TMAX, bool kSwiGlu>
__global__ void __launch_bounds__(kThreads) GemvGroupKernel(const GemvParams p) {
  constexpr int R = RowsPerBlock(TMAX);
  constexpr int NW = kSwiGlu ? 2 * R : R;
  const int64_t total = kSwiGlu ? p.row_start[1] : p.row_start[p.n];
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * R;
  const int64_t ng = p.K / kQBlock;
  const int64_t row_bytes = GroupRowBytes<DT>(p.K);
  const uint8_t* wrow[NW];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
    int m;
    int64_t row;
    SlotRow<kSwiGlu>(p, r0, j, total, &m, &row);
    wrow[j] = Sel(m, p.data[0], p.data[1], p.data[2]) + row * row_bytes;
  }
  float acc[NW][TMAX];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
#pragma unroll
    for (int t = 0; t < TMAX; ++t) acc[j][t] = 0.0f;
  }
#pragma unroll 2
  for (int64_t g = threadIdx.x; g < ng; g += kThreads) {
    QuantGroupRegs w[NW];
#pragma unroll
    for (int j = 0; j < NW; ++j) LoadGroup<DT>(wrow[j], g, w[j]);
#pragma unroll
    for (int t = 0; t < TMAX; ++t) {
      if (t >= p.T) break;
      const int4* xp = reinterpret_cast<const int4*>(p.xq.qs + t * p.K + g * kQBlock);
      const int4 x0 = __ldg(xp), x1 = __ldg(xp + 1);
      const int xw[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
      const float xd = __ldg(p.xq.d + t * ng + g);
      int xs0 = 0, xs1 = 0;
      if (kGroupMinTimesSum<DT>) {
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          xs0 = __dp4a(xw[k], 0x01010101, xs0);
          xs1 = __dp4a(xw[k + 4], 0x01010101, xs1);
        }
      }
      const float q8_1 = kGroupMinTimesQ8_1<DT> ? __ldg(p.xq.s + t * ng + g) : 0.0f;
#pragma unroll
      for (int j = 0; j < NW; ++j) {
        int s0 = 0, s1 = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          s0 = __dp4a(static_cast<int>(w[j].v[k]), xw[k], s0);
          s1 = __dp4a(static_cast<int>(w[j].v[k + 4]), xw[k + 4], s1);
        }
        float y = (w[j].scale[0] * static_cast<float>(s0) + w[j].scale[1] * static_cast<float>(s1)) * xd;
        if (kGroupMinTimesSum<DT>) y -= (w[j].min[0] * static_cast<float>(xs0) + w[j].min[1] * static_cast<float>(xs1)) * xd;
        if (kGroupMinTimesQ8_1<DT>) y -= w[j].min[0] * q8_1;
        acc[j][t] += y;
      }
    }
  }
  Epilogue<R, NW, TMAX, kSwiGlu>(p, acc, r0, total);
}

template <DType DT>
__device__ __forceinline__ void Load8(const uint8_t* row, int64_t k, float (&w)[8]) {
  if (DT == DType::kF32) {
    const float4* p = reinterpret_cast<const float4*>(row) + k / 4;
    const float4 a = __ldg(p), b = __ldg(p + 1);
    w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
  } else {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(row) + k / 8);
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if (DT == DType::kF16) {
        w[2 * i] = HalfBits(static_cast<uint16_t>(u[i] & 0xffffu));
        w[2 * i + 1] = HalfBits(static_cast<uint16_t>(u[i] >> 16));
      } else {
        w[2 * i] = __uint_as_float(u[i] << 16);
        w[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
      }
    }
  }
}

template <DType DT>
__device__ __forceinline__ float Load1(const uint8_t* row, int64_t k) {
  if (DT == DType::kF32) return __ldg(reinterpret_cast<const float*>(row) + k);
  const uint16_t h = __ldg(reinterpret_cast<const uint16_t*>(row) + k);
  return DT == DType::kF16 ? HalfBits(h) : Bf16Bits(h);
}

template <DType DT, int TMAX, bool kSwiGlu>
__global__ void __launch_bounds__(kThreads) GemvFloatKernel(const GemvParams p) {
  constexpr int R = RowsPerBlock(TMAX);
  constexpr int NW = kSwiGlu ? 2 * R : R;
  constexpr int kElem = DT == DType::kF32 ? 4 : 2;
  const int64_t total = kSwiGlu ? p.row_start[1] : p.row_start[p.n];
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * R;
  const uint8_t* wrow[NW];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
    int m;
    int64_t row;
    SlotRow<kSwiGlu>(p, r0, j, total, &m, &row);
    wrow[j] = Sel(m, p.data[0], p.data[1], p.data[2]) + row * p.K * kElem;
  }
  float acc[NW][TMAX];
#pragma unroll
  for (int j = 0; j < NW; ++j) {
#pragma unroll
    for (int t = 0; t < TMAX; ++t) acc[j][t] = 0.0f;
  }
  if (p.K % 8 == 0) {
    for (int64_t c = threadIdx.x; c < p.K / 8; c += kThreads) {
      float w[NW][8];
#pragma unroll
      for (int j = 0; j < NW; ++j) Load8<DT>(wrow[j], c * 8, w[j]);
#pragma unroll
      for (int t = 0; t < TMAX; ++t) {
        if (t >= p.T) break;
        const float4* xp = reinterpret_cast<const float4*>(p.x + t * p.K + c * 8);
        const float4 a = __ldg(xp), b = __ldg(xp + 1);
        const float xv[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int j = 0; j < NW; ++j) {
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[j][t] = fmaf(w[j][e], xv[e], acc[j][t]);
        }
      }
    }
  } else {
    for (int64_t k = threadIdx.x; k < p.K; k += kThreads) {
      float w[NW];
#pragma unroll
      for (int j = 0; j < NW; ++j) w[j] = Load1<DT>(wrow[j], k);
#pragma unroll
      for (int t = 0; t < TMAX; ++t) {
        if (t >= p.T) break;
        const float xv = __ldg(p.x + t * p.K + k);
#pragma unroll
        for (int j = 0; j < NW; ++j) acc[j][t] = fmaf(w[j], xv, acc[j][t]);
      }
    }
  }
  Epilogue<R, NW, TMAX, kSwiGlu>(p, acc, r0, total);
}

template <int TMAX, bool kSwiGlu>
Status Dispatch(cudaStream_t stream, const GemvParams& p, DType dtype, WeightLayout layout, int64_t total) {
  const bool split = layout == WeightLayout::kSplitBlocks;
  const unsigned blocks = static_cast<unsigned>((total + RowsPerBlock(TMAX) - 1) / RowsPerBlock(TMAX));
  switch (dtype) {
    case DType::kQ4_0:
      if (split) {
        GemvQuantKernel<DType::kQ4_0, true, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p);
      } else {
        GemvQuantKernel<DType::kQ4_0, false, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p);
      }
      break;
    case DType::kQ8_0:
      if (split) {
        GemvQuantKernel<DType::kQ8_0, true, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p);
      } else {
        GemvQuantKernel<DType::kQ8_0, false, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p);
      }
      break;
#define ACORN_GEMV_GROUP(T) \
  case DType::T: GemvGroupKernel<DType::T, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p); break;
    ACORN_GEMV_GROUP(kQ4_1)
    ACORN_GEMV_GROUP(kQ5_0)
    ACORN_GEMV_GROUP(kQ5_1)
    ACORN_GEMV_GROUP(kQ2_K)
    ACORN_GEMV_GROUP(kQ3_K)
    ACORN_GEMV_GROUP(kQ4_K)
    ACORN_GEMV_GROUP(kQ5_K)
    ACORN_GEMV_GROUP(kQ6_K)
    ACORN_GEMV_GROUP(kIQ4_NL)
    ACORN_GEMV_GROUP(kIQ4_XS)
#undef ACORN_GEMV_GROUP
    case DType::kF32: GemvFloatKernel<DType::kF32, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p); break;
    case DType::kF16: GemvFloatKernel<DType::kF16, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p); break;
    case DType::kBF16: GemvFloatKernel<DType::kBF16, TMAX, kSwiGlu><<<blocks, kThreads, 0, stream>>>(p); break;
    default:
      return ACORN_ERROR(kUnsupported, "CUDA matrix x vector: weights of dtype %s", DTypeName(dtype));
  }
  return LaunchStatus("matrix x vector");
}

}  // namespace

Status LaunchGemv(cudaStream_t stream, const LinearArgs& a) {
  if (a.n < 1 || a.n > 3 || a.T < 1 || a.T > kSmallRows || (a.swiglu && a.n != 2)) {
    return ACORN_ERROR(kInternal, "CUDA matrix x vector: bad arguments (n %d, T %lld)", a.n, static_cast<long long>(a.T));
  }
  GemvParams p = {};
  p.n = a.n;
  p.x = a.x;
  p.xq = a.xq;
  p.T = a.T;
  p.K = a.K;
  p.row_start[0] = 0;
  for (int m = 0; m < 3; ++m) {
    const bool used = m < a.n;
    p.data[m] = used ? a.w[m].data : a.w[0].data;
    p.scales[m] = used ? a.w[m].scales : a.w[0].scales;
    p.bias[m] = used ? a.o[m].bias : nullptr;
    p.residual[m] = used ? a.o[m].residual : nullptr;
    p.out[m] = used ? a.o[m].out : nullptr;
    p.row_start[m + 1] = p.row_start[m] + (used ? a.w[m].rows : 0);
    if (used && (a.w[m].dtype != a.w[0].dtype || a.w[m].layout != a.w[0].layout || a.w[m].cols != a.K)) {
      return ACORN_ERROR(kInternal, "CUDA matrix x vector: grouped matrices differ in dtype, layout or K");
    }
  }
  const DType dtype = a.w[0].dtype;
  if (ActQuantFor(dtype) != ActQuant::kNone && (a.K % kQBlock != 0 || a.xq.qs == nullptr)) {
    return ACORN_ERROR(kInternal, "CUDA matrix x vector: quantized weights need int8 activations and K %% 32 == 0");
  }
  if (GroupType(dtype) && a.w[0].layout != WeightLayout::kCanonical) {
    return ACORN_ERROR(kInternal, "CUDA matrix x vector: %s weights are read in the canonical layout only",
                       DTypeName(dtype));
  }
  if (a.swiglu && a.w[1].rows != a.w[0].rows) {
    return ACORN_ERROR(kInternal, "CUDA matrix x vector: SwiGLU needs gate and up of equal rows");
  }
  const int64_t total = a.swiglu ? a.w[0].rows : p.row_start[a.n];
  if (total == 0) return Status::Ok();
  if (a.T == 1) {
    return a.swiglu ? Dispatch<1, true>(stream, p, dtype, a.w[0].layout, total)
                    : Dispatch<1, false>(stream, p, dtype, a.w[0].layout, total);
  }
  return a.swiglu ? Dispatch<kSmallRows, true>(stream, p, dtype, a.w[0].layout, total)
                  : Dispatch<kSmallRows, false>(stream, p, dtype, a.w[0].layout, total);
}

}  // namespace cuda
}  // namespace acorn

// Matrix products for steps of many rows (prefill, encoders): y[T, N] = x[T, K] W[N, K]^T.
//  - The tensor-core kernel (f16 and every block type): tiles of 64 or 128 rows x 128 columns x 64 of
//    K; activations are rounded to fp16 and weights dequantized to fp16 on their way into shared
//    memory, products accumulate in fp32 (mma.sync m16n8k16). Registers stage the next tile while
//    the tensor cores work on the current one (two shared-memory buffers, one barrier per tile).
//  - The SIMT kernel (any dtype, any shape): fp32 throughout, the fallback and the path of f32 and
//    bf16 weights, whose users asked for float precision.
#include "device_common.cuh"
#include "launchers.h"

namespace acorn {
namespace cuda {

namespace {

// ---- SIMT --------------------------------------------------------------------------------------------

constexpr int kSimtTile = 64;
constexpr int kSimtK = 16;

__global__ void __launch_bounds__(256) GemmSimtKernel(const float* __restrict__ x, int64_t T, int64_t K, WeightView w,
                                                      LinearOut o) {
  __shared__ float As[kSimtK][kSimtTile + 4];
  __shared__ float Bs[kSimtK][kSimtTile + 4];
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kSimtTile, n0 = static_cast<int64_t>(blockIdx.x) * kSimtTile;
  const int64_t N = w.rows;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kSimtK) {
    for (int i = tid; i < kSimtTile * kSimtK; i += 256) {
      const int r = i / kSimtK, kk = i % kSimtK;
      const int64_t gk = k0 + kk;
      As[kk][r] = (m0 + r < T && gk < K) ? x[(m0 + r) * K + gk] : 0.0f;
      Bs[kk][r] = (n0 + r < N && gk < K) ? LoadWeight(w, n0 + r, gk) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kSimtK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = As[kk][ty * 4 + i];
        b[i] = Bs[kk][tx * 4 + i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t r = m0 + ty * 4 + i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t c = n0 + tx * 4 + j;
      if (r >= T || c >= N) continue;
      float y = acc[i][j];
      if (o.bias) y += o.bias[c];
      if (o.residual) y += o.residual[r * N + c];
      o.out[r * N + c] = y;
    }
  }
}

// ---- Tensor cores ---------------------------------------------------------------------------------------

constexpr int kTcBN = 128;
constexpr int kTcBK = 64;
constexpr int kTcStride = kTcBK + 8;  // halves per shared-memory row: 144 bytes, so that the eight
                                      // rows one ldmatrix reads fall in distinct banks

constexpr size_t TcSmemBytes(int bm) { return static_cast<size_t>(2 * bm + 2 * kTcBN) * kTcStride * sizeof(__half); }

__device__ __forceinline__ void Ldmatrix4(uint32_t (&r)[4], const __half* p) {
#if __CUDA_ARCH__ >= 750
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#else
  (void)p;
  r[0] = r[1] = r[2] = r[3] = 0;
#endif
}

__device__ __forceinline__ void Mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  (void)c, (void)a, (void)b0, (void)b1;
#endif
}

__device__ __forceinline__ uint32_t PackHalves(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

// The weight tile's registers between the global load and the shared-memory store.
template <DType DT>
struct BStage {
  // f16: four 16-byte pieces of rows; q8_0/q4_0: one block (quants as words, and its scale);
  // the other block types: one 32-element group.
  uint4 f16[DT == DType::kF16 ? 4 : 1];
  uint32_t q[DT == DType::kQ4_0 ? 4 : 8];
  float d;
  QuantGroupRegs g;
};

template <int BM, DType DT, bool kSplit>
__global__ void __launch_bounds__(256) GemmTcKernel(const float* __restrict__ x, int64_t T, int64_t K, WeightView w,
                                                    LinearOut o) {
  extern __shared__ __align__(16) uint8_t smem_raw[];
  __half* As = reinterpret_cast<__half*>(smem_raw);  // [2][BM][kTcStride]
  __half* Bs = As + 2 * BM * kTcStride;              // [2][kTcBN][kTcStride]
  constexpr int MT = BM / 32;                        // m16 tiles per warp: 2 warps share the rows
  constexpr int NT = 4;                              // n8 tiles per warp: 4 warps share 128 columns
  constexpr int kAVec = BM * kTcBK / 4 / 256;        // float4 of activations each thread stages
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / 4, wn = warp % 4;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * BM, n0 = static_cast<int64_t>(blockIdx.x) * kTcBN;
  const int64_t N = w.rows, nb = K / kQBlock;
  const int64_t n_tiles = (K + kTcBK - 1) / kTcBK;

  float4 ra[kAVec];
  BStage<DT> rb;
  auto load = [&](int64_t kt) {
    const int64_t k0 = kt * kTcBK;
#pragma unroll
    for (int v = 0; v < kAVec; ++v) {
      const int i = tid + v * 256, r = i / 16, c4 = i % 16;
      const int64_t gm = m0 + r, gk = k0 + c4 * 4;
      ra[v] = (gm < T && gk < K) ? __ldg(reinterpret_cast<const float4*>(x + gm * K + gk)) : make_float4(0, 0, 0, 0);
    }
    if (DT == DType::kF16) {
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        const int i = tid + v * 256, row = i / 8, c8 = i % 8;
        const int64_t gn = n0 + row, gk = k0 + c8 * 8;
        rb.f16[v] = (gn < N && gk < K) ? __ldg(reinterpret_cast<const uint4*>(w.data + (gn * K + gk) * 2))
                                       : make_uint4(0, 0, 0, 0);
      }
    } else if constexpr (GroupType(DT)) {
      const int row = tid / 2, blk = tid % 2;
      const int64_t gn = n0 + row, b = kt * 2 + blk;
      if (gn < N && b < nb) {
        LoadGroup<DT>(w.data + gn * GroupRowBytes<DT>(K), b, rb.g);
      } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) rb.g.v[i] = 0;
        rb.g.scale[0] = rb.g.scale[1] = rb.g.min[0] = rb.g.min[1] = 0.0f;
      }
    } else {
      const int row = tid / 2, blk = tid % 2;
      const int64_t gn = n0 + row, b = kt * 2 + blk;
      if (gn < N && b < nb) {
        LoadQuantBlock<DT, kSplit>(w.data, w.scales, gn, b, nb, rb.q, rb.d);
      } else {
#pragma unroll
        for (int i = 0; i < (DT == DType::kQ4_0 ? 4 : 8); ++i) rb.q[i] = 0;
        rb.d = 0.0f;
      }
    }
  };
  auto store = [&](int buf) {
    __half* a = As + buf * BM * kTcStride;
    __half* b = Bs + buf * kTcBN * kTcStride;
#pragma unroll
    for (int v = 0; v < kAVec; ++v) {
      const int i = tid + v * 256, r = i / 16, c4 = i % 16;
      *reinterpret_cast<uint2*>(a + r * kTcStride + c4 * 4) =
          make_uint2(PackHalves(ra[v].x, ra[v].y), PackHalves(ra[v].z, ra[v].w));
    }
    if (DT == DType::kF16) {
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        const int i = tid + v * 256, row = i / 8, c8 = i % 8;
        *reinterpret_cast<uint4*>(b + row * kTcStride + c8 * 8) = rb.f16[v];
      }
    } else {
      const int row = tid / 2, blk = tid % 2;
      float e[32];
      if constexpr (GroupType(DT)) {
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          const float v = static_cast<float>(static_cast<int8_t>((rb.g.v[j / 4] >> (8 * (j % 4))) & 0xffu));
          e[j] = rb.g.scale[j / 16] * v - rb.g.min[j / 16];
        }
      } else if (DT == DType::kQ4_0) {
        // Byte j: element j in the low nibble, element j + 16 in the high one.
#pragma unroll
        for (int j = 0; j < 16; ++j) {
          const uint32_t byte = (rb.q[j / 4] >> (8 * (j % 4))) & 0xffu;
          e[j] = rb.d * static_cast<float>(static_cast<int>(byte & 15u) - 8);
          e[j + 16] = rb.d * static_cast<float>(static_cast<int>(byte >> 4) - 8);
        }
      } else {
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          e[j] = rb.d * static_cast<float>(static_cast<int8_t>((rb.q[j / 4] >> (8 * (j % 4))) & 0xffu));
        }
      }
      uint4* dst = reinterpret_cast<uint4*>(b + row * kTcStride + blk * 32);
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        dst[v] = make_uint4(PackHalves(e[8 * v], e[8 * v + 1]), PackHalves(e[8 * v + 2], e[8 * v + 3]),
                            PackHalves(e[8 * v + 4], e[8 * v + 5]), PackHalves(e[8 * v + 6], e[8 * v + 7]));
      }
    }
  };

  float acc[MT][NT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.0f;
  }

  load(0);
  store(0);
  __syncthreads();
  for (int64_t kt = 0; kt < n_tiles; ++kt) {
    const int cur = static_cast<int>(kt & 1);
    if (kt + 1 < n_tiles) load(kt + 1);
    const __half* a = As + cur * BM * kTcStride;
    const __half* b = Bs + cur * kTcBN * kTcStride;
#pragma unroll
    for (int kk = 0; kk < kTcBK / 16; ++kk) {
      uint32_t af[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        Ldmatrix4(af[mt], a + (wm * (BM / 2) + mt * 16 + (lane % 16)) * kTcStride + kk * 16 + (lane / 16) * 8);
      }
      uint32_t bf[NT][2];
#pragma unroll
      for (int p = 0; p < NT / 2; ++p) {
        uint32_t r[4];
        Ldmatrix4(r, b + (wn * 32 + p * 16 + (lane % 8) + (lane / 16) * 8) * kTcStride + kk * 16 + ((lane / 8) % 2) * 8);
        bf[2 * p][0] = r[0];
        bf[2 * p][1] = r[1];
        bf[2 * p + 1][0] = r[2];
        bf[2 * p + 1][1] = r[3];
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) Mma16816(acc[mt][nt], af[mt], bf[nt][0], bf[nt][1]);
      }
    }
    if (kt + 1 < n_tiles) store(cur ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int64_t r = m0 + wm * (BM / 2) + mt * 16 + (lane >> 2);
      const int64_t c = n0 + wn * 32 + nt * 8 + (lane & 3) * 2;
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t rr = r + (e >= 2 ? 8 : 0), cc = c + (e & 1);
        if (rr >= T || cc >= N) continue;
        float y = acc[mt][nt][e];
        if (o.bias) y += o.bias[cc];
        if (o.residual) y += o.residual[rr * N + cc];
        o.out[rr * N + cc] = y;
      }
    }
  }
}

using TcKernel = void (*)(const float*, int64_t, int64_t, WeightView, LinearOut);

template <int BM>
TcKernel PickTc(DType dtype, WeightLayout layout) {
  const bool split = layout == WeightLayout::kSplitBlocks;
  switch (dtype) {
    case DType::kF16: return GemmTcKernel<BM, DType::kF16, false>;
    case DType::kQ8_0: return split ? GemmTcKernel<BM, DType::kQ8_0, true> : GemmTcKernel<BM, DType::kQ8_0, false>;
    case DType::kQ4_0: return split ? GemmTcKernel<BM, DType::kQ4_0, true> : GemmTcKernel<BM, DType::kQ4_0, false>;
    case DType::kQ4_1: return GemmTcKernel<BM, DType::kQ4_1, false>;
    case DType::kQ5_0: return GemmTcKernel<BM, DType::kQ5_0, false>;
    case DType::kQ5_1: return GemmTcKernel<BM, DType::kQ5_1, false>;
    case DType::kQ2_K: return GemmTcKernel<BM, DType::kQ2_K, false>;
    case DType::kQ3_K: return GemmTcKernel<BM, DType::kQ3_K, false>;
    case DType::kQ4_K: return GemmTcKernel<BM, DType::kQ4_K, false>;
    case DType::kQ5_K: return GemmTcKernel<BM, DType::kQ5_K, false>;
    case DType::kQ6_K: return GemmTcKernel<BM, DType::kQ6_K, false>;
    case DType::kIQ4_NL: return GemmTcKernel<BM, DType::kIQ4_NL, false>;
    case DType::kIQ4_XS: return GemmTcKernel<BM, DType::kIQ4_XS, false>;
    default: return nullptr;
  }
}

struct DeviceFacts {
  int sms = 0;
  int major = 0;
};

const DeviceFacts& Facts() {
  static const DeviceFacts facts = [] {
    DeviceFacts f;
    int dev = 0;
    if (cudaGetDevice(&dev) == cudaSuccess) {
      cudaDeviceGetAttribute(&f.sms, cudaDevAttrMultiProcessorCount, dev);
      cudaDeviceGetAttribute(&f.major, cudaDevAttrComputeCapabilityMajor, dev);
    }
    cudaGetLastError();  // a failed query is not this caller's error
    return f;
  }();
  return facts;
}

}  // namespace

bool TensorCoreGemmSupports(const WeightView& w, int64_t K) {
  if (Facts().major < 8) return false;
  switch (w.dtype) {
    case DType::kF16: return K % 8 == 0;
    case DType::kQ8_0:
    case DType::kQ4_0: return K % kQBlock == 0;
    default: return GroupType(w.dtype) && w.layout == WeightLayout::kCanonical && K % kQBlock == 0;
  }
}

Status LaunchGemmSimt(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w,
                      const LinearOut& o) {
  if (T == 0 || w.rows == 0) return Status::Ok();
  const dim3 grid(static_cast<unsigned>((w.rows + kSimtTile - 1) / kSimtTile),
                  static_cast<unsigned>((T + kSimtTile - 1) / kSimtTile));
  GemmSimtKernel<<<grid, 256, 0, stream>>>(x, T, K, w, o);
  return LaunchStatus("matrix product (SIMT)");
}

Status LaunchGemmTensorCore(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w,
                            const LinearOut& o) {
  if (!TensorCoreGemmSupports(w, K)) {
    return ACORN_ERROR(kInternal, "CUDA tensor-core matrix product: %s weights with K %lld are not supported",
                       DTypeName(w.dtype), static_cast<long long>(K));
  }
  if (T == 0 || w.rows == 0) return Status::Ok();
  const int64_t col_blocks = (w.rows + kTcBN - 1) / kTcBN;
  // 128-row tiles unless that leaves the multiprocessors short of two waves.
  const bool tall = col_blocks * ((T + 127) / 128) >= 2 * static_cast<int64_t>(Facts().sms);
  const int bm = tall ? 128 : 64;
  const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>((T + bm - 1) / bm));
  TcKernel kernel = tall ? PickTc<128>(w.dtype, w.layout) : PickTc<64>(w.dtype, w.layout);
  kernel<<<grid, 256, TcSmemBytes(bm), stream>>>(x, T, K, w, o);
  return LaunchStatus("matrix product (tensor cores)");
}

Status LaunchGemm(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w, const LinearOut& o) {
  if (TensorCoreGemmSupports(w, K)) return LaunchGemmTensorCore(stream, x, T, K, w, o);
  return LaunchGemmSimt(stream, x, T, K, w, o);
}

Status PrepareGemmKernels() {
  (void)Facts();  // read the device's facts now, not inside a stream capture
  for (int raw = 0; raw < kDTypeCount; ++raw) {
    const DType d = static_cast<DType>(raw);
    if (PickTc<128>(d, WeightLayout::kCanonical) == nullptr) continue;
    for (WeightLayout l : {WeightLayout::kCanonical, WeightLayout::kSplitBlocks}) {
      if (cudaFuncSetAttribute(PickTc<128>(d, l), cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(TcSmemBytes(128))) != cudaSuccess ||
          cudaFuncSetAttribute(PickTc<64>(d, l), cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(TcSmemBytes(64))) != cudaSuccess) {
        return LaunchStatus("raising the tensor-core kernels' shared memory");
      }
    }
  }
  return Status::Ok();
}

}  // namespace cuda
}  // namespace acorn

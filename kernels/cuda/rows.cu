// Row-wise and element-wise CUDA kernels: activation quantization, RMSNorm (optionally emitting the
// quantized rows the next matrix product reads), LayerNorm, softmax, L2 normalization, the
// element-wise ops, pooling and the embedding gather. Each matches its kernels/reference namesake up
// to float rounding (quantization: bit for bit).
#include <cmath>

#include "device_common.cuh"
#include "launchers.h"

namespace acorn {
namespace cuda {

Status LaunchStatus(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return Status::Ok();
  return ACORN_ERROR(kBackend, "CUDA: %s failed: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

namespace {

constexpr int kRowThreads = 256;

__global__ void QuantizeRowsKernel(const float* __restrict__ x, int64_t rows, int64_t K, Q8Rows q) {
  const int64_t nb = K / kQBlock;
  const int64_t block = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (block >= rows * nb) return;
  const int lane = threadIdx.x & 31;
  const int64_t r = block / nb, b = block % nb;
  const float v = x[r * K + b * kQBlock + lane];
  QuantizeBlock(v, lane, q.qs + r * K + b * kQBlock, q.d + block, q.sum + block, q.s + block);
}

// One warp per 256-block, as ref::QuantizeRowQ8_K: lane l holds elements l, l + 32, ... (one per
// 32-block). The scale comes from the first element of largest magnitude, sign kept.
__global__ void QuantizeRowsQ8KKernel(const float* __restrict__ x, int64_t rows, int64_t K, Q8Rows q) {
  constexpr int kPer = kQKBlock / 32;
  const int64_t nsb = K / kQKBlock;
  const int64_t sb = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (sb >= rows * nsb) return;
  const int lane = threadIdx.x & 31;
  const int64_t r = sb / nsb, base = r * K + (sb % nsb) * kQKBlock;
  float v[kPer];
  float amax = 0.0f;
  int at = 0;  // index of this lane's first element of largest magnitude
  bool finite = true;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    v[i] = x[base + 32 * i + lane];
    finite = finite && isfinite(v[i]);
    if (fabsf(v[i]) > amax) {
      amax = fabsf(v[i]);
      at = 32 * i + lane;
    }
  }
  finite = __all_sync(0xffffffffu, finite);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float a2 = __shfl_xor_sync(0xffffffffu, amax, o);
    const int at2 = __shfl_xor_sync(0xffffffffu, at, o);
    if (a2 > amax || (a2 == amax && at2 < at)) {
      amax = a2;
      at = at2;
    }
  }
  float mine = 0.0f;  // this lane's element in the 32-block of the largest one (a select, not a local-memory read)
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    if (i == at / 32) mine = v[i];
  }
  const float max = __shfl_sync(0xffffffffu, mine, at % 32);
  const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
  const int64_t g0 = base / kQBlock;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    int qv = 0;
    if (finite && amax != 0.0f) qv = min(127, __float2int_rn(iscale * v[i]));
    q.qs[base + 32 * i + lane] = static_cast<int8_t>(qv);
    const int sum = WarpSumInt(qv);
    if (lane == 0) {
      q.d[g0 + i] = !finite ? NAN : (amax != 0.0f ? 1.0f / iscale : 0.0f);
      q.sum[g0 + i] = sum;
    }
  }
}

__global__ void RmsNormKernel(const float* __restrict__ x, const float* __restrict__ w, int64_t H, float eps,
                              float* __restrict__ out, Q8Rows q) {
  __shared__ float scratch[32];
  const float* xr = x + blockIdx.x * H;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) ss += xr[i] * xr[i];
  ss = BlockSum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(H) + eps);
  float* o = out + blockIdx.x * H;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) o[i] = w[i] * (xr[i] * r);
  if (q.qs == nullptr) return;
  // The same values, quantized per 32-block, one warp per block.
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int64_t nb = H / kQBlock;
  for (int64_t b = warp; b < nb; b += warps) {
    const int64_t i = b * kQBlock + lane;
    const float v = w[i] * (xr[i] * r);
    QuantizeBlock(v, lane, q.qs + blockIdx.x * H + b * kQBlock, q.d + blockIdx.x * nb + b, q.sum + blockIdx.x * nb + b,
                  q.s + blockIdx.x * nb + b);
  }
}

// H <= 8 x blockDim: every element stays in a register between the reduction and the output, and
// a warp's 32 consecutive elements of one pass are one quantization block.
constexpr int kRegs = 8;
__global__ void RmsNormRegsKernel(const float* __restrict__ x, const float* __restrict__ w, int64_t H, float eps,
                                  float* __restrict__ out, Q8Rows q) {
  __shared__ float scratch[32];
  const float* xr = x + blockIdx.x * H;
  float v[kRegs];
  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < kRegs; ++i) {
    const int64_t idx = i * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    v[i] = idx < H ? xr[idx] : 0.0f;
    ss += v[i] * v[i];
  }
  ss = BlockSum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(H) + eps);
  float* o = out + blockIdx.x * H;
  const int lane = threadIdx.x & 31;
  const int64_t nb = H / kQBlock;
#pragma unroll
  for (int i = 0; i < kRegs; ++i) {
    const int64_t base = i * static_cast<int64_t>(blockDim.x) + (threadIdx.x & ~31);  // this warp's 32 elements
    if (base >= H) break;  // warp-uniform
    const int64_t idx = base + lane;
    const float y = idx < H ? w[idx] * (v[i] * r) : 0.0f;
    if (idx < H) o[idx] = y;
    if (q.qs != nullptr) {
      const int64_t b = base / kQBlock;
      QuantizeBlock(y, lane, q.qs + blockIdx.x * H + base, q.d + blockIdx.x * nb + b, q.sum + blockIdx.x * nb + b,
                    q.s + blockIdx.x * nb + b);
    }
  }
}

__global__ void LayerNormKernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b,
                                int64_t H, float eps, float* __restrict__ out) {
  __shared__ float scratch[32];
  const float* xr = x + blockIdx.x * H;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) s += xr[i];
  const float mean = BlockSum(s, scratch) / static_cast<float>(H);
  float v = 0.0f;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) v += (xr[i] - mean) * (xr[i] - mean);
  const float var = BlockSum(v, scratch) / static_cast<float>(H);
  const float r = 1.0f / sqrtf(var + eps);
  float* o = out + blockIdx.x * H;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) {
    float y = (xr[i] - mean) * r;
    if (w) y *= w[i];
    if (b) y += b[i];
    o[i] = y;
  }
}

__global__ void SoftmaxKernel(const float* __restrict__ x, int64_t cols, float* __restrict__ out) {
  __shared__ float scratch[32];
  const float* xr = x + blockIdx.x * cols;
  float* o = out + blockIdx.x * cols;
  float mx = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) mx = fmaxf(mx, xr[c]);
  mx = BlockMax(mx, scratch);
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float e = expf(xr[c] - mx);
    o[c] = e;
    s += e;
  }
  const float inv = 1.0f / BlockSum(s, scratch);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] *= inv;
}

__global__ void L2NormalizeKernel(const float* __restrict__ x, int64_t cols, float eps, float* __restrict__ out) {
  __shared__ float scratch[32];
  const float* xr = x + blockIdx.x * cols;
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) ss += xr[c] * xr[c];
  const float norm = fmaxf(sqrtf(BlockSum(ss, scratch)), eps);
  float* o = out + blockIdx.x * cols;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] = xr[c] / norm;
}

__global__ void ElementwiseKernel(Elementwise kind, const float* __restrict__ a, const float* __restrict__ b, int64_t n,
                                  float* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = a[i];
  switch (kind) {
    case Elementwise::kAdd: out[i] = v + b[i]; break;
    case Elementwise::kMul: out[i] = v * b[i]; break;
    case Elementwise::kSwiGlu: out[i] = v / (1.0f + expf(-v)) * b[i]; break;
    case Elementwise::kGelu: out[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
    case Elementwise::kTanh: out[i] = tanhf(v); break;
  }
}

__global__ void PoolKernel(int mode, const float* __restrict__ x, int64_t T, int64_t H, const float* __restrict__ mask,
                           float* __restrict__ out) {
  const int64_t h = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (h >= H) return;
  if (mode == 1) {
    out[h] = x[h];
    return;
  }
  if (mode == 2) {
    out[h] = x[(T - 1) * H + h];
    return;
  }
  double count = 0.0, sum = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    const float m = mask ? mask[t] : 1.0f;
    count += m;
    sum += static_cast<double>(m) * x[t * H + h];
  }
  out[h] = static_cast<float>(sum / fmax(count, 1e-9));
}

__global__ void EmbeddingKernel(WeightView table, const int32_t* __restrict__ ids, int64_t H, float* __restrict__ out) {
  const int64_t h = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (h >= H) return;
  const int32_t id = ids[blockIdx.x];
  const bool ok = id >= 0 && id < table.rows;
  out[static_cast<int64_t>(blockIdx.x) * H + h] = ok ? LoadWeight(table, id, h) : 0.0f;
}

int RowThreads(int64_t cols) { return cols >= 2048 ? 1024 : (cols >= 512 ? 512 : kRowThreads); }

unsigned Blocks(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

}  // namespace

Status LaunchQuantizeRows(cudaStream_t stream, ActQuant format, const float* x, int64_t rows, int64_t K,
                          const Q8Rows& out) {
  const bool k = format == ActQuant::kQ8_K;
  if (format == ActQuant::kNone || K % (k ? kQKBlock : kQBlock) != 0) {
    return ACORN_ERROR(kInternal, "CUDA quantize rows: K %lld does not fit the format", static_cast<long long>(K));
  }
  const int64_t warps = rows * (K / (k ? kQKBlock : kQBlock));
  if (warps == 0) return Status::Ok();
  if (k) {
    QuantizeRowsQ8KKernel<<<Blocks(warps * 32, kRowThreads), kRowThreads, 0, stream>>>(x, rows, K, out);
  } else {
    QuantizeRowsKernel<<<Blocks(warps * 32, kRowThreads), kRowThreads, 0, stream>>>(x, rows, K, out);
  }
  return LaunchStatus("quantize rows");
}

Status LaunchRmsNorm(cudaStream_t stream, const float* x, const float* w, int64_t T, int64_t H, float eps, float* out,
                     const Q8Rows* q) {
  Q8Rows none;
  const int threads = RowThreads(H);
  if (H <= static_cast<int64_t>(kRegs) * threads && (q == nullptr || H % kQBlock == 0)) {
    RmsNormRegsKernel<<<static_cast<unsigned>(T), threads, 0, stream>>>(x, w, H, eps, out, q ? *q : none);
  } else {
    RmsNormKernel<<<static_cast<unsigned>(T), threads, 0, stream>>>(x, w, H, eps, out, q ? *q : none);
  }
  return LaunchStatus("rms norm");
}

Status LaunchLayerNorm(cudaStream_t stream, const float* x, const float* w, const float* b, int64_t T, int64_t H,
                       float eps, float* out) {
  LayerNormKernel<<<static_cast<unsigned>(T), RowThreads(H), 0, stream>>>(x, w, b, H, eps, out);
  return LaunchStatus("layer norm");
}

Status LaunchSoftmax(cudaStream_t stream, const float* x, int64_t rows, int64_t cols, float* out) {
  SoftmaxKernel<<<static_cast<unsigned>(rows), RowThreads(cols), 0, stream>>>(x, cols, out);
  return LaunchStatus("softmax");
}

Status LaunchL2Normalize(cudaStream_t stream, const float* x, int64_t rows, int64_t cols, float eps, float* out) {
  L2NormalizeKernel<<<static_cast<unsigned>(rows), RowThreads(cols), 0, stream>>>(x, cols, eps, out);
  return LaunchStatus("l2 normalize");
}

Status LaunchElementwise(cudaStream_t stream, Elementwise kind, const float* a, const float* b, int64_t n, float* out) {
  if (n == 0) return Status::Ok();
  ElementwiseKernel<<<Blocks(n, kRowThreads), kRowThreads, 0, stream>>>(kind, a, b, n, out);
  return LaunchStatus("element-wise op");
}

Status LaunchPool(cudaStream_t stream, int mode, const float* x, int64_t T, int64_t H, const float* mask, float* out) {
  PoolKernel<<<Blocks(H, kRowThreads), kRowThreads, 0, stream>>>(mode, x, T, H, mask, out);
  return LaunchStatus("pool");
}

Status LaunchEmbedding(cudaStream_t stream, const WeightView& table, const int32_t* ids, int64_t T, float* out) {
  const dim3 grid(static_cast<unsigned>(T), Blocks(table.cols, kRowThreads));
  EmbeddingKernel<<<grid, kRowThreads, 0, stream>>>(table, ids, table.cols, out);
  return LaunchStatus("embedding");
}

Status PrepareGemmKernels();
Status PrepareAttentionKernels();

Status PrepareKernels() {
  // A build without machine code (or PTX) for this device fails here rather than at the first step.
  cudaFuncAttributes attr;
  const cudaError_t e = cudaFuncGetAttributes(&attr, QuantizeRowsKernel);
  if (e != cudaSuccess) {
    cudaGetLastError();
    int dev = 0, major = 0, minor = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
    return ACORN_ERROR(kUnsupported, "this build's CUDA kernels do not run on this device (compute capability %d.%d): "
                       "%s; rebuild with -DCMAKE_CUDA_ARCHITECTURES=%d%d", major, minor, cudaGetErrorString(e), major,
                       minor);
  }
  ACORN_RETURN_IF_ERROR(PrepareGemmKernels());
  return PrepareAttentionKernels();
}

}  // namespace cuda
}  // namespace acorn

// Grouped-query attention over the KV cache, as ref::Attention (scores scaled, then the additive
// mask; softmax in float), in two kernels neither of which materializes the score matrix:
//  - decode (T <= kSmallRows): one block per (query row, head, split of the keys) computes a partial
//    softmax over its keys, warps walking the keys with an online softmax; a second kernel combines
//    the splits (flash-decoding) and can quantize the output rows for the next matrix product. The
//    split count depends on the cache size only, so a captured step replays at any position.
//  - flash (any T): one block per (32 query rows, head) walks the keys in tiles of 64 with an online
//    softmax, K and V tiles in shared memory.
// The step's first position comes from device memory (device_pos[0]).
#include <algorithm>

#include "device_common.cuh"
#include "launchers.h"

namespace acorn {
namespace cuda {

namespace {

constexpr int kDecodeThreads = 128;  // 4 warps
constexpr int kDecodeWarps = kDecodeThreads / 32;
constexpr int kMaxSplits = 256;
constexpr int kKeysPerGroup = 4;      // keys a warp takes at once: their loads are in flight together

struct Splits {
  int64_t count;
  int64_t keys;  // keys per split
};

// Splits of 16 keys (one group per warp: one round trip to memory), more keys per split only when
// the cache would need more than kMaxSplits. Blocks past the step's last key return at once.
Splits SplitsFor(int64_t cache_rows) {
  const int64_t keys = std::max<int64_t>(16, (cache_rows + kMaxSplits - 1) / kMaxSplits + 15) / 16 * 16;
  return Splits{(cache_rows + keys - 1) / keys, keys};
}

struct DecodeParams {
  AttentionArgs a;
  int64_t splits;
  int64_t keys_per_split;
};

// Scratch layout per (row t, head h, split s): head_dim floats of unnormalized output, then per
// (t, h, s) the running max and the sum of exponentials.
__device__ __forceinline__ int64_t PartialIndex(const DecodeParams& p, int64_t t, int64_t h, int64_t s) {
  return (t * p.a.n_heads + h) * p.splits + s;
}

// One block per (head, split, query row). Each warp walks every fourth group of keys of the split
// with an online softmax, its lanes spread over head_dim (dimension lane + 32 i), so that every
// load is coalesced and several keys' loads are in flight at once; then the four warps combine.
template <int NV>
__global__ void __launch_bounds__(kDecodeThreads) AttentionSplitKernel(const DecodeParams p) {
  __shared__ float warp_m[kDecodeWarps], warp_l[kDecodeWarps];
  __shared__ float warp_o[kDecodeWarps][NV * 32];
  const AttentionArgs& a = p.a;
  const int64_t h = blockIdx.x, s = blockIdx.y, t = blockIdx.z;
  const int64_t pos = a.device_pos[0];
  const int64_t kv_len = pos + a.T;
  const int64_t len = a.causal ? pos + t + 1 : kv_len;
  const int64_t begin = s * p.keys_per_split;
  if (begin >= len) return;  // the combine step reads only the splits that hold keys
  const int64_t end = std::min(len, begin + p.keys_per_split);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t hd = a.head_dim, g = h / (a.n_heads / a.n_kv_heads);
  const int64_t kv_stride = a.n_kv_heads * hd;
  const float* kbase = a.k_cache + g * hd;
  const float* vbase = a.v_cache + g * hd;
  float q[NV], o[NV];
#pragma unroll
  for (int i = 0; i < NV; ++i) {
    const int64_t d = lane + 32 * i;
    q[i] = d < hd ? a.q[(t * a.n_heads + h) * hd + d] : 0.0f;
    o[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int64_t j0 = begin + warp * kKeysPerGroup; j0 < end; j0 += kDecodeWarps * kKeysPerGroup) {
    // The group's keys and values, all loads issued before any is used.
    float kv[kKeysPerGroup][NV], vv[kKeysPerGroup][NV];
#pragma unroll
    for (int k = 0; k < kKeysPerGroup; ++k) {
      const int64_t j = j0 + k;
      const float* kr = kbase + j * kv_stride;
      const float* vr = vbase + j * kv_stride;
#pragma unroll
      for (int i = 0; i < NV; ++i) {
        const int64_t d = lane + 32 * i;
        const bool ok = j < end && d < hd;
        kv[k][i] = ok ? __ldg(kr + d) : 0.0f;
        vv[k][i] = ok ? __ldg(vr + d) : 0.0f;
      }
    }
    float sc[kKeysPerGroup];
    float mx = m;
#pragma unroll
    for (int k = 0; k < kKeysPerGroup; ++k) {
      float dot = 0.0f;
#pragma unroll
      for (int i = 0; i < NV; ++i) dot += q[i] * kv[k][i];
      const int64_t j = j0 + k;
      float v = WarpSum(dot) * a.scale;
      if (a.mask && j < end) v += a.mask[t * kv_len + j];
      sc[k] = j < end ? v : -INFINITY;
      mx = fmaxf(mx, sc[k]);
    }
    if (mx == -INFINITY) continue;  // every key of the group hidden (warp-uniform)
    const float corr = expf(m - mx);  // 0 while m is still -inf
    l *= corr;
#pragma unroll
    for (int i = 0; i < NV; ++i) o[i] *= corr;
#pragma unroll
    for (int k = 0; k < kKeysPerGroup; ++k) {
      const float pk = expf(sc[k] - mx);  // 0 for hidden keys and keys past the end
      l += pk;
#pragma unroll
      for (int i = 0; i < NV; ++i) o[i] = fmaf(pk, vv[k][i], o[i]);
    }
    m = mx;
  }
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < NV; ++i) warp_o[warp][lane + 32 * i] = o[i];
  __syncthreads();
  float mb = -INFINITY;
#pragma unroll
  for (int w = 0; w < kDecodeWarps; ++w) mb = fmaxf(mb, warp_m[w]);
  float wgt[kDecodeWarps], lb = 0.0f;
#pragma unroll
  for (int w = 0; w < kDecodeWarps; ++w) {
    wgt[w] = warp_m[w] == -INFINITY ? 0.0f : expf(warp_m[w] - mb);
    lb += wgt[w] * warp_l[w];
  }
  const int64_t pi = PartialIndex(p, t, h, s);
  float* po = a.scratch + pi * hd;
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
    float y = 0.0f;
#pragma unroll
    for (int w = 0; w < kDecodeWarps; ++w) y += wgt[w] * warp_o[w][d];
    po[d] = y;
  }
  if (threadIdx.x == 0) {
    float* ml = a.scratch + a.T * a.n_heads * p.splits * hd;
    ml[2 * pi] = mb;
    ml[2 * pi + 1] = lb;
  }
}

// One block per (head, row): blockDim.x == head_dim rounded up to a multiple of 32.
__global__ void AttentionCombineKernel(const DecodeParams p) {
  __shared__ float weight[kMaxSplits];
  __shared__ float total;
  const AttentionArgs& a = p.a;
  const int64_t h = blockIdx.x, t = blockIdx.y, hd = a.head_dim;
  const int64_t pos = a.device_pos[0];
  const int64_t len = a.causal ? pos + t + 1 : pos + a.T;
  const int64_t active = std::min(p.splits, (len + p.keys_per_split - 1) / p.keys_per_split);
  const float* ml = a.scratch + a.T * a.n_heads * p.splits * hd;
  if (threadIdx.x == 0) {
    float m = -INFINITY;
    for (int64_t s = 0; s < active; ++s) m = fmaxf(m, ml[2 * PartialIndex(p, t, h, s)]);
    float l = 0.0f;
    for (int64_t s = 0; s < active; ++s) {
      const float ms = ml[2 * PartialIndex(p, t, h, s)];
      const float w = ms == -INFINITY ? 0.0f : expf(ms - m);
      weight[s] = w;
      l += w * ml[2 * PartialIndex(p, t, h, s) + 1];
    }
    total = l;
  }
  __syncthreads();
  const float inv = total > 0.0f ? 1.0f / total : 0.0f;
  const int64_t d = threadIdx.x;
  float y = 0.0f;
  if (d < hd) {
    for (int64_t s = 0; s < active; ++s) y += weight[s] * a.scratch[PartialIndex(p, t, h, s) * hd + d];
    y *= inv;
    a.out[(t * a.n_heads + h) * hd + d] = y;
  }
  if (a.out_q.qs != nullptr) {
    // head_dim is a multiple of 32 here: each warp holds one 32-block of the output row.
    const int lane = threadIdx.x & 31;
    const int64_t K = a.n_heads * hd, col = h * hd + d;
    const int64_t b = t * (K / kQBlock) + col / kQBlock;
    QuantizeBlock(y, lane, a.out_q.qs + t * K + col - lane, a.out_q.d + b, a.out_q.sum + b, a.out_q.s + b);
  }
}

// ---- Flash -----------------------------------------------------------------------------------------

constexpr int kBQ = 32;
constexpr int kBK = 64;
constexpr int kQStride = kBQ + 4;  // transposed tiles, padded against bank conflicts on the stores
constexpr int kKStride = kBK + 4;

template <int D>
constexpr size_t FlashSmemFloats() {
  return static_cast<size_t>(D) * kQStride + static_cast<size_t>(D) * kKStride + static_cast<size_t>(kBK) * D +
         static_cast<size_t>(kBQ) * kBK;
}

template <int D>
__global__ void __launch_bounds__(128) AttentionFlashKernel(const AttentionArgs a) {
  extern __shared__ float smem[];
  float* Qs = smem;                 // [D][kQStride]: Qs[d][row]
  float* Ks = Qs + D * kQStride;    // [D][kKStride]: Ks[d][key]
  float* Vs = Ks + D * kKStride;    // [kBK][D]
  float* Ps = Vs + kBK * D;         // [kBQ][kBK]
  constexpr int DC = D / 64;        // float4 columns of the output each thread owns
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kBQ, h = blockIdx.y;
  const int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads, g = h / group;
  const int64_t q_stride = a.n_heads * hd, kv_stride = a.n_kv_heads * hd;
  const int64_t pos = a.device_pos[0], kv_len = pos + a.T;

  for (int i = tid; i < kBQ * D; i += 128) {
    const int r = i / D, d = i % D;
    const int64_t t = t0 + r;
    Qs[d * kQStride + r] = (t < a.T && d < hd) ? a.q[t * q_stride + h * hd + d] : 0.0f;
  }
  float m[4], l[4], o[4][DC][4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
#pragma unroll
    for (int c = 0; c < DC; ++c) o[i][c][0] = o[i][c][1] = o[i][c][2] = o[i][c][3] = 0.0f;
  }
  const int64_t last_row = std::min<int64_t>(t0 + kBQ, a.T) - 1;
  const int64_t limit = a.causal ? std::min(kv_len, pos + last_row + 1) : kv_len;

  for (int64_t kb = 0; kb < limit; kb += kBK) {
    __syncthreads();  // the previous tile's readers are done (and, the first time, Qs is written)
    for (int i = tid; i < kBK * D; i += 128) {
      const int j = i / D, d = i % D;
      const int64_t key = kb + j;
      const bool ok = key < kv_len && d < hd;
      Ks[d * kKStride + j] = ok ? a.k_cache[key * kv_stride + g * hd + d] : 0.0f;
      Vs[j * D + d] = ok ? a.v_cache[key * kv_stride + g * hd + d] : 0.0f;
    }
    __syncthreads();
    float s[4][4] = {};
#pragma unroll 8
    for (int d = 0; d < D; ++d) {
      const float4 qa = *reinterpret_cast<const float4*>(Qs + d * kQStride + ty * 4);
      const float4 kb4 = *reinterpret_cast<const float4*>(Ks + d * kKStride + tx * 4);
      const float qv[4] = {qa.x, qa.y, qa.z, qa.w}, kv[4] = {kb4.x, kb4.y, kb4.z, kb4.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) s[i][j] = fmaf(qv[i], kv[j], s[i][j]);
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t t = t0 + ty * 4 + i;
      float rmax = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t key = kb + tx * 4 + j;
        float v = -INFINITY;
        if (t < a.T && key < kv_len && (!a.causal || key <= pos + t)) {
          v = s[i][j] * a.scale;
          if (a.mask) v += a.mask[t * kv_len + key];
        }
        s[i][j] = v;
        rmax = fmaxf(rmax, v);
      }
      // The 16 threads of a row are 16 consecutive lanes.
#pragma unroll
      for (int off = 8; off > 0; off >>= 1) rmax = fmaxf(rmax, __shfl_xor_sync(0xffffffffu, rmax, off));
      const float m_new = fmaxf(m[i], rmax);
      float rsum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float p = m_new == -INFINITY ? 0.0f : expf(s[i][j] - m_new);
        s[i][j] = p;
        rsum += p;
      }
#pragma unroll
      for (int off = 8; off > 0; off >>= 1) rsum += __shfl_xor_sync(0xffffffffu, rsum, off);
      const float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - m_new);
      l[i] = l[i] * corr + rsum;
      m[i] = m_new;
#pragma unroll
      for (int c = 0; c < DC; ++c) {
#pragma unroll
        for (int e = 0; e < 4; ++e) o[i][c][e] *= corr;
      }
      *reinterpret_cast<float4*>(Ps + (ty * 4 + i) * kBK + tx * 4) = make_float4(s[i][0], s[i][1], s[i][2], s[i][3]);
    }
    __syncthreads();
    const int64_t keys = std::min<int64_t>(kBK, limit - kb);
    for (int j = 0; j < keys; ++j) {
      float pr[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) pr[i] = Ps[(ty * 4 + i) * kBK + j];
#pragma unroll
      for (int c = 0; c < DC; ++c) {
        const float4 v = *reinterpret_cast<const float4*>(Vs + j * D + c * 64 + tx * 4);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          o[i][c][0] = fmaf(pr[i], v.x, o[i][c][0]);
          o[i][c][1] = fmaf(pr[i], v.y, o[i][c][1]);
          o[i][c][2] = fmaf(pr[i], v.z, o[i][c][2]);
          o[i][c][3] = fmaf(pr[i], v.w, o[i][c][3]);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + ty * 4 + i;
    if (t >= a.T) continue;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
    for (int c = 0; c < DC; ++c) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t d = c * 64 + tx * 4 + e;
        if (d < hd) a.out[t * q_stride + h * hd + d] = o[i][c][e] * inv;
      }
    }
  }
}

template <int D>
Status LaunchFlash(cudaStream_t stream, const AttentionArgs& a) {
  const dim3 grid(static_cast<unsigned>((a.T + kBQ - 1) / kBQ), static_cast<unsigned>(a.n_heads));
  AttentionFlashKernel<D><<<grid, 128, FlashSmemFloats<D>() * sizeof(float), stream>>>(a);
  return LaunchStatus("attention (flash)");
}

Status CheckArgs(const AttentionArgs& a) {
  if (a.head_dim < 1 || a.head_dim > kMaxHeadDim || a.n_kv_heads < 1 || a.n_heads % a.n_kv_heads != 0) {
    return ACORN_ERROR(kUnsupported, "CUDA attention: head_dim %lld (at most %d) with %lld heads over %lld kv heads",
                       static_cast<long long>(a.head_dim), kMaxHeadDim, static_cast<long long>(a.n_heads),
                       static_cast<long long>(a.n_kv_heads));
  }
  return Status::Ok();
}

}  // namespace

size_t AttentionScratchBytes(int64_t n_heads, int64_t head_dim, int64_t cache_rows) {
  const Splits s = SplitsFor(cache_rows);
  return static_cast<size_t>(kSmallRows * n_heads * s.count) * static_cast<size_t>(head_dim + 2) * sizeof(float);
}

Status LaunchAttentionDecode(cudaStream_t stream, const AttentionArgs& a) {
  ACORN_RETURN_IF_ERROR(CheckArgs(a));
  if (a.T < 1 || a.T > kSmallRows) return ACORN_ERROR(kInternal, "CUDA attention (decode): T %lld", static_cast<long long>(a.T));
  if (a.out_q.qs != nullptr && a.head_dim % kQBlock != 0) {
    return ACORN_ERROR(kInternal, "CUDA attention: quantized output needs head_dim %% 32 == 0");
  }
  const Splits s = SplitsFor(a.cache_rows);
  const DecodeParams p{a, s.count, s.keys};
  const dim3 grid(static_cast<unsigned>(a.n_heads), static_cast<unsigned>(s.count), static_cast<unsigned>(a.T));
  const int64_t nv = (a.head_dim + 31) / 32;
  if (nv <= 1) {
    AttentionSplitKernel<1><<<grid, kDecodeThreads, 0, stream>>>(p);
  } else if (nv <= 2) {
    AttentionSplitKernel<2><<<grid, kDecodeThreads, 0, stream>>>(p);
  } else if (nv <= 4) {
    AttentionSplitKernel<4><<<grid, kDecodeThreads, 0, stream>>>(p);
  } else {
    AttentionSplitKernel<8><<<grid, kDecodeThreads, 0, stream>>>(p);
  }
  ACORN_RETURN_IF_ERROR(LaunchStatus("attention (decode splits)"));
  const unsigned threads = static_cast<unsigned>((a.head_dim + 31) / 32 * 32);
  AttentionCombineKernel<<<dim3(static_cast<unsigned>(a.n_heads), static_cast<unsigned>(a.T)), threads, 0, stream>>>(p);
  return LaunchStatus("attention (decode combine)");
}

Status LaunchAttentionFlash(cudaStream_t stream, const AttentionArgs& a) {
  ACORN_RETURN_IF_ERROR(CheckArgs(a));
  if (a.T < 1) return Status::Ok();
  if (a.head_dim <= 64) return LaunchFlash<64>(stream, a);
  if (a.head_dim <= 128) return LaunchFlash<128>(stream, a);
  return LaunchFlash<256>(stream, a);
}

Status LaunchAttention(cudaStream_t stream, const AttentionArgs& a) {
  return a.T <= kSmallRows ? LaunchAttentionDecode(stream, a) : LaunchAttentionFlash(stream, a);
}

Status PrepareAttentionKernels() {
  if (cudaFuncSetAttribute(AttentionFlashKernel<64>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(FlashSmemFloats<64>() * sizeof(float))) != cudaSuccess ||
      cudaFuncSetAttribute(AttentionFlashKernel<128>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(FlashSmemFloats<128>() * sizeof(float))) != cudaSuccess ||
      cudaFuncSetAttribute(AttentionFlashKernel<256>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(FlashSmemFloats<256>() * sizeof(float))) != cudaSuccess) {
    return LaunchStatus("raising the attention kernels' shared memory");
  }
  return Status::Ok();
}

}  // namespace cuda
}  // namespace acorn

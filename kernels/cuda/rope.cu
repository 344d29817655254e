// Rotary embedding and the KV-cache writes that follow it: the plain op, and the fused step that
// rotates q and k and stores k and v in the caches in one launch. The cache row of query row t is
// pos + t with pos read from device memory, so that a captured step replays at any position.
#include <algorithm>

#include "device_common.cuh"
#include "launchers.h"

namespace acorn {
namespace cuda {

namespace {

constexpr int kThreads = 256;

// Rotates pair `i` of head `h` of row t (as ref::Rope) from x into out and, when set, into cache.
__device__ __forceinline__ void RotatePair(const float* __restrict__ x, int64_t t, int64_t h, int64_t i, float pos,
                                           const RopeParams& p, float* __restrict__ out, float* __restrict__ cache,
                                           int64_t cache_row) {
  const int64_t half = p.head_dim / 2;
  const int64_t width = p.n_heads * p.head_dim;
  const float angle = pos * p.inv_freq[i];
  const float c = cosf(angle) * p.attention_factor;
  const float s = sinf(angle) * p.attention_factor;
  const int64_t i0 = p.half_style ? i : 2 * i;
  const int64_t i1 = p.half_style ? i + half : 2 * i + 1;
  const int64_t base = t * width + h * p.head_dim;
  const float x0 = x[base + i0], x1 = x[base + i1];
  const float y0 = x0 * c - x1 * s;
  const float y1 = x1 * c + x0 * s;
  if (out) {
    out[base + i0] = y0;
    out[base + i1] = y1;
  }
  if (cache) {
    const int64_t cb = cache_row * width + h * p.head_dim;
    cache[cb + i0] = y0;
    cache[cb + i1] = y1;
  }
}

__global__ void RopeKernel(const float* __restrict__ x, int64_t T, const int32_t* __restrict__ positions,
                           const __grid_constant__ RopeParams p, float* __restrict__ out, float* __restrict__ cache,
                           const int64_t* __restrict__ device_pos) {
  const int64_t half = p.head_dim / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= T * p.n_heads * half) return;
  const int64_t i = idx % half, h = (idx / half) % p.n_heads, t = idx / (half * p.n_heads);
  const int64_t row = cache ? device_pos[0] + t : 0;
  RotatePair(x, t, h, i, static_cast<float>(positions[t]), p, out, cache, row);
}

struct RopeKvArgs {
  const float* q;
  const float* k;
  const float* v;
  const int32_t* positions;
  float* q_out;
  float* k_out;
  float* k_cache;
  float* v_cache;
  const int64_t* device_pos;
  int64_t T;
};

// blockIdx.y: 0 rotates q, 1 rotates k into the key cache, 2 copies v into the value cache.
__global__ void RopeKvKernel(const RopeKvArgs a, const __grid_constant__ RopeParams pq,
                             const __grid_constant__ RopeParams pk) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t pos = a.device_pos[0];
  if (blockIdx.y == 0) {
    const int64_t half = pq.head_dim / 2;
    if (idx >= a.T * pq.n_heads * half) return;
    const int64_t i = idx % half, h = (idx / half) % pq.n_heads, t = idx / (half * pq.n_heads);
    RotatePair(a.q, t, h, i, static_cast<float>(a.positions[t]), pq, a.q_out, nullptr, 0);
  } else if (blockIdx.y == 1) {
    const int64_t half = pk.head_dim / 2;
    if (idx >= a.T * pk.n_heads * half) return;
    const int64_t i = idx % half, h = (idx / half) % pk.n_heads, t = idx / (half * pk.n_heads);
    RotatePair(a.k, t, h, i, static_cast<float>(a.positions[t]), pk, a.k_out, a.k_cache, pos + t);
  } else {
    const int64_t width = pk.n_heads * pk.head_dim;
    if (idx >= a.T * width) return;
    a.v_cache[pos * width + idx] = a.v[idx];
  }
}

__global__ void KvWriteKernel(const float* __restrict__ k, const float* __restrict__ v, int64_t n, float* __restrict__ kc,
                              float* __restrict__ vc, int64_t width, const int64_t* __restrict__ device_pos) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t off = device_pos[0] * width + idx;
  kc[off] = k[idx];
  vc[off] = v[idx];
}

unsigned Blocks(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

}  // namespace

Status LaunchRope(cudaStream_t stream, const float* x, int64_t T, const int32_t* positions, const RopeParams& p,
                  float* out, float* cache, const int64_t* device_pos) {
  const int64_t n = T * p.n_heads * (p.head_dim / 2);
  if (n == 0) return Status::Ok();
  RopeKernel<<<Blocks(n), kThreads, 0, stream>>>(x, T, positions, p, out, cache, device_pos);
  return LaunchStatus("rope");
}

Status LaunchRopeKv(cudaStream_t stream, const float* q, const float* k, const float* v, int64_t T,
                    const int32_t* positions, const RopeParams& pq, const RopeParams& pk, float* q_out, float* k_out,
                    float* k_cache, float* v_cache, const int64_t* device_pos) {
  const int64_t n = std::max(T * pq.n_heads * (pq.head_dim / 2), T * pk.n_heads * pk.head_dim);
  if (n == 0) return Status::Ok();
  const RopeKvArgs a{q, k, v, positions, q_out, k_out, k_cache, v_cache, device_pos, T};
  RopeKvKernel<<<dim3(Blocks(n), 3), kThreads, 0, stream>>>(a, pq, pk);
  return LaunchStatus("rope + kv cache write");
}

Status LaunchKvWrite(cudaStream_t stream, const float* k, const float* v, int64_t T, int64_t width, float* k_cache,
                     float* v_cache, const int64_t* device_pos) {
  const int64_t n = T * width;
  if (n == 0) return Status::Ok();
  KvWriteKernel<<<Blocks(n), kThreads, 0, stream>>>(k, v, n, k_cache, v_cache, width, device_pos);
  return LaunchStatus("kv cache write");
}

}  // namespace cuda
}  // namespace acorn

// Attention on the CPU: query rows x heads spread over threads, one pass over the keys with an
// online softmax (running max and sum, rescaling the partial output as the max grows), so that
// it needs no scratch and reads each cached key and value row once per query head.
#include <cmath>
#include <cstring>

#include "cpu_kernels.h"

namespace acorn {
namespace cpu {

namespace {

// Keys are scored in chunks: one max and one rescale per chunk, not per key.
constexpr int64_t kKeyChunk = 64;

// Eight partial sums: independent chains the compiler can keep in one vector.
inline float Dot(const float* a, const float* b, int64_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

struct AttentionJob {
  const float* q;
  const float* k_cache;
  const float* v_cache;
  int64_t pos, n_heads, group, head_dim, kv_row, kv_len;
  float scale;
  bool causal;
  const float* mask;
  float* out;
};

void AttendOne(const AttentionJob& j, int64_t t, int64_t h) {
  const int64_t len = j.causal ? j.pos + t + 1 : j.kv_len;
  const int64_t hd = j.head_dim;
  const float* qh = j.q + (t * j.n_heads + h) * hd;
  const int64_t kv_off = (h / j.group) * hd;
  float* o = j.out + (t * j.n_heads + h) * hd;
  for (int64_t d = 0; d < hd; ++d) o[d] = 0.0f;
  float running_max = -INFINITY, running_sum = 0.0f;
  float p[kKeyChunk];
  for (int64_t c0 = 0; c0 < len; c0 += kKeyChunk) {
    const int64_t n = len - c0 < kKeyChunk ? len - c0 : kKeyChunk;
    float chunk_max = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      float s = Dot(qh, j.k_cache + (c0 + i) * j.kv_row + kv_off, hd) * j.scale;
      if (j.mask) s += j.mask[t * j.kv_len + c0 + i];
      p[i] = s;
      chunk_max = std::fmax(chunk_max, s);
    }
    const float new_max = std::fmax(running_max, chunk_max);
    if (new_max == -INFINITY) continue;  // everything so far masked out
    const float rescale = std::exp(running_max - new_max);  // 0 on the first chunk
    running_sum *= rescale;
    for (int64_t d = 0; d < hd; ++d) o[d] *= rescale;
    running_max = new_max;
    for (int64_t i = 0; i < n; ++i) {
      const float e = std::exp(p[i] - new_max);
      running_sum += e;
      const float* v = j.v_cache + (c0 + i) * j.kv_row + kv_off;
      for (int64_t d = 0; d < hd; ++d) o[d] += e * v[d];
    }
  }
  const float inv = 1.0f / running_sum;  // all masked: 1/0 = inf, 0*inf = NaN, as torch gives
  for (int64_t d = 0; d < hd; ++d) o[d] *= inv;
}

}  // namespace

void Attention(ThreadPool* pool, const float* q, const float* k_cache, const float* v_cache,
               int64_t T, int64_t pos, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
               float scale, bool causal, const float* mask, int64_t kv_len, float* out) {
  const AttentionJob job{q,       k_cache,    v_cache, pos,   n_heads, n_heads / n_kv_heads, head_dim,
                         n_kv_heads * head_dim, kv_len, scale, causal,  mask,    out};
  auto run = [&job](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) AttendOne(job, i / job.n_heads, i % job.n_heads);
  };
  ParallelFor(pool, T * n_heads, run);
}

}  // namespace cpu
}  // namespace acorn

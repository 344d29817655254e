// Grouped-query scaled dot-product attention over a KV cache, one query row and head at a time.
#include <cmath>
#include <cstring>

#include "reference_kernels.h"

namespace acorn {
namespace ref {

void WriteKvCache(const float* k_new, const float* v_new, int64_t T, int64_t pos,
                  int64_t n_kv_heads, int64_t head_dim, float* k_cache, float* v_cache) {
  const int64_t row = n_kv_heads * head_dim;
  std::memcpy(k_cache + pos * row, k_new, static_cast<size_t>(T * row) * sizeof(float));
  std::memcpy(v_cache + pos * row, v_new, static_cast<size_t>(T * row) * sizeof(float));
}

void Attention(const float* q, const float* k_cache, const float* v_cache, int64_t T, int64_t pos,
               int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, bool causal,
               const float* mask, int64_t kv_len, float* out, float* scratch) {
  const int64_t group = n_heads / n_kv_heads;
  const int64_t kv_row = n_kv_heads * head_dim;
  float* scores = scratch;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t len = causal ? pos + t + 1 : kv_len;
    for (int64_t h = 0; h < n_heads; ++h) {
      const float* qh = q + (t * n_heads + h) * head_dim;
      const int64_t kvh = h / group;
      float mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        const float* kj = k_cache + j * kv_row + kvh * head_dim;
        float dot = 0.0f;
        for (int64_t d = 0; d < head_dim; ++d) dot += qh[d] * kj[d];
        float s = dot * scale;
        if (mask) s += mask[t * kv_len + j];
        scores[j] = s;
        mx = std::fmax(mx, s);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < len; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      const float inv = 1.0f / sum;
      float* oh = out + (t * n_heads + h) * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) oh[d] = 0.0f;
      for (int64_t j = 0; j < len; ++j) {
        const float p = scores[j] * inv;
        const float* vj = v_cache + j * kv_row + kvh * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) oh[d] += p * vj[d];
      }
    }
  }
}

}  // namespace ref
}  // namespace acorn

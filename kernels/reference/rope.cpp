// Rotary position embedding in both pairings found in checkpoints: Hugging Face's rotate_half
// (pairs i, i+d/2) and the interleaved one (pairs 2i, 2i+1) of GPT-J and GGUF files.
#include <cmath>

#include "reference_kernels.h"

namespace acorn {
namespace ref {

void Rope(const float* x, int64_t T, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const float* inv_freq, float attention_factor, bool half_style, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < T; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int64_t h = 0; h < n_heads; ++h) {
      const float* xh = x + (t * n_heads + h) * head_dim;
      float* oh = out + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        // As Hugging Face: the angle is a float product, cos/sin are then scaled.
        const float angle = pos * inv_freq[i];
        const float c = std::cos(angle) * attention_factor;
        const float s = std::sin(angle) * attention_factor;
        const int64_t i0 = half_style ? i : 2 * i;
        const int64_t i1 = half_style ? i + half : 2 * i + 1;
        const float x0 = xh[i0], x1 = xh[i1];  // read both before writing: out may be x
        oh[i0] = x0 * c - x1 * s;
        oh[i1] = x1 * c + x0 * s;
      }
    }
  }
}

}  // namespace ref
}  // namespace acorn

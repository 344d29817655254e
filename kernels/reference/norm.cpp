// Row normalizations. Sums run in double so that the reference is the accurate value that float
// implementations approximate.
#include <cmath>

#include "reference_kernels.h"

namespace acorn {
namespace ref {

void RmsNorm(const float* x, const float* weight, int64_t T, int64_t H, float eps, float* out) {
  for (int64_t t = 0; t < T; ++t) {
    const float* xr = x + t * H;
    float* o = out + t * H;
    double ss = 0.0;
    for (int64_t i = 0; i < H; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float r = 1.0f / std::sqrt(static_cast<float>(ss / H) + eps);
    // Hugging Face order: weight * (x * rsqrt(...)).
    for (int64_t i = 0; i < H; ++i) o[i] = weight[i] * (xr[i] * r);
  }
}

void LayerNorm(const float* x, const float* weight, const float* bias, int64_t T, int64_t H,
               float eps, float* out) {
  for (int64_t t = 0; t < T; ++t) {
    const float* xr = x + t * H;
    float* o = out + t * H;
    double sum = 0.0;
    for (int64_t i = 0; i < H; ++i) sum += xr[i];
    const double mean = sum / H;
    double var = 0.0;
    for (int64_t i = 0; i < H; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= H;
    const float m = static_cast<float>(mean);
    const float r = 1.0f / std::sqrt(static_cast<float>(var) + eps);
    for (int64_t i = 0; i < H; ++i) {
      float v = (xr[i] - m) * r;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      o[i] = v;
    }
  }
}

void L2NormalizeRows(const float* x, int64_t rows, int64_t cols, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    double ss = 0.0;
    for (int64_t c = 0; c < cols; ++c) ss += static_cast<double>(xr[c]) * xr[c];
    const float norm = std::fmax(static_cast<float>(std::sqrt(ss)), eps);
    for (int64_t c = 0; c < cols; ++c) o[c] = xr[c] / norm;
  }
}

}  // namespace ref
}  // namespace acorn

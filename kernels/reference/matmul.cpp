// Reference linear layers: the float definition (MatMul) and the definition of what the integer
// kernels compute (MatMulQ8Activations), against which the SIMD kernels are checked tightly.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "acorn/half.h"
#include "reference_kernels.h"
#include "row_bytes.h"

namespace acorn {
namespace ref {

void MatMul(const float* x, int64_t T, int64_t K, const void* w, DType wtype, int64_t N,
            const float* bias, float* y) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const size_t row_bytes = kernels::StoredRowBytes(wtype, K);
  std::vector<float> wrow(static_cast<size_t>(K));  // reference code may allocate
  for (int64_t n = 0; n < N; ++n) {
    DequantizeRow(wtype, wb + n * row_bytes, wrow.data(), K);
    for (int64_t t = 0; t < T; ++t) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[t * K + k]) * wrow[k];
      y[t * N + n] = static_cast<float>(acc) + (bias ? bias[n] : 0.0f);
    }
  }
}

void MatMulQ8Activations(const float* x, int64_t T, int64_t K, const void* w, DType wtype,
                         int64_t N, const float* bias, float* y, float* abs_sum) {
  const int64_t nb = K / kQBlock;
  std::vector<BlockQ8_0> xq(static_cast<size_t>(T * nb));
  for (int64_t t = 0; t < T; ++t) QuantizeRowQ8_0(x + t * K, xq.data() + t * nb, K);
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const size_t row_bytes = kernels::StoredRowBytes(wtype, K);
  for (int64_t n = 0; n < N; ++n) {
    const uint8_t* wrow = wb + n * row_bytes;
    for (int64_t t = 0; t < T; ++t) {
      double acc = 0.0, acc_abs = 0.0;
      for (int64_t b = 0; b < nb; ++b) {
        const BlockQ8_0& xb = xq[t * nb + b];
        int32_t isum = 0, iabs = 0;
        float dw;
        if (wtype == DType::kQ4_K || wtype == DType::kQ5_K || wtype == DType::kQ6_K) {
          KQuantGroup kg;
          KQuantGroupOf(wtype, wrow, b, &kg);
          const float dx = F16ToF32(xb.scale);
          int32_t xsum = 0, xabs = 0;
          for (int h = 0; h < 2; ++h) {
            int32_t hsum = 0, habs = 0;
            for (int j = 16 * h; j < 16 * h + 16; ++j) {
              const int p = (kg.u[j] - kg.offset) * xb.q[j];
              hsum += p;
              habs += std::abs(p);
              xsum += xb.q[j];
              xabs += std::abs(xb.q[j]);
            }
            acc += static_cast<double>(kg.scale[h]) * dx * hsum;
            acc_abs += std::fabs(static_cast<double>(kg.scale[h]) * dx * habs);
          }
          acc -= static_cast<double>(kg.min) * dx * xsum;
          acc_abs += std::fabs(static_cast<double>(kg.min) * dx * xabs);
          continue;
        }
        if (wtype == DType::kQ8_0) {
          const BlockQ8_0& wq = reinterpret_cast<const BlockQ8_0*>(wrow)[b];
          for (int j = 0; j < kQBlock; ++j) {
            isum += wq.q[j] * xb.q[j];
            iabs += std::abs(wq.q[j] * xb.q[j]);
          }
          dw = F16ToF32(wq.scale);
        } else {  // q4_0
          const BlockQ4_0& wq = reinterpret_cast<const BlockQ4_0*>(wrow)[b];
          for (int j = 0; j < kQBlock / 2; ++j) {
            const int p0 = ((wq.q[j] & 0x0f) - 8) * xb.q[j];
            const int p1 = ((wq.q[j] >> 4) - 8) * xb.q[j + kQBlock / 2];
            isum += p0 + p1;
            iabs += std::abs(p0) + std::abs(p1);
          }
          dw = F16ToF32(wq.scale);
        }
        const float scale = dw * F16ToF32(xb.scale);
        acc += static_cast<float>(isum) * scale;
        acc_abs += std::fabs(static_cast<float>(iabs) * scale);
      }
      y[t * N + n] = static_cast<float>(acc) + (bias ? bias[n] : 0.0f);
      if (abs_sum) abs_sum[t * N + n] = static_cast<float>(acc_abs);
    }
  }
}

}  // namespace ref
}  // namespace acorn

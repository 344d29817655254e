// Reference linear layers: the float definition (MatMul) and the definition of what the integer
// kernels compute (MatMulQ8Activations), against which the SIMD kernels are checked tightly.
#include <cmath>
#include <cstdlib>
#include <cstring>
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
      // Four running sums in double: the float result is the same to well below its rounding, and
      // four independent additions run four times faster than one chain (the reference backend
      // runs real models in tests).
      double acc[4] = {0.0, 0.0, 0.0, 0.0};
      int64_t k = 0;
      for (; k + 4 <= K; k += 4) {
        for (int i = 0; i < 4; ++i) acc[i] += static_cast<double>(x[t * K + k + i]) * wrow[k + i];
      }
      for (; k < K; ++k) acc[0] += static_cast<double>(x[t * K + k]) * wrow[k];
      y[t * N + n] = static_cast<float>((acc[0] + acc[1]) + (acc[2] + acc[3])) + (bias ? bias[n] : 0.0f);
    }
  }
}

void MatMulQ8Activations(const float* x, int64_t T, int64_t K, const void* w, DType wtype,
                         int64_t N, const float* bias, float* y, float* abs_sum) {
  const int64_t nb = K / kQBlock;
  const bool k_quant = TakesQ8KActivations(wtype);
  // Quants and a float scale per 32-block: Q8_0's fp16 scale widened, or the scale of the Q8_K
  // super-block the block belongs to.
  std::vector<int8_t> xq_all(static_cast<size_t>(T * K));
  std::vector<float> xd_all(static_cast<size_t>(T * nb));
  for (int64_t t = 0; t < T; ++t) {
    if (k_quant) {
      std::vector<float> d(static_cast<size_t>(K / kQKBlock));
      QuantizeRowQ8_K(x + t * K, xq_all.data() + t * K, d.data(), K);
      for (int64_t b = 0; b < nb; ++b) xd_all[t * nb + b] = d[b / (kQKBlock / kQBlock)];
    } else {
      std::vector<BlockQ8_0> blocks(static_cast<size_t>(nb));
      QuantizeRowQ8_0(x + t * K, blocks.data(), K);
      for (int64_t b = 0; b < nb; ++b) {
        std::memcpy(xq_all.data() + t * K + b * kQBlock, blocks[b].q, kQBlock);
        xd_all[t * nb + b] = F16ToF32(blocks[b].scale);
      }
    }
  }
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const size_t row_bytes = kernels::StoredRowBytes(wtype, K);
  for (int64_t n = 0; n < N; ++n) {
    const uint8_t* wrow = wb + n * row_bytes;
    for (int64_t t = 0; t < T; ++t) {
      double acc = 0.0, acc_abs = 0.0;
      for (int64_t b = 0; b < nb; ++b) {
        const int8_t* xbq = xq_all.data() + t * K + b * kQBlock;
        const float dx = xd_all[t * nb + b];
        int32_t isum = 0, iabs = 0;
        float dw;
        QuantGroup kg;
        if (QuantGroupOf(wtype, wrow, b, &kg)) {
          if (TakesQ8_1Activations(wtype)) {  // llama.cpp's Q8_1: the minimum meets s
            const float s = Q8_1BlockSum(x + t * K + b * kQBlock, xbq);
            acc -= static_cast<double>(kg.min[0]) * s;
            acc_abs += std::fabs(static_cast<double>(kg.min[0]) * s);
            kg.min[0] = kg.min[1] = 0.0f;
          }
          for (int h = 0; h < 2; ++h) {
            int32_t hsum = 0, habs = 0, xsum = 0, xabs = 0;
            for (int j = 16 * h; j < 16 * h + 16; ++j) {
              const int p = (kg.u[j] - kg.offset) * xbq[j];
              hsum += p;
              habs += std::abs(p);
              xsum += xbq[j];
              xabs += std::abs(xbq[j]);
            }
            acc += static_cast<double>(kg.scale[h]) * dx * hsum - static_cast<double>(kg.min[h]) * dx * xsum;
            acc_abs += std::fabs(static_cast<double>(kg.scale[h]) * dx * habs) +
                       std::fabs(static_cast<double>(kg.min[h]) * dx * xabs);
          }
          continue;
        }
        if (wtype == DType::kQ8_0) {
          const BlockQ8_0& wq = reinterpret_cast<const BlockQ8_0*>(wrow)[b];
          for (int j = 0; j < kQBlock; ++j) {
            isum += wq.q[j] * xbq[j];
            iabs += std::abs(wq.q[j] * xbq[j]);
          }
          dw = F16ToF32(wq.scale);
        } else {  // q4_0
          const BlockQ4_0& wq = reinterpret_cast<const BlockQ4_0*>(wrow)[b];
          for (int j = 0; j < kQBlock / 2; ++j) {
            const int p0 = ((wq.q[j] & 0x0f) - 8) * xbq[j];
            const int p1 = ((wq.q[j] >> 4) - 8) * xbq[j + kQBlock / 2];
            isum += p0 + p1;
            iabs += std::abs(p0) + std::abs(p1);
          }
          dw = F16ToF32(wq.scale);
        }
        const float scale = dw * dx;
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

// Portable MatMul kernels: the path on CPUs without AVX2 and on architectures without SIMD paths, and
// the ISA-independent activation quantizer.
#include <cstring>

#include "acorn/half.h"
#include "matmul_internal.h"
#include "reference_kernels.h"

namespace acorn {
namespace cpu {
namespace internal {

void QuantizeRowScalar(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4) {
  // Through the reference quantizer, so that the quants are its quants by construction.
  for (int64_t b = 0; b < K / kQBlock; ++b) {
    BlockQ8_0 block;
    ref::QuantizeRowQ8_0(x + b * kQBlock, &block, kQBlock);
    std::memcpy(q + b * kQBlock, block.q, kQBlock);
    d[b] = F16ToF32(block.scale);
    for (int g = 0; g < kQBlock / 4; ++g) {
      const int8_t* p = block.q + 4 * g;
      nsum4[b * (kQBlock / 4) + g] = -(p[0] + p[1] + p[2] + p[3]);
    }
  }
}

void QuantizeRowQ8KScalar(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4) {
  for (int64_t sb = 0; sb < K / kQKBlock; ++sb) {
    float dk;
    ref::QuantizeRowQ8_K(x + sb * kQKBlock, q + sb * kQKBlock, &dk, kQKBlock);
    for (int b = 0; b < kQKBlock / kQBlock; ++b) d[sb * (kQKBlock / kQBlock) + b] = dk;
  }
  for (int64_t g = 0; g < K / 4; ++g) nsum4[g] = -(q[4 * g] + q[4 * g + 1] + q[4 * g + 2] + q[4 * g + 3]);
}

namespace {

float Finish(float acc, const MatMulArgs& a, int64_t n) { return acc + (a.bias ? a.bias[n] : 0.0f); }

void RowsF32(const MatMulArgs& a, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const float* w = reinterpret_cast<const float*>(a.w + n * a.w_row_bytes);
    for (int64_t t = 0; t < a.T; ++t) {
      const float* x = a.x + t * a.K;
      float acc = 0.0f;
      for (int64_t k = 0; k < a.K; ++k) acc += x[k] * w[k];
      a.y[t * a.N + n] = Finish(acc, a, n);
    }
  }
}

void RowsF16(const MatMulArgs& a, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint16_t* w = reinterpret_cast<const uint16_t*>(a.w + n * a.w_row_bytes);
    for (int64_t t = 0; t < a.T; ++t) {
      const float* x = a.x + t * a.K;
      float acc = 0.0f;
      for (int64_t k = 0; k < a.K; ++k) acc += x[k] * F16ToF32(w[k]);
      a.y[t * a.N + n] = Finish(acc, a, n);
    }
  }
}

void RowsQ8_0(const MatMulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / kQBlock;
  for (int64_t n = n0; n < n1; ++n) {
    const BlockQ8_0* w = reinterpret_cast<const BlockQ8_0*>(a.w + n * a.w_row_bytes);
    for (int64_t t = 0; t < a.T; ++t) {
      const int8_t* xq = a.xq + t * a.K;
      const float* xd = a.xd + t * nb;
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < kQBlock; ++j) isum += w[b].q[j] * xq[b * kQBlock + j];
        acc += static_cast<float>(isum) * (F16ToF32(w[b].scale) * xd[b]);
      }
      a.y[t * a.N + n] = Finish(acc, a, n);
    }
  }
}

void RowsQ4_0(const MatMulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / kQBlock;
  for (int64_t n = n0; n < n1; ++n) {
    const BlockQ4_0* w = reinterpret_cast<const BlockQ4_0*>(a.w + n * a.w_row_bytes);
    for (int64_t t = 0; t < a.T; ++t) {
      const int8_t* xq = a.xq + t * a.K;
      const float* xd = a.xd + t * nb;
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const int8_t* xb = xq + b * kQBlock;
        int32_t isum = 0;
        for (int j = 0; j < kQBlock / 2; ++j) {
          isum += ((w[b].q[j] & 0x0f) - 8) * xb[j];
          isum += ((w[b].q[j] >> 4) - 8) * xb[j + kQBlock / 2];
        }
        acc += static_cast<float>(isum) * (F16ToF32(w[b].scale) * xd[b]);
      }
      a.y[t * a.N + n] = Finish(acc, a, n);
    }
  }
}

void RowsQ4_K(const MatMulArgs& a, int64_t n0, int64_t n1) { RowsGroups(DType::kQ4_K, a, n0, n1); }
void RowsQ5_K(const MatMulArgs& a, int64_t n0, int64_t n1) { RowsGroups(DType::kQ5_K, a, n0, n1); }
void RowsQ6_K(const MatMulArgs& a, int64_t n0, int64_t n1) { RowsGroups(DType::kQ6_K, a, n0, n1); }

}  // namespace

// Every type with ref::QuantGroupOf: each 32-group of a weight row is unpacked once and used for
// every token; y accumulates in place, so that no per-token buffer is needed.
void RowsGroups(DType wtype, const MatMulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / kQBlock;
  const bool q8_1 = ref::TakesQ8_1Activations(wtype);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.w_row_bytes;
    for (int64_t t = 0; t < a.T; ++t) a.y[t * a.N + n] = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
      ref::QuantGroup g;
      ref::QuantGroupOf(wtype, w, b, &g);
      for (int64_t t = 0; t < a.T; ++t) {
        const int8_t* xb = a.xq + t * a.K + b * kQBlock;
        // One half at a time into locals: a sum indexed by j / 16 stays in memory, one
        // load-add-store chain per element (measured 10x slower than these vectorized loops).
        int32_t isum[2], xsum[2];
        for (int h = 0; h < 2; ++h) {
          int32_t is = 0, xs = 0;
          for (int j = 16 * h; j < 16 * h + 16; ++j) {
            is += (g.u[j] - g.offset) * xb[j];
            xs += xb[j];
          }
          isum[h] = is;
          xsum[h] = xs;
        }
        const float dx = a.xd[t * nb + b];
        float v = 0.0f;
        for (int h = 0; h < 2; ++h) {
          v += static_cast<float>(isum[h]) * (g.scale[h] * dx);
          if (!q8_1) v -= static_cast<float>(xsum[h]) * (g.min[h] * dx);
        }
        if (q8_1) v -= g.min[0] * a.xds[t * nb + b];  // Q4_1/Q5_1: the minimum meets s
        a.y[t * a.N + n] += v;
      }
    }
    for (int64_t t = 0; t < a.T; ++t) a.y[t * a.N + n] = Finish(a.y[t * a.N + n], a, n);
  }
}

void RowsGroupsScalar(const MatMulArgs& a, int64_t n0, int64_t n1) { RowsGroups(a.wtype, a, n0, n1); }

const KernelSet& ScalarKernels() {
  static const KernelSet set = {RowsF32, RowsF16, RowsQ8_0, RowsQ4_0, QuantizeRowScalar, 1,
                                RowsQ4_K, RowsQ5_K, RowsQ6_K, nullptr, 0, nullptr, nullptr, nullptr, false,
                                RowsGroupsScalar, RowsGroupsScalar, RowsGroupsScalar,
                                RowsGroupsScalar, RowsGroupsScalar, RowsGroupsScalar, RowsGroupsScalar};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

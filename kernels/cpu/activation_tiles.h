// Private to kernels/cpu: element-wise activations (GELU, SwiGLU) over a float vector policy F (see
// x86_float_ops.h), instantiated by each ISA's file. The reference computes them with the C
// library's erf and exp one element at a time, which costs a prompt more than its attention:
// here exp is F::Exp and erf is Abramowitz and Stegun's 7.1.26 (|error| <= 1.5e-7), so results
// differ from the reference by a few ulp, not bit for bit.
#pragma once

#include <cstdint>

namespace acorn {
namespace cpu {
namespace internal {
namespace {

template <class F>
struct ActivationKernels {
  using V = typename F::V;
  static constexpr int W = F::kWidth;

  static V Erf(V x) {
    const V t = F::Div(F::Set1(1.0f), F::Fma(F::Set1(0.3275911f), F::Abs(x), F::Set1(1.0f)));
    V r = F::Set1(1.061405429f);
    r = F::Fma(r, t, F::Set1(-1.453152027f));
    r = F::Fma(r, t, F::Set1(1.421413741f));
    r = F::Fma(r, t, F::Set1(-0.284496736f));
    r = F::Fma(r, t, F::Set1(0.254829592f));
    const V e = F::Exp(F::Sub(F::Zero(), F::Mul(x, x)));
    // 1 - t * r * e^(-x^2), with the sign of x.
    const V y = F::Sub(F::Set1(1.0f), F::Mul(F::Mul(t, r), e));
    return F::Xor(y, F::SignOf(x));
  }
  static V GeluV(V x) {
    const V e = Erf(F::Mul(x, F::Set1(0.70710678118654752f)));
    return F::Mul(F::Mul(F::Set1(0.5f), x), F::Add(F::Set1(1.0f), e));
  }
  static V SwiGluV(V g, V up) {
    const V sig = F::Add(F::Set1(1.0f), F::Exp(F::Sub(F::Zero(), g)));
    return F::Mul(F::Div(g, sig), up);
  }

  // The tail goes through the same vector code on a zero-padded copy, so that an element's result
  // never depends on where it sits.
  static void Gelu(const float* x, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + W <= n; i += W) F::Store(out + i, GeluV(F::Load(x + i)));
    if (i < n) {
      float buf[W] = {};
      for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
      F::Store(buf, GeluV(F::Load(buf)));
      for (int64_t j = i; j < n; ++j) out[j] = buf[j - i];
    }
  }
  static void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + W <= n; i += W) F::Store(out + i, SwiGluV(F::Load(gate + i), F::Load(up + i)));
    if (i < n) {
      float g[W] = {}, u[W] = {};
      for (int64_t j = i; j < n; ++j) g[j - i] = gate[j], u[j - i] = up[j];
      F::Store(g, SwiGluV(F::Load(g), F::Load(u)));
      for (int64_t j = i; j < n; ++j) out[j] = g[j - i];
    }
  }
};

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

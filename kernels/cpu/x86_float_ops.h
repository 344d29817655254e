// Private to kernels/cpu: float vector policies for the x86 kernel files, one per vector width.
// Each is defined only where its ISA is enabled (the file's own -m flags), so a file includes this
// and gets the policy it was compiled for; everything has internal linkage (see matmul_tiles.h).
//
// A policy provides V (kWidth float lanes), Zero, Set1, Load (float, or fp16 widened), Store, Add,
// Sub, Mul, Div, Max, Fma(a, b, c) = a*b+c, Abs, SignOf (the sign bit alone), Xor, HSum, HMax, Exp,
// and Widen (one element, as Load).
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>

#include "acorn/half.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// exp(x): Cephes' expf, x = n*ln2 + r with |r| <= ln2/2 and a degree-6 polynomial for e^r, within
// 2 ulp of std::exp; below -87.3 (where expf leaves the normal range) and for -inf the result is 0,
// and it overflows to +inf where std::exp does (from 88.73; x is clamped to 89 so that n stays
// finite).
struct ExpConstants {
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f;
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr float kMin = -87.3f;
  static constexpr float kMax = 89.0f;
  static constexpr float kP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                  4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
};

#if defined(__AVX2__) && defined(__FMA__)
inline float HSum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

struct Avx2FOps {
  using V = __m256;
  static constexpr int kWidth = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Set1(float v) { return _mm256_set1_ps(v); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static V Load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V Div(V a, V b) { return _mm256_div_ps(a, b); }
  static V Abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V SignOf(V a) { return _mm256_and_ps(_mm256_set1_ps(-0.0f), a); }
  static V Xor(V a, V b) { return _mm256_xor_ps(a, b); }
  static V Max(V a, V b) { return _mm256_max_ps(a, b); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float HSum(V v) { return HSum256(v); }
  static float HMax(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static V Exp(V x) {
    using C = ExpConstants;
    const V small = _mm256_cmp_ps(x, Set1(C::kMin), _CMP_LT_OQ);  // also true for -inf
    x = _mm256_min_ps(_mm256_max_ps(x, Set1(C::kMin)), Set1(C::kMax));
    const V n = _mm256_round_ps(_mm256_mul_ps(x, Set1(C::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, Set1(C::kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, Set1(C::kLn2Lo), r);
    V p = Set1(C::kP[0]);
    for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, Set1(C::kP[i]));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, Set1(1.0f)));
    // -126 <= n <= 128: 2^n as 2^(n/2) * 2^(n - n/2), two normal floats (exponent field m + 127).
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const __m256 e2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_andnot_ps(small, _mm256_mul_ps(_mm256_mul_ps(p, e1), e2));
  }
  static float Widen(float v) { return v; }
  static float Widen(uint16_t v) { return F16ToF32(v); }
};
#endif

#if defined(__AVX512F__)
struct Avx512FOps {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Set1(float v) { return _mm512_set1_ps(v); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static V Load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Div(V a, V b) { return _mm512_div_ps(a, b); }
  static V Abs(V a) { return _mm512_abs_ps(a); }
  static V SignOf(V a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
  }
  static V Xor(V a, V b) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
  static V Max(V a, V b) { return _mm512_max_ps(a, b); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float HSum(V v) { return _mm512_reduce_add_ps(v); }
  static float HMax(V v) { return _mm512_reduce_max_ps(v); }
  static V Exp(V x) {
    using C = ExpConstants;
    const __mmask16 keep = _mm512_cmp_ps_mask(x, Set1(C::kMin), _CMP_GE_OQ);  // false for -inf
    x = _mm512_min_ps(_mm512_max_ps(x, Set1(C::kMin)), Set1(C::kMax));
    const V n = _mm512_roundscale_ps(_mm512_mul_ps(x, Set1(C::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, Set1(C::kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, Set1(C::kLn2Lo), r);
    V p = Set1(C::kP[0]);
    for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, Set1(C::kP[i]));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, Set1(1.0f)));
    return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n));
  }
  static float Widen(float v) { return v; }
  static float Widen(uint16_t v) { return F16ToF32(v); }
};
#endif

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __x86_64__

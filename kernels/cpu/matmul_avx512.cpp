// MatMul kernels for AVX-512 (F/BW/VL/DQ/VNNI) + FMA + F16C. Integer products use VNNI's
// vpdpbusd on 256-bit vectors (one Q8_0 block each: see x86_matmul_tiles.h for why not 512);
// float weights, bound by loads rather than ports, use 512-bit vectors.
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined operands as uninitialized
// (GCC bug 105593, fixed in 13); nothing in this file reads an uninitialized value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "acorn/half.h"
#include "x86_kquant_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

struct Avx512Ops {
  // [q & 0x0f, q & 0xf0]: the high nibbles stay in place, worth 16 times their value, which
  // saves the shift (ports 0 and 1 are this loop's limit). vpdpbusd has no int16 stage to
  // saturate, and the float lanes that hold them are scaled by 1/16 at the end, exactly.
  static __m256i UnpackQ4(const uint8_t* q16) {
    const __m256i z = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q16)));
    return _mm256_and_si256(z, _mm256_setr_epi64x(0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f,
                                                  static_cast<long long>(0xf0f0f0f0f0f0f0f0ULL),
                                                  static_cast<long long>(0xf0f0f0f0f0f0f0f0ULL)));
  }
  // -8 * sums for the low half; -8 * 16 for the high half.
  static __m256i Q4Init(__m256i nsum4) { return _mm256_sllv_epi32(nsum4, _mm256_setr_epi32(3, 3, 3, 3, 7, 7, 7, 7)); }
  static __m256 Q4Finish(__m256 acc) {
    return _mm256_mul_ps(acc, _mm256_setr_ps(1, 1, 1, 1, 1.0f / 16, 1.0f / 16, 1.0f / 16, 1.0f / 16));
  }
  static __m256i DotQ4(__m256i init, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(init, u, s); }
  // vpdpbusd wants an unsigned operand: w + 128 (flip the sign bit), and the extra 128*sum(x)
  // is taken back through init (per 4-element lane).
  struct Q8W {
    __m256i w_plus_128;
  };
  static Q8W PrepQ8(__m256i w) { return {_mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)))}; }
  static constexpr int kQ8Offset = 128;
  static __m256i GroupSums4(__m256i q) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), q);
  }
  static __m256i DotQ8(__m256i init, const Q8W& pw, __m256i x) {
    return _mm256_dpbusd_epi32(init, pw.w_plus_128, x);
  }
};

struct Avx512FOps {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static V Load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float HSum(V v) { return _mm512_reduce_add_ps(v); }
  static float Widen(float v) { return v; }
  static float Widen(uint16_t v) { return F16ToF32(v); }
};

// 32 registers: 4 rows x 4 tokens of accumulators.
constexpr int kRows = 4;
constexpr int kToks = 4;

}  // namespace

const KernelSet& Avx512Kernels() {
  static const KernelSet set = {
      RowsF<Avx512FOps, float, kRows, kToks>, RowsF<Avx512FOps, uint16_t, kRows, kToks>,
      RowsQ8<Avx512Ops, kRows, kToks>,        RowsQ4<Avx512Ops, kRows, kToks>,
      QuantizeRowX86<Avx512Ops>,              kDecodeRows,
      RowsK<Avx512Ops, kRows, kToks, DType::kQ4_K>, RowsK<Avx512Ops, kRows, kToks, DType::kQ5_K>,
      RowsK<Avx512Ops, kRows, kToks, DType::kQ6_K>};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

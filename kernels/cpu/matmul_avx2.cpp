// MatMul kernels for AVX2 + FMA + F16C (compiled with those flags only; chosen at run time).
#include "matmul_internal.h"

#if defined(ACORN_X86_KERNELS)
#include "acorn/half.h"
#include "x86_kquant_tiles.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

struct Avx2Ops {
  // [q, q >> 4] & 0x0f: the broadcast load needs no shuffle port.
  static __m256i UnpackQ4(const uint8_t* q16) { return SplitNibbles(q16); }
  static __m256i Q4Init(__m256i nsum4) { return _mm256_slli_epi32(nsum4, 3); }
  static __m256 Q4Finish(__m256 acc) { return acc; }
  // maddubs gives int16 pairs (no saturation: 15*127*2 and 128*127*2 fit), madd widens to int32.
  static __m256i DotQ4(__m256i init, __m256i u, __m256i s) {
    return _mm256_add_epi32(init, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  // maddubs needs one unsigned operand: |w| times x with w's sign moved onto it.
  struct Q8W {
    __m256i abs_w, w;
  };
  static Q8W PrepQ8(__m256i w) { return {_mm256_abs_epi8(w), w}; }
  static constexpr int kQ8Offset = 0;
  static __m256i GroupSums4(__m256i q) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
  }
  static __m256i DotQ8(__m256i init, const Q8W& pw, __m256i x) {
    const __m256i p = _mm256_maddubs_epi16(pw.abs_w, _mm256_sign_epi8(x, pw.w));
    return _mm256_add_epi32(init, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
};

// 16 ymm registers: 4 rows x 2 tokens of accumulators leaves room for operands.
constexpr int kRows = 4;
constexpr int kToks = 2;

}  // namespace

const KernelSet& Avx2Kernels() {
  static const KernelSet set = {
      RowsF<Avx2FOps, float, kRows, kToks>, RowsF<Avx2FOps, uint16_t, kRows, kToks>,
      RowsQ8<Avx2Ops, kRows, kToks>,        RowsQ4<Avx2Ops, kRows, kToks>,
      QuantizeRowX86<Avx2Ops>,              kDecodeRows,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ4_K>, RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ5_K>,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ6_K>, nullptr, kRowPanelTokensAvx2, nullptr, nullptr, RowPanelsAvx2, true,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ2_K>, RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ3_K>,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kIQ4_XS>,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ4_1>,   RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ5_0>,
      RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kQ5_1>,   RowsGroupTiles<Avx2Ops, kRows, kToks, DType::kIQ4_NL>};
  return set;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

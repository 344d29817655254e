// Private to kernels/cpu: the 4- and 5-bit quants of weights repacked in 16-row panels
// (matmul_panels.h), 64 bytes at a time on AVX-512. Shared by the AVX-512 panel kernels, which
// multiply them as they come, and the AMX kernels, which unpack a panel once into tile rows.
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// The 64 bytes at v (4 bytes of each of 16 rows) as their low and high nibbles, one byte each;
// where the type has fifth bits, mask_lo and mask_hi point at their 64-bit masks for the two (bit
// 4r + i for row r's byte i), and 16 is added where a bit is set. Null masks: 4-bit types (a
// constant at every call, so the test folds away).
__attribute__((always_inline)) inline void PanelNibbles(const uint8_t* v, const uint8_t* mask_lo, const uint8_t* mask_hi,
                                                        __m512i* lo, __m512i* hi) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m512i bytes = _mm512_loadu_si512(v);
  *lo = _mm512_and_si512(bytes, low4);
  *hi = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4);
  if (mask_lo != nullptr) {
    uint64_t mlo, mhi;
    std::memcpy(&mlo, mask_lo, 8);
    std::memcpy(&mhi, mask_hi, 8);
    const __m512i sixteen = _mm512_set1_epi8(16);
    *lo = _mm512_mask_add_epi8(*lo, _cvtu64_mask64(mlo), *lo, sixteen);
    *hi = _mm512_mask_add_epi8(*hi, _cvtu64_mask64(mhi), *hi, sixteen);
  }
}

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

#endif  // __x86_64__

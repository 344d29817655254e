// Bytes of one stored row of K elements, for the dtypes kernels read. Kept header-only so that
// the kernel libraries need no compiled part of the runtime (dtype.cpp's RowBytes is the checked
// version the loader uses; this one trusts shapes the loader has already checked).
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"

namespace acorn {
namespace kernels {

inline size_t StoredRowBytes(DType dtype, int64_t K) {
  const size_t k = static_cast<size_t>(K);
  switch (dtype) {
    case DType::kF32:
    case DType::kI32: return k * 4;
    case DType::kF16:
    case DType::kBF16: return k * 2;
    case DType::kI8: return k;
    case DType::kQ8_0: return k / kQBlock * sizeof(BlockQ8_0);
    case DType::kQ4_0: return k / kQBlock * sizeof(BlockQ4_0);
    case DType::kQ4_1: return k / kQBlock * sizeof(BlockQ4_1);
    case DType::kQ5_0: return k / kQBlock * sizeof(BlockQ5_0);
    case DType::kQ5_1: return k / kQBlock * sizeof(BlockQ5_1);
    case DType::kQ2_K: return k / kQKBlock * sizeof(BlockQ2_K);
    case DType::kQ3_K: return k / kQKBlock * sizeof(BlockQ3_K);
    case DType::kQ4_K: return k / kQKBlock * sizeof(BlockQ4_K);
    case DType::kQ5_K: return k / kQKBlock * sizeof(BlockQ5_K);
    case DType::kQ6_K: return k / kQKBlock * sizeof(BlockQ6_K);
    case DType::kIQ4_NL: return k / kQBlock * sizeof(BlockIQ4_NL);
    case DType::kIQ4_XS: return k / kQKBlock * sizeof(BlockIQ4_XS);
  }
  return 0;
}

}  // namespace kernels
}  // namespace acorn

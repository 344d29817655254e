// Token embedding lookup and the pooling that turns encoder hidden states into one vector.
#include <cmath>
#include <cstring>
#include <string>

#include "reference_kernels.h"
#include "row_bytes.h"

namespace acorn {
namespace ref {

Status Embedding(const void* table, DType dtype, int64_t V, int64_t H, const int32_t* ids,
                 int64_t T, float* out) {
  const size_t row_bytes = kernels::StoredRowBytes(dtype, H);
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= V) {
      // Built without StrFormat so that this library needs no compiled part of the runtime.
      return Status(ErrorCode::kOutOfRange, "embedding: token id " + std::to_string(ids[t]) +
                                                " at position " + std::to_string(t) +
                                                " is outside the vocabulary of " +
                                                std::to_string(V));
    }
    const uint8_t* row = static_cast<const uint8_t*>(table) + static_cast<size_t>(ids[t]) * row_bytes;
    if (!DequantizeRow(dtype, row, out + t * H, H)) {
      return Status(ErrorCode::kUnsupported, "embedding: table dtype holds no floats");
    }
  }
  return Status::Ok();
}

void Pool(PoolKind kind, const float* x, int64_t T, int64_t H, const float* mask, float* out) {
  if (kind == PoolKind::kFirst) {
    std::memcpy(out, x, static_cast<size_t>(H) * sizeof(float));
    return;
  }
  double count = 0.0;
  for (int64_t t = 0; t < T; ++t) count += mask ? mask[t] : 1.0f;
  const double denom = std::fmax(count, 1e-9);
  for (int64_t i = 0; i < H; ++i) {
    double sum = 0.0;
    for (int64_t t = 0; t < T; ++t) sum += static_cast<double>(mask ? mask[t] : 1.0f) * x[t * H + i];
    out[i] = static_cast<float>(sum / denom);
  }
}

}  // namespace ref
}  // namespace acorn

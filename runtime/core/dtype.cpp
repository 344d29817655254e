#include "acorn/dtype.h"

#include <cstring>

namespace acorn {

namespace {
// Indexed by the DType value; the schema's enum uses the same numbers.
constexpr DTypeInfo kTable[kDTypeCount] = {
    {DType::kF32, "f32", 1, 4, false},
    {DType::kF16, "f16", 1, 2, false},
    {DType::kBF16, "bf16", 1, 2, false},
    {DType::kQ8_0, "q8_0", kQBlock, sizeof(BlockQ8_0), true},
    {DType::kQ4_0, "q4_0", kQBlock, sizeof(BlockQ4_0), true},
    {DType::kI32, "i32", 1, 4, false},
    {DType::kI8, "i8", 1, 1, false},
    {DType::kQ4_1, "q4_1", kQBlock, sizeof(BlockQ4_1), true},
    {DType::kQ5_0, "q5_0", kQBlock, sizeof(BlockQ5_0), true},
    {DType::kQ5_1, "q5_1", kQBlock, sizeof(BlockQ5_1), true},
    {DType::kQ2_K, "q2_k", kQKBlock, sizeof(BlockQ2_K), true},
    {DType::kQ3_K, "q3_k", kQKBlock, sizeof(BlockQ3_K), true},
    {DType::kQ4_K, "q4_k", kQKBlock, sizeof(BlockQ4_K), true},
    {DType::kQ5_K, "q5_k", kQKBlock, sizeof(BlockQ5_K), true},
    {DType::kQ6_K, "q6_k", kQKBlock, sizeof(BlockQ6_K), true},
    {DType::kIQ4_NL, "iq4_nl", kQBlock, sizeof(BlockIQ4_NL), true},
    {DType::kIQ4_XS, "iq4_xs", kQKBlock, sizeof(BlockIQ4_XS), true},
};
}  // namespace

const DTypeInfo* FindDType(uint32_t raw) { return raw < kDTypeCount ? &kTable[raw] : nullptr; }

const DTypeInfo& GetDTypeInfo(DType dtype) { return kTable[static_cast<int>(dtype)]; }

const char* DTypeName(DType dtype) { return GetDTypeInfo(dtype).name; }

bool ParseDType(const char* name, DType* out) {
  for (const DTypeInfo& info : kTable) {
    if (std::strcmp(info.name, name) == 0) {
      *out = info.dtype;
      return true;
    }
  }
  return false;
}

bool RowBytes(DType dtype, uint64_t elems, uint64_t* bytes) {
  const DTypeInfo& info = GetDTypeInfo(dtype);
  if (elems % info.block_elems != 0) return false;
  const uint64_t blocks = elems / info.block_elems;
  if (blocks != 0 && info.block_bytes > UINT64_MAX / blocks) return false;
  *bytes = blocks * info.block_bytes;
  return true;
}

}  // namespace acorn

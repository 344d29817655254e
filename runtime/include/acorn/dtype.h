// The one dtype table: every element type acorn stores, with its block geometry. Sizes of tensors,
// validation in the loader, the writer and the kernel table all read from here. The numbering
// matches schema/acorn.fbs (checked by static_assert where the generated code is included).
#pragma once

#include <cstddef>
#include <cstdint>

namespace acorn {

// Values are appended, never renumbered (the schema's rule); GGUF's legacy types follow i8.
enum class DType : uint8_t {
  kF32 = 0,
  kF16 = 1,
  kBF16 = 2,
  kQ8_0 = 3,
  kQ4_0 = 4,
  kI32 = 5,
  kI8 = 6,
  kQ4_1 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
};

constexpr int kDTypeCount = 10;

struct DTypeInfo {
  DType dtype;
  const char* name;      // as the tools print and parse it: "f32", "q4_0", ...
  uint32_t block_elems;  // elements per block (1 for plain types)
  uint32_t block_bytes;  // bytes per block
  bool quantized;
};

// nullptr for a value outside the table (an unknown dtype read from a file).
const DTypeInfo* FindDType(uint32_t raw);
const DTypeInfo& GetDTypeInfo(DType dtype);
const char* DTypeName(DType dtype);
// Parses a name as printed by DTypeName; false when unknown.
bool ParseDType(const char* name, DType* out);

// Bytes for a row of `elems` elements; false when elems is not a whole number of blocks or the
// product overflows.
bool RowBytes(DType dtype, uint64_t elems, uint64_t* bytes);

// Quantized block layouts, byte-identical to GGUF's.
constexpr int kQBlock = 32;
struct BlockQ8_0 {
  uint16_t scale;  // fp16 bits
  int8_t q[kQBlock];
};
struct BlockQ4_0 {
  uint16_t scale;  // fp16 bits
  uint8_t q[kQBlock / 2];  // byte j: element j (low nibble), element j+16 (high nibble)
};
// value = d * nibble + m; nibbles as in Q4_0.
struct BlockQ4_1 {
  uint16_t scale;  // fp16 bits: d
  uint16_t min;    // fp16 bits: m
  uint8_t q[kQBlock / 2];
};
// value = d * ((nibble | bit << 4) - 16): the low four bits as in Q4_0, the fifth bit of element j
// in bit j of qh (little-endian).
struct BlockQ5_0 {
  uint16_t scale;  // fp16 bits
  uint8_t qh[4];
  uint8_t q[kQBlock / 2];
};
// value = d * (nibble | bit << 4) + m; bits as in Q5_0.
struct BlockQ5_1 {
  uint16_t scale;  // fp16 bits: d
  uint16_t min;    // fp16 bits: m
  uint8_t qh[4];
  uint8_t q[kQBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block must be 20 bytes");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block must be 22 bytes");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block must be 24 bytes");

}  // namespace acorn

// The one dtype table: every element type acorn stores, with its block geometry. Sizes of tensors,
// validation in the loader, the writer and the kernel table all read from here. The numbering
// matches schema/acorn.fbs (checked by static_assert where the generated code is included).
#pragma once

#include <cstddef>
#include <cstdint>

namespace acorn {

// Values are appended, never renumbered (the schema's rule); GGUF's legacy types follow i8, then
// the K-quants and IQ4.
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
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 15,
  kIQ4_XS = 16,
};

constexpr int kDTypeCount = 17;

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

// ---- K-quants: super-blocks of 256 values (ggml's QK_K), split into sub-blocks with their own
// 4- to 8-bit scales. Field order and sizes are ggml's block_q*_K; the comments give ggml's
// dequantization, which ref::DequantizeRow follows operation for operation.
constexpr int kQKBlock = 256;
constexpr int kKScaleBytes = 12;  // 8 six-bit scales and 8 six-bit minimums, packed (q4_K, q5_K)

// 16 sub-blocks of 16: value = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q of 2 bits.
// qs byte l of each 32-byte group holds four elements, at shifts 0, 2, 4, 6.
struct BlockQ2_K {
  uint8_t scales[kQKBlock / 16];
  uint8_t qs[kQKBlock / 4];
  uint16_t d;     // fp16 bits
  uint16_t dmin;  // fp16 bits
};
// 16 sub-blocks of 16: value = d * (scale6 - 32) * (q2 - (hmask bit ? 0 : 4)); the sixteen 6-bit
// scales are packed in 12 bytes (low nibbles in bytes 0..7, high pairs in bytes 8..11).
struct BlockQ3_K {
  uint8_t hmask[kQKBlock / 8];
  uint8_t qs[kQKBlock / 4];
  uint8_t scales[12];
  uint16_t d;  // fp16 bits
};
// 8 sub-blocks of 32: value = d * sc * q - dmin * m, q of 4 bits, sc and m of 6 bits packed in
// `scales` (ggml's get_scale_min_k4).
struct BlockQ4_K {
  uint16_t d;     // fp16 bits
  uint16_t dmin;  // fp16 bits
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQKBlock / 2];
};
// As Q4_K with a fifth bit per element in qh.
struct BlockQ5_K {
  uint16_t d;     // fp16 bits
  uint16_t dmin;  // fp16 bits
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQKBlock / 8];
  uint8_t qs[kQKBlock / 2];
};
// 16 sub-blocks of 16: value = d * scales[s] * (q - 32), q of 6 bits (4 in ql, 2 in qh).
struct BlockQ6_K {
  uint8_t ql[kQKBlock / 2];
  uint8_t qh[kQKBlock / 4];
  int8_t scales[kQKBlock / 16];
  uint16_t d;  // fp16 bits
};
// ---- IQ4: 4-bit indices into a fixed non-linear table of 16 levels (kIQ4Levels).
// IQ4_NL: blocks of 32, value = d * level[nibble]; nibble order as in Q4_0.
struct BlockIQ4_NL {
  uint16_t d;  // fp16 bits
  uint8_t qs[kQBlock / 2];
};
// IQ4_XS: super-blocks of 256 in 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l,
// high 2 bits in scales_h): value = d * (scale - 32) * level[nibble].
struct BlockIQ4_XS {
  uint16_t d;  // fp16 bits
  uint16_t scales_h;
  uint8_t scales_l[kQKBlock / 64];
  uint8_t qs[kQKBlock / 2];
};
// ggml's kvalues_iq4nl.
constexpr int8_t kIQ4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block must be 20 bytes");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block must be 22 bytes");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block must be 24 bytes");
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block must be 84 bytes");
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block must be 110 bytes");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block must be 176 bytes");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes");
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block must be 18 bytes");
static_assert(sizeof(BlockIQ4_XS) == 136, "IQ4_XS block must be 136 bytes");

}  // namespace acorn

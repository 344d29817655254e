// Reading GGUF files (llama.cpp's model format, versions 2 and 3): the key/value metadata, the
// tensor table and the tensor data, in place from a mapped file. The parser trusts nothing in the
// file: every count, length, dimension and offset is checked against the bytes that are really
// there before it is used, so a truncated or hostile file yields a Status, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acorn/platform.h"
#include "acorn/status.h"

namespace acorn {
namespace convert {

// Metadata value types, numbered as in the GGUF specification.
enum class GgufValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
  kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

// ggml tensor types acorn can import (the numbering is ggml's); others are only named in errors.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ2_K = 10, kQ3_K = 11, kQ4_K = 12,
  kQ5_K = 13, kQ6_K = 14, kIQ4_NL = 20, kIQ4_XS = 23, kBF16 = 30,
};

// "Q4_K", "F16", ...; "type 123" for a number ggml does not define.
std::string GgmlTypeName(uint32_t type);

// One metadata value. Scalars fill the field of their kind; arrays of scalars or strings fill the
// vector of their element kind (nested arrays are checked and skipped: llama models use none).
struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  GgufValueType elem_type = GgufValueType::kUint8;  // arrays only
  uint64_t count = 0;                                // arrays only
  int64_t i = 0;      // every integer type and bool
  uint64_t u = 0;     // the same integer, unsigned (uint64 values above INT64_MAX)
  double f = 0;       // float32/float64
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool IsInteger() const;
  bool IsFloat() const { return type == GgufValueType::kFloat32 || type == GgufValueType::kFloat64; }
  bool IsArrayOf(GgufValueType t) const { return type == GgufValueType::kArray && elem_type == t; }
  // "uint32", "array of string", ...
  std::string TypeName() const;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // innermost first: ne[0] is the row length
  uint32_t type = 0;         // ggml type number
  uint64_t offset = 0;       // from the start of the data section
  uint64_t bytes = 0;        // 0 when the type's size is unknown
  const uint8_t* data = nullptr;  // nullptr when the type's size is unknown

  uint64_t Elements() const;
  uint64_t Rows() const { return ne.empty() ? 0 : Elements() / ne[0]; }
};

class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses bytes that stay owned by the caller (tests, fuzzing); `label` names them in errors.
  static Result<std::unique_ptr<GgufFile>> Parse(const uint8_t* data, size_t size, const std::string& label);

  uint32_t version() const { return version_; }
  const std::string& label() const { return label_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  const GgufValue* Find(const std::string& key) const;
  const GgufTensor* FindTensor(const std::string& name) const;

  // Typed look-ups: `fallback` when the key is absent, an error naming the key when it holds a
  // value of another type (or an integer out of range).
  Result<int64_t> GetInt(const std::string& key, int64_t fallback) const;
  Result<double> GetFloat(const std::string& key, double fallback) const;
  Result<std::string> GetString(const std::string& key, const std::string& fallback) const;
  Result<bool> GetBool(const std::string& key, bool fallback) const;

 private:
  GgufFile() = default;
  Status ParseAll(const uint8_t* data, size_t size);

  platform::MappedFile file_;
  std::string label_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace convert
}  // namespace acorn

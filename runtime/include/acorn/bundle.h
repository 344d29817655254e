// Bundle: a verified, read-only view of one .acorn file. Opening a bundle maps the file (or takes the
// caller's buffer), runs the FlatBuffers verifier and then every semantic check the format has
// (offsets and sizes inside the file, sizes consistent with dtype and shape, op arity and attributes,
// unknown enum values, duplicate names, overlapping segments, arithmetic overflow), and decompresses
// zstd segments once. A Bundle that opened is safe to use: later stages trust what it describes.
// Constant tensors in uncompressed segments point straight into the mapping (zero-copy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acorn/dtype.h"
#include "acorn/platform.h"
#include "acorn/span.h"
#include "acorn/status.h"

namespace acorn {

namespace fb {
struct Bundle;
}

// The schema version this build reads and writes.
constexpr uint32_t kSchemaVersion = 1;
// Alignment rules of the format (docs/FORMAT.md).
constexpr uint64_t kSegmentAlignment = 4096;
constexpr uint64_t kTensorAlignment = 64;
// Shape value that stands for "tokens in this step".
constexpr int64_t kTokensDim = -1;
constexpr int kMaxRank = 6;

enum class Storage : uint8_t { kConstant = 0, kPlanned = 1, kState = 2, kInput = 3, kOutput = 4 };
const char* StorageName(Storage storage);

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

struct SegmentDesc {
  uint64_t file_offset = 0;
  uint64_t stored_size = 0;
  uint64_t size = 0;  // uncompressed
  Compression compression = Compression::kNone;
  const uint8_t* data = nullptr;  // uncompressed bytes: into the file, or owned by the Bundle
};

struct TensorDesc {
  const char* name = "";  // points into the bundle; lives as long as the Bundle
  DType dtype = DType::kF32;
  Storage storage = Storage::kConstant;
  int rank = 0;
  int64_t shape[kMaxRank] = {};  // kTokensDim at symbolic_axis
  int symbolic_axis = -1;
  uint64_t max_bytes = 0;  // bytes with the symbolic dimension at Graph max_tokens
  // Constant tensors only.
  uint32_t segment = 0;
  uint64_t offset = 0;
  const uint8_t* data = nullptr;

  // Number of elements with the symbolic dimension set to `tokens`.
  uint64_t Elements(int64_t tokens) const;
  // Size of dimension `axis` with the symbolic dimension set to `tokens`.
  int64_t Dim(int axis, int64_t tokens) const { return axis == symbolic_axis ? tokens : shape[axis]; }
};

struct OpDesc {
  uint16_t kind = 0;  // acorn::fb::OpKind
  const char* name = "";
  std::vector<uint32_t> inputs;
  std::vector<uint32_t> outputs;
  const void* attrs = nullptr;  // the fb attribute table matching kind, or nullptr
  uint32_t attrs_type = 0;      // acorn::fb::OpAttrs value
};

enum class LoadMode {
  kMap,   // mmap the file: constants are used in place (default)
  kRead,  // read the file into memory: for file systems that cannot map
};

class Bundle {
 public:
  // Opens and verifies a file.
  static Result<std::unique_ptr<Bundle>> Open(const char* path, LoadMode mode = LoadMode::kMap);
  // Verifies a caller-owned buffer (weights in flash, an embedded array). The buffer must stay valid
  // and unchanged for the Bundle's lifetime; it is never written.
  static Result<std::unique_ptr<Bundle>> FromBuffer(const uint8_t* data, size_t size);

  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  // The whole file as verified.
  ByteSpan file() const { return ByteSpan(data_, size_); }
  bool is_mapped() const { return mapped_; }
  uint32_t schema_version() const { return schema_version_; }

  const std::vector<TensorDesc>& tensors() const { return tensors_; }
  const std::vector<OpDesc>& ops() const { return ops_; }
  const std::vector<SegmentDesc>& segments() const { return segments_; }
  const std::vector<uint32_t>& graph_inputs() const { return graph_inputs_; }
  const std::vector<uint32_t>& graph_outputs() const { return graph_outputs_; }
  uint32_t max_tokens() const { return max_tokens_; }
  uint32_t context_length() const { return context_length_; }

  // Index of the tensor with this name, or -1.
  int FindTensor(const char* name) const;

  // Metadata lookup; false when the key is absent or of another kind.
  bool GetString(const char* key, std::string* value) const;
  bool GetInt(const char* key, int64_t* value) const;
  bool GetFloat(const char* key, double* value) const;

  // The raw FlatBuffer root, for stages that read tables this header does not wrap (tokenizer,
  // op attributes). Always verified.
  const fb::Bundle* flatbuffer() const { return root_; }

 private:
  Bundle() = default;
  static Result<std::unique_ptr<Bundle>> Verify(std::unique_ptr<Bundle> bundle);
  friend class BundleVerifier;

  platform::MappedFile file_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  const fb::Bundle* root_ = nullptr;
  uint32_t schema_version_ = 0;
  uint32_t max_tokens_ = 1;
  uint32_t context_length_ = 0;
  std::vector<TensorDesc> tensors_;
  std::vector<OpDesc> ops_;
  std::vector<SegmentDesc> segments_;
  std::vector<void*> owned_segments_;  // decompressed zstd segments
  std::vector<uint32_t> graph_inputs_;
  std::vector<uint32_t> graph_outputs_;
};

}  // namespace acorn

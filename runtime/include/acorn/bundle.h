// Bundle: a verified, read-only view of one .acorn file. Opening a bundle maps the file (or takes the
// caller's buffer), runs the FlatBuffers verifier and then every semantic check the format has
// (offsets and sizes inside the file, sizes consistent with dtype and shape, op arity and attributes,
// unknown enum values, duplicate names, overlapping segments, arithmetic overflow), and decompresses
// zstd segments once. A Bundle that opened is safe to use: later stages trust what it describes.
// Constant tensors in uncompressed segments point straight into the mapping (zero-copy).
#pragma once

#include <cstdint>
#include <deque>
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
  const char* name = "";  // owned by the Bundle (copied at load), lives as long as it
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

// Numbering equals the schema's (acorn.fbs RopeStyle, PoolMode).
enum class RopeStyle : uint8_t { kInterleaved = 0, kHalf = 1 };
enum class PoolMode : uint8_t { kMean = 0, kFirst = 1, kLast = 2 };

// An op's attributes. The loader copies them out of the bundle once, after checking them, so that a
// step reads nothing from the file but weights: a mapped bundle rewritten underneath a running
// session changes numbers, never the shapes and sizes kernels index with. The BundleWriter takes the
// same struct. Each op kind reads only its own fields; the defaults are the schema's.
struct OpAttributes {
  float epsilon = 1e-5f;                 // RmsNorm, LayerNorm
  bool has_bias = false;                 // MatMul (the writer derives it from the inputs)
  uint32_t n_heads = 0;                  // Rope, Attention
  uint32_t n_kv_heads = 0;               // Attention
  uint32_t head_dim = 0;                 // Rope, Attention
  float rope_theta = 10000.0f;           // Rope
  RopeStyle rope_style = RopeStyle::kHalf;
  std::vector<float> rope_inv_freq;      // Rope: empty = theta^(-2i/d)
  float rope_attention_factor = 1.0f;
  float attention_scale = 0.0f;          // Attention: scores are q·k × this (converters write 1/sqrt(head_dim))
  bool causal = true;                    // Attention
  PoolMode pool_mode = PoolMode::kMean;  // Pool
  int64_t row_begin = 0, row_count = 0;  // Copy: row_begin < 0 counts from the end; count 0 = all
};

struct OpDesc {
  uint16_t kind = 0;  // acorn::fb::OpKind
  const char* name = "";  // owned by the Bundle
  std::vector<uint32_t> inputs;
  std::vector<uint32_t> outputs;
  OpAttributes attrs;  // checked and copied at load
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
  // Whether bytes start as a bundle does: the 4-byte size prefix, then the identifier "ACRN" at bytes
  // 8..11 (docs/FORMAT.md). The first check Open and FromBuffer make; for tools that take several
  // kinds of file. Says nothing about the rest: only Open and FromBuffer verify.
  static bool HasIdentifier(const uint8_t* data, size_t size);

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

  // Metadata lookup; false when the key is absent or of another kind. Metadata and the chat
  // template are copied at load, like everything else but weights.
  bool GetString(const char* key, std::string* value) const;
  bool GetInt(const char* key, int64_t* value) const;
  bool GetFloat(const char* key, double* value) const;
  // The chat template's source text ("" when the bundle has none).
  const std::string& chat_template() const { return chat_template_; }

  // The raw FlatBuffer root, for what reads tables this header does not wrap at load time (the
  // tokenizer, acorn-inspect). Verified; not to be read after load (it may be a mapping that changes).
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
  // Tensor and op names, copied at load so that nothing a step or an error message reads lives in
  // the mapping (a deque: growing it never moves the strings).
  std::deque<std::string> names_;
  struct MetaValue {
    std::string key;
    uint8_t kind = 0;  // fb::MetaKind
    std::string str;
    int64_t i = 0;
    double f = 0;
  };
  std::vector<MetaValue> metadata_;
  std::string chat_template_;
  const MetaValue* FindMeta(const char* key, uint8_t kind) const;
  std::vector<uint32_t> graph_inputs_;
  std::vector<uint32_t> graph_outputs_;
};

}  // namespace acorn

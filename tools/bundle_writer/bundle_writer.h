// BundleWriter: builds a .acorn file. Used by acorn-convert and by the tests that need bundles.
// Tensor bytes are produced on demand through a fill callback while the file is written, so a
// multi-gigabyte model is never held in memory twice (compressed segments are the exception: they
// are compressed whole in memory, which suits their use for small and firmware models).
// Layout (docs/FORMAT.md): size-prefixed FlatBuffer, then segments on 4096-byte boundaries, each
// tensor on a 64-byte boundary inside its segment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/dtype.h"
#include "acorn/status.h"
#include "acorn_generated.h"

namespace acorn {

class BundleWriter {
 public:
  // Writes exactly `size` bytes of a constant tensor into dst.
  using Fill = std::function<Status(uint8_t* dst, uint64_t size)>;
  // Called while writing with bytes done and bytes in all.
  using Progress = std::function<void(uint64_t done, uint64_t total)>;
  // Adds the tokenizer table to the FlatBuffer being built.
  using TokenizerFn = std::function<flatbuffers::Offset<fb::Tokenizer>(flatbuffers::FlatBufferBuilder&)>;

  BundleWriter();

  void SetString(const std::string& key, const std::string& value);
  // The last string set for `key`, if any.
  bool GetString(const std::string& key, std::string* value) const;
  void SetInt(const std::string& key, int64_t value);
  void SetFloat(const std::string& key, double value);
  void SetChatTemplate(const std::string& text) { chat_template_ = text; }
  const std::string& chat_template() const { return chat_template_; }
  void SetTokenizer(TokenizerFn fn) { tokenizer_ = std::move(fn); }
  // The tokens-per-step bound the arena is planned for, and the positions a session may hold.
  void SetLimits(uint32_t max_tokens, uint32_t context_length);

  // Segment 0 (uncompressed) exists from the start; AddSegment makes another.
  uint32_t AddSegment(Compression compression, int zstd_level = 19);

  Result<uint32_t> AddConstant(const std::string& name, DType dtype, const std::vector<int64_t>& shape, Fill fill,
                               uint32_t segment = 0);
  Result<uint32_t> AddConstant(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                               std::vector<uint8_t> bytes, uint32_t segment = 0);
  // A non-constant tensor (planned, state, input or output). Inputs and outputs become the graph's
  // inputs and outputs in the order they are added.
  Result<uint32_t> AddTensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape, Storage storage);

  // Only the attribute fields the op kind uses are written (OpAttributes in acorn/bundle.h).
  Status AddOp(fb::OpKind kind, const std::vector<uint32_t>& inputs, const std::vector<uint32_t>& outputs,
               const OpAttributes& attrs = OpAttributes(), const std::string& name = "");

  size_t tensor_count() const { return tensors_.size(); }

  // Checks a complete bundle file before it takes the place of the output (acorn-convert loads it back).
  using Check = std::function<Status(const std::string& temp_path)>;

  // Writes the bundle to `path` through a temporary file in the same directory, created new
  // (O_EXCL | O_NOFOLLOW, a unique name: a symbolic link planted there is never followed), then
  // `check`ed when given, then renamed over `path`. Any failure removes the temporary file, so no
  // half-written or refused bundle is left behind.
  Status Write(const std::string& path, const Progress& progress = nullptr, const Check& check = nullptr);
  Result<std::vector<uint8_t>> WriteToMemory();

 private:
  struct TensorEntry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    Storage storage;
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    Fill fill;
  };
  struct SegmentEntry {
    Compression compression = Compression::kNone;
    int level = 19;
    std::vector<uint32_t> tensors;
    uint64_t size = 0;  // uncompressed
    std::vector<uint8_t> compressed;
    uint64_t file_offset = 0;
  };
  struct OpEntry {
    fb::OpKind kind;
    std::vector<uint32_t> inputs, outputs;
    OpAttributes attrs;
    std::string name;
  };
  struct MetaEntry {
    std::string key;
    fb::MetaKind kind;
    std::string str;
    int64_t i = 0;
    double f = 0;
  };
  class Sink;

  Result<uint32_t> AddEntry(TensorEntry entry);
  std::vector<uint8_t> BuildFlatBuffer() const;
  Status WriteAll(Sink* sink, const Progress& progress);

  std::vector<MetaEntry> metadata_;
  std::vector<TensorEntry> tensors_;
  std::vector<SegmentEntry> segments_;
  std::vector<OpEntry> ops_;
  std::string chat_template_;
  TokenizerFn tokenizer_;
  uint32_t max_tokens_ = 1;
  uint32_t context_length_ = 0;
};

}  // namespace acorn

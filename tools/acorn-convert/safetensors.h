// Reading Hugging Face safetensors checkpoints: one file or several shards listed by
// model.safetensors.index.json. Files are mapped, so tensors are read in place while converting.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acorn/platform.h"
#include "acorn/status.h"

namespace acorn {
namespace convert {

enum class SourceDType { kF32, kF16, kBF16 };

struct SourceTensor {
  std::string name;
  SourceDType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
  int64_t Elements() const;
};

class SafetensorsCheckpoint {
 public:
  // Opens every *.safetensors file of the model directory (through the index when there is one).
  static Result<std::unique_ptr<SafetensorsCheckpoint>> Open(const std::string& dir);

  const SourceTensor* Find(const std::string& name) const;
  const std::map<std::string, SourceTensor>& tensors() const { return tensors_; }

  // Converts the tensor's elements [begin, begin + count) to float.
  static void ReadFloats(const SourceTensor& t, int64_t begin, int64_t count, float* out);

  // Parses the bytes of one .safetensors file (8-byte header length, JSON header, data) into tensors
  // that point into `base`. Trusts nothing: types, shapes, offsets (inside the data, begin <= end,
  // no two tensors overlapping, size = elements x dtype size) and the header length are checked.
  // `label` names the file in errors. Used by Open and by the fuzz target.
  static Status ParseFile(const uint8_t* base, size_t size, const std::string& label, std::vector<SourceTensor>* out);
  // The shard file names model.safetensors.index.json lists in its weight_map, deduplicated and
  // sorted (not yet checked against the directory: Open does that).
  static Status ParseIndex(const std::string& text, const std::string& label, std::vector<std::string>* files);

 private:
  Status AddFile(const std::string& path);
  std::vector<platform::MappedFile> files_;
  std::map<std::string, SourceTensor> tensors_;
};

}  // namespace convert
}  // namespace acorn

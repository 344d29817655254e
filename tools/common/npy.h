// Reading and writing float32 arrays in NumPy's .npy format (version 1.0, little-endian, C order):
// how acorn-run hands logits to Python and how tests read reference outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "acorn/status.h"

namespace acorn {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

Status WriteNpy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
// Reads '<f4' arrays (and '<f8', converted to float).
Result<NpyArray> ReadNpy(const std::string& path);

}  // namespace acorn

// Opening the files of an untrusted model directory or GGUF download. Everything the converter reads
// goes through here first, so that a FIFO, a device or a directory where a file should be is an error
// rather than a hang, a JSON file is size-bounded before it is read, and a file an index names
// (model.safetensors.index.json's shards) must lie inside the checkpoint directory.
#pragma once

#include <cstdint>
#include <string>

#include "acorn/status.h"

namespace acorn {
namespace tool {

// True when something (of any type) exists at `path`; never opens it.
bool PathExists(const std::string& path);

// Opens `path` without blocking (O_NONBLOCK: a FIFO with no writer would otherwise hang open()) and
// requires a regular file. `what` says what the file is for, in the error ("the model", "a shard").
// kNotFound when there is nothing at `path`.
Status CheckRegularFile(const std::string& path, const char* what, uint64_t* size = nullptr);

// Reads a regular file of at most `max_bytes` into *out (the size is checked before reading).
Status ReadRegularFile(const std::string& path, uint64_t max_bytes, const char* what, std::string* out);

// The real path of `name` taken relative to the directory `dir`, refused unless it lies inside
// realpath(dir): absolute names, "../" and symbolic links that lead out of the directory are errors
// that name `source` (the file that gave the name).
Result<std::string> ResolveInside(const std::string& dir, const std::string& name, const std::string& source);

}  // namespace tool
}  // namespace acorn

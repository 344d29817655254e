// Helpers for the GGUF tests: running acorn-convert, and writing GGUF files byte by byte (valid ones
// to start from, and broken ones that a real writer would never produce).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace acorn {
namespace gguf_test {

std::string GgufFixture(const std::string& name);  // tests/fixtures/gguf/<name>
std::string LlamaFixture(const std::string& name);  // tests/fixtures/llama/<name>

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally (a crash)
  std::string output;  // stdout and stderr
};
CommandResult Run(const std::string& command);
// acorn-convert SRC -o OUT --quiet EXTRA
CommandResult Convert(const std::string& src, const std::string& out, const std::string& extra = "");

std::vector<uint8_t> ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Appends GGUF fields in little-endian order.
class GgufBytes {
 public:
  GgufBytes& U32(uint32_t v) { return Raw(&v, 4); }
  GgufBytes& U64(uint64_t v) { return Raw(&v, 8); }
  GgufBytes& F32(float v) { return Raw(&v, 4); }
  GgufBytes& Str(const std::string& s) { U64(s.size()); return Raw(s.data(), s.size()); }
  GgufBytes& Raw(const void* p, size_t n);
  // Header: magic, version, tensor count, key/value count.
  GgufBytes& Header(uint32_t version, uint64_t tensors, uint64_t kvs);
  GgufBytes& KvU32(const std::string& key, uint32_t v) { Str(key); U32(4); return U32(v); }
  GgufBytes& KvF32(const std::string& key, float v) { Str(key); U32(6); return F32(v); }
  GgufBytes& KvStr(const std::string& key, const std::string& v) { Str(key); U32(8); return Str(v); }
  GgufBytes& Tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset);
  // Zero bytes up to the next multiple of `alignment`.
  GgufBytes& Align(size_t alignment = 32);
  GgufBytes& Zeros(size_t n) { bytes.resize(bytes.size() + n, 0); return *this; }
  std::vector<uint8_t> bytes;
};

// A complete, valid llama GGUF with one layer of F32 zeros (hidden 32, 2 heads, ffn 256, vocab 8);
// `ffn_down_type` gives blk.0.ffn_down.weight another ggml type (its rows hold 256 values).
std::vector<uint8_t> TinyLlamaGguf(uint32_t ffn_down_type = 0);

// Changes to the tiny file for hostile-input tests.
struct TinyOverrides {
  std::vector<std::pair<std::string, uint32_t>> u32;  // uint32 keys replaced or added
  std::vector<std::pair<std::string, float>> f32;     // float32 keys replaced or added
  int64_t poison_index = -1;                          // >= 0: blk.0.ffn_up.weight[poison_index] = poison
  uint32_t attn_q_type = 0;                           // ggml type of blk.0.attn_q.weight (rows of 32)
  float poison = 0;
};
std::vector<uint8_t> TinyLlamaGguf(uint32_t ffn_down_type, const TinyOverrides& overrides);

}  // namespace gguf_test
}  // namespace acorn

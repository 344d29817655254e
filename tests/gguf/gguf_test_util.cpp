#include "gguf_test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace acorn {
namespace gguf_test {

std::string GgufFixture(const std::string& name) { return std::string(ACORN_GGUF_FIXTURES) + "/" + name; }
std::string LlamaFixture(const std::string& name) { return std::string(ACORN_LLAMA_FIXTURES) + "/" + name; }

CommandResult Run(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CommandResult Convert(const std::string& src, const std::string& out, const std::string& extra) {
  return Run(std::string(ACORN_CONVERT_BIN) + " '" + src + "' -o '" + out + "' --quiet " + extra);
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

GgufBytes& GgufBytes::Raw(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  bytes.insert(bytes.end(), b, b + n);
  return *this;
}

GgufBytes& GgufBytes::Header(uint32_t version, uint64_t tensors, uint64_t kvs) {
  Raw("GGUF", 4);
  U32(version);
  U64(tensors);
  return U64(kvs);
}

GgufBytes& GgufBytes::Tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
  Str(name);
  U32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) U64(d);
  U32(type);
  return U64(offset);
}

GgufBytes& GgufBytes::Align(size_t alignment) {
  while (bytes.size() % alignment != 0) bytes.push_back(0);
  return *this;
}

std::vector<uint8_t> TinyLlamaGguf(uint32_t ffn_down_type) { return TinyLlamaGguf(ffn_down_type, TinyOverrides()); }

namespace {
// Bytes of `elems` values of ggml type `type` (elems a multiple of 256; F32 or a block type).
uint64_t TypeBytes(uint32_t type, uint64_t elems) {
  struct { uint32_t type, per256; } sizes[] = {
      {0, 1024}, {10, 84}, {11, 110}, {12, 144}, {13, 176}, {14, 210}, {16, 66}, {19, 50}, {20, 144},
      {21, 110}, {23, 136}, {34, 54}, {35, 66}};
  for (const auto& s : sizes) {
    if (s.type == type) return elems / 256 * s.per256;
  }
  return 0;
}
}  // namespace

std::vector<uint8_t> TinyLlamaGguf(uint32_t ffn_down_type, const TinyOverrides& overrides) {
  constexpr uint64_t kHidden = 32, kFfn = 256, kVocab = 8;
  struct T {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t bytes;
  };
  std::vector<T> tensors = {
      {"token_embd.weight", {kHidden, kVocab}, 0, kHidden * kVocab * 4},
      {"blk.0.attn_norm.weight", {kHidden}, 0, kHidden * 4},
      // Rows of 32: a 256-value block type here makes a row that is not whole blocks.
      {"blk.0.attn_q.weight", {kHidden, kHidden}, overrides.attn_q_type,
       overrides.attn_q_type == 0 ? kHidden * kHidden * 4 : 576},
      {"blk.0.attn_k.weight", {kHidden, kHidden}, 0, kHidden * kHidden * 4},
      {"blk.0.attn_v.weight", {kHidden, kHidden}, 0, kHidden * kHidden * 4},
      {"blk.0.attn_output.weight", {kHidden, kHidden}, 0, kHidden * kHidden * 4},
      {"blk.0.ffn_norm.weight", {kHidden}, 0, kHidden * 4},
      {"blk.0.ffn_gate.weight", {kHidden, kFfn}, 0, kHidden * kFfn * 4},
      {"blk.0.ffn_up.weight", {kHidden, kFfn}, 0, kHidden * kFfn * 4},
      {"blk.0.ffn_down.weight", {kFfn, kHidden}, ffn_down_type, TypeBytes(ffn_down_type, kFfn * kHidden)},
      {"output_norm.weight", {kHidden}, 0, kHidden * 4},
  };
  std::vector<std::pair<std::string, uint32_t>> u32 = {
      {"llama.context_length", 64},           {"llama.embedding_length", kHidden},
      {"llama.block_count", 1},               {"llama.feed_forward_length", kFfn},
      {"llama.attention.head_count", 2},      {"llama.attention.head_count_kv", 2},
  };
  std::vector<std::pair<std::string, float>> f32 = {{"llama.attention.layer_norm_rms_epsilon", 1e-5f}};
  auto set = [](auto* list, const auto& kv) {
    for (auto& e : *list) {
      if (e.first == kv.first) {
        e.second = kv.second;
        return;
      }
    }
    list->push_back(kv);
  };
  for (const auto& kv : overrides.u32) set(&u32, kv);
  for (const auto& kv : overrides.f32) set(&f32, kv);
  GgufBytes g;
  g.Header(3, tensors.size(), 2 + u32.size() + f32.size()).KvStr("general.architecture", "llama");
  for (const auto& kv : u32) g.KvU32(kv.first, kv.second);
  for (const auto& kv : f32) g.KvF32(kv.first, kv.second);
  g.KvStr("tokenizer.chat_template", "{{ x }}");
  uint64_t offset = 0, poison_at = 0;
  for (const T& t : tensors) {
    g.Tensor(t.name, t.ne, t.type, offset);
    if (t.name == "blk.0.ffn_up.weight") poison_at = offset;
    offset += (t.bytes + 31) / 32 * 32;
  }
  g.Align();
  const size_t data_start = g.bytes.size();
  g.Zeros(offset);
  if (overrides.poison_index >= 0) {
    std::memcpy(g.bytes.data() + data_start + poison_at + overrides.poison_index * 4, &overrides.poison, 4);
  }
  return g.bytes;
}

}  // namespace gguf_test
}  // namespace acorn

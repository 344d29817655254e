// libFuzzer target for the Hugging Face checkpoint readers of acorn-convert. The first byte selects
// what the rest is:
//   0 (and any byte not below): a .safetensors file -> SafetensorsCheckpoint::ParseFile (header
//     length, JSON types, shapes, offsets, overlaps), then every parsed tensor's first and last
//     elements read as floats (inside the input, or AddressSanitizer reports it);
//   1: model.safetensors.index.json text -> SafetensorsCheckpoint::ParseIndex;
//   2: config.json text -> ParseLlamaConfig (with CheckLlamaConfig);
//   3: tokenizer_config.json text -> ApplyTokenizerConfig into a BundleWriter.
// Every refusal must carry a message; no exception may escape.
// Links: acorn_convert_lib (tools/acorn-convert/CMakeLists.txt; it brings acorn, acorn_bundle_writer,
// acorn_tokenizer_json, acorn_tool_common and nlohmann_json).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bundle_writer.h"
#include "hf_config.h"
#include "hf_tokenizer.h"
#include "safetensors.h"

namespace {

using namespace acorn;
using namespace acorn::convert;

void RequireMessage(const Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

void Safetensors(const uint8_t* data, size_t size) {
  std::vector<SourceTensor> tensors;
  Status st = SafetensorsCheckpoint::ParseFile(data, size, "fuzz.safetensors", &tensors);
  RequireMessage(st);
  if (!st.ok()) return;
  float buf[2];
  for (const SourceTensor& t : tensors) {
    const int64_t n = t.Elements();
    if (n == 0) continue;
    SafetensorsCheckpoint::ReadFloats(t, 0, 1, &buf[0]);
    SafetensorsCheckpoint::ReadFloats(t, n - 1, 1, &buf[1]);
  }
  volatile float sink = buf[0];
  (void)sink;
}

void Run(uint8_t mode, const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  switch (mode) {
    case 1: {
      std::vector<std::string> files;
      RequireMessage(SafetensorsCheckpoint::ParseIndex(text, "fuzz/model.safetensors.index.json", &files));
      return;
    }
    case 2:
      RequireMessage(ParseLlamaConfig(text, "fuzz/config.json").status());
      return;
    case 3: {
      BundleWriter writer;
      RequireMessage(ApplyTokenizerConfig(text, "fuzz/tokenizer_config.json", &writer));
      return;
    }
    default:
      Safetensors(data, size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Exactly the payload's bytes in a buffer of our own, so that AddressSanitizer sees any overread.
  std::vector<uint8_t> bytes(data + 1, data + size);
  try {
    Run(data[0], bytes.data(), bytes.size());
  } catch (...) {
    __builtin_trap();  // the converter must turn every failure into a Status
  }
  return 0;
}

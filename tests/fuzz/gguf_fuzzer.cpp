// libFuzzer target for acorn-convert's GGUF path: bytes -> GgufFile::Parse (metadata, tensor table,
// tensor bounds) -> every typed getter -> the llama or bert config checks -> (when they pass and the
// model is small) the whole import into an in-memory bundle (weights decoded and checked for NaN,
// metadata, tokenizer), which the loader must then accept. Every refusal must carry a message; no
// exception may escape.
// Links: acorn_convert_lib (tools/acorn-convert/CMakeLists.txt: the converter's readers and graph
// builders; it brings acorn, acorn_bundle_writer, acorn_tokenizer_json, acorn_tool_common and
// nlohmann_json).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "bert_config.h"
#include "bert_graph.h"
#include "bundle_writer.h"
#include "gguf_bert.h"
#include "gguf_import.h"
#include "gguf_reader.h"
#include "gguf_weights.h"

namespace {

using namespace acorn;
using namespace acorn::convert;

void RequireMessage(const Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

// Imports only models whose bundle stays small, so that one input never takes seconds or much memory.
constexpr uint64_t kMaxFuzzElements = uint64_t{1} << 22;

bool SmallEnough(const GgufFile& file) {
  uint64_t total = 0;
  for (const GgufTensor& t : file.tensors()) {
    total += t.Elements();
    if (total > kMaxFuzzElements) return false;
  }
  return true;
}

void Finish(BundleWriter* writer) {
  Result<std::vector<uint8_t>> bytes = writer->WriteToMemory();
  RequireMessage(bytes.status());
  if (!bytes.ok()) return;
  // What the converter writes, the loader must accept.
  Result<std::unique_ptr<Bundle>> bundle = Bundle::FromBuffer(bytes->data(), bytes->size());
  if (!bundle.ok()) {
    RequireMessage(bundle.status());
    __builtin_trap();
  }
}

void Run(const uint8_t* data, size_t size) {
  Result<std::unique_ptr<GgufFile>> parsed = GgufFile::Parse(data, size, "fuzz.gguf");
  RequireMessage(parsed.status());
  if (!parsed.ok()) return;
  const GgufFile& file = **parsed;
  for (const auto& kv : file.metadata()) {
    (void)kv.second.TypeName();
    RequireMessage(file.GetInt(kv.first, 0).status());
    RequireMessage(file.GetFloat(kv.first, 0).status());
    RequireMessage(file.GetString(kv.first, "").status());
    RequireMessage(file.GetBool(kv.first, false).status());
  }
  for (const GgufTensor& t : file.tensors()) {
    (void)GgmlTypeName(t.type);
    if (t.data != nullptr && t.bytes > 0) {
      volatile uint8_t sink = t.data[0] ^ t.data[t.bytes - 1];  // inside the input, or ASan reports it
      (void)sink;
    }
  }
  Result<std::string> arch = file.GetString("general.architecture", "");
  RequireMessage(arch.status());
  ConvertOptions options;
  options.max_tokens = 4;
  options.context = 0;
  if (arch.ok() && *arch == "bert") {
    Result<BertConfig> config = BertConfigFromGguf(file);
    RequireMessage(config.status());
    if (!config.ok() || !SmallEnough(file)) return;
    Result<DType> dtype = GgufBundleDType(file, false, options.dtype, true);
    RequireMessage(dtype.status());
    if (!dtype.ok()) return;
    options.dtype = *dtype;
    BundleWriter writer;
    Status st = BuildBertBundle(*config, GgufWeights(file, BertGgufTensorName, 0, 0), options, &writer);
    RequireMessage(st);
    if (!st.ok()) return;
    CopyGgufMetadata(file, &writer);
    st = AttachGgufTokenizer(file, /*quiet=*/true, &writer);
    RequireMessage(st);
    if (st.ok()) Finish(&writer);
    return;
  }
  Result<LlamaConfig> config = LlamaConfigFromGguf(file);
  RequireMessage(config.status());
  if (!config.ok() || !SmallEnough(file)) return;
  BundleWriter writer;
  Status st = ImportGguf(file, *config, /*dtype_given=*/false, /*quiet=*/true, &options, &writer);
  RequireMessage(st);
  if (st.ok()) Finish(&writer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly `size` bytes of our own, so that AddressSanitizer sees any read past the end.
  std::vector<uint8_t> bytes(data, data + size);
  try {
    Run(bytes.data(), bytes.size());
  } catch (...) {
    __builtin_trap();  // the converter must turn every failure into a Status
  }
  return 0;
}

#include "bert_convert.h"

#include <cstdio>
#include <memory>

#include "acorn/platform.h"
#include "bert_config.h"
#include "bert_graph.h"
#include "gguf_bert.h"
#include "gguf_import.h"
#include "hf_tokenizer.h"
#include "safetensors.h"
#include "verify_bundle.h"

namespace acorn {
namespace convert {

namespace {
int Fail(const std::string& where, const Status& st) {
  std::fprintf(stderr, "acorn-convert: %s%s\n", where.empty() ? "" : (where + ": ").c_str(), st.message().c_str());
  return 1;
}

// The summary line, the write, the timing: the same for every source.
int Write(const BertConfig& c, const std::string& out, const ConvertOptions& options, bool quiet, uint64_t start,
          BundleWriter* writer) {
  if (!quiet) {
    std::fprintf(stderr, "acorn-convert: %s (%lld layers, hidden %lld, vocab %lld, %s pooling%s%s) -> %s as %s\n",
                 c.architecture.c_str(), static_cast<long long>(c.layers), static_cast<long long>(c.hidden),
                 static_cast<long long>(c.vocab), c.pooling.c_str(), c.normalize ? " + L2" : "",
                 c.num_labels > 0 ? (", " + std::to_string(c.num_labels) + " labels").c_str() : "", out.c_str(),
                 DTypeName(options.dtype));
  }
  Status st = WriteVerified(writer, out, quiet);
  if (!st.ok()) return Fail("", st);
  if (!quiet) std::fprintf(stderr, "acorn-convert: wrote %s in %.1f s\n", out.c_str(), (platform::NowNanos() - start) / 1e9);
  return 0;
}
}  // namespace

int ConvertBertDirectory(const std::string& src, const std::string& out, const ConvertOptions& options,
                         bool random_weights, bool quiet) {
  const uint64_t start = platform::NowNanos();
  Result<BertConfig> config = ReadBertConfig(src);
  if (!config.ok()) return Fail("", config.status());
  BundleWriter writer;
  Status st;
  std::unique_ptr<SafetensorsCheckpoint> ckpt;  // outlives the writer's fills, which read from it
  if (random_weights) {
    writer.SetString("general.source", "random weights (acorn-convert --random-weights)");
    st = BuildBertBundle(*config, RandomWeights(1234), options, &writer);
  } else {
    auto opened = SafetensorsCheckpoint::Open(src);
    if (!opened.ok()) return Fail("", opened.status());
    ckpt = std::move(opened).value();
    st = BuildBertBundle(*config, CheckpointWeights(*ckpt), options, &writer);
  }
  if (!st.ok()) return Fail(src, st);
  std::string tokenizer;
  st = AttachHfTokenizer(src, &writer, &tokenizer);
  if (!st.ok()) return Fail("", st);
  if (!quiet && tokenizer == "none") {
    std::fprintf(stderr, "acorn-convert: note: %s has no tokenizer.json; the bundle will take token ids only\n", src.c_str());
  }
  return Write(*config, out, options, quiet, start, &writer);
}

int ConvertBertGguf(const GgufFile& file, const std::string& out, ConvertOptions options, bool dtype_given, bool quiet) {
  const uint64_t start = platform::NowNanos();
  Result<BertConfig> config = BertConfigFromGguf(file);
  if (!config.ok()) return Fail("", config.status());
  Result<DType> dtype = GgufBundleDType(file, dtype_given, options.dtype, quiet);
  if (!dtype.ok()) return Fail("", dtype.status());
  options.dtype = *dtype;
  options.keep_source_dtypes = !dtype_given;
  if (!quiet && file.FindTensor("cls.output.weight") != nullptr) {
    std::fprintf(stderr, "acorn-convert: note: %s has a classifier head (cls.*); it is left out, the bundle gives "
                 "embeddings and hidden states\n", file.label().c_str());
  }
  BundleWriter writer;
  Status st = BuildBertBundle(*config, GgufWeights(file, BertGgufTensorName, 0, 0), options, &writer);
  if (!st.ok()) return Fail(file.label(), st);
  CopyGgufMetadata(file, &writer);
  st = AttachGgufTokenizer(file, quiet, &writer);
  if (!st.ok()) return Fail(file.label(), st);
  return Write(*config, out, options, quiet, start, &writer);
}

}  // namespace convert
}  // namespace acorn

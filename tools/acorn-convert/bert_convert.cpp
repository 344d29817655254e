#include "bert_convert.h"

#include <cstdio>
#include <memory>

#include "acorn/platform.h"
#include "bert_config.h"
#include "bert_graph.h"
#include "hf_tokenizer.h"
#include "safetensors.h"

namespace acorn {
namespace convert {

namespace {
int Fail(const std::string& where, const Status& st) {
  std::fprintf(stderr, "acorn-convert: %s%s\n", where.empty() ? "" : (where + ": ").c_str(), st.message().c_str());
  return 1;
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
  if (!quiet) {
    if (tokenizer == "none") {
      std::fprintf(stderr, "acorn-convert: note: %s has no tokenizer.json; the bundle will take token ids only\n", src.c_str());
    }
    std::fprintf(stderr, "acorn-convert: %s (%lld layers, hidden %lld, vocab %lld, %s pooling%s%s) -> %s as %s\n",
                 config->architecture.c_str(), static_cast<long long>(config->layers),
                 static_cast<long long>(config->hidden), static_cast<long long>(config->vocab), config->pooling.c_str(),
                 config->normalize ? " + L2" : "",
                 config->num_labels > 0 ? (", " + std::to_string(config->num_labels) + " labels").c_str() : "",
                 out.c_str(), DTypeName(options.dtype));
  }
  st = writer.Write(out);
  if (!st.ok()) return Fail("", st);
  if (!quiet) std::fprintf(stderr, "acorn-convert: wrote %s in %.1f s\n", out.c_str(), (platform::NowNanos() - start) / 1e9);
  return 0;
}

}  // namespace convert
}  // namespace acorn

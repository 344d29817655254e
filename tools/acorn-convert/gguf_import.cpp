#include "gguf_import.h"

#include <cstdio>
#include <memory>

#include "gguf_tokenizer.h"
#include "gguf_weights.h"
#include "tokenizer_flatbuffer.h"

namespace acorn {
namespace convert {

namespace {
bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

void CopyGgufMetadata(const GgufFile& file, BundleWriter* writer) {
  std::string base = file.label();
  const size_t slash = base.find_last_of('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  writer->SetString("general.source", "GGUF v" + std::to_string(file.version()) + " " + base);
  for (const auto& kv : file.metadata()) {
    // general.architecture is the bundle's own ("llama"); the graph builder writes it.
    if (StartsWith(kv.first, "general.") && kv.first != "general.architecture" &&
        kv.second.type == GgufValueType::kString) {
      writer->SetString(kv.first, kv.second.s);
    }
  }
  const GgufValue* tmpl = file.Find("tokenizer.chat_template");
  if (tmpl != nullptr && tmpl->type == GgufValueType::kString) writer->SetChatTemplate(tmpl->s);
}

Status AttachGgufTokenizer(const GgufFile& file, bool quiet, BundleWriter* writer) {
  auto spec = TokenizerSpecFromGguf(file);
  if (spec.ok()) {
    auto shared = std::make_shared<TokenizerSpec>(std::move(spec).value());
    writer->SetTokenizer([shared](flatbuffers::FlatBufferBuilder& b) { return WriteTokenizer(b, *shared); });
    return Status::Ok();
  }
  const ErrorCode code = spec.status().code();
  if (code != ErrorCode::kNotFound && code != ErrorCode::kUnsupported) return spec.status();
  if (!quiet || code != ErrorCode::kNotFound) {
    std::fprintf(stderr, "acorn-convert: warning: the bundle has no tokenizer: %s\n", spec.status().message().c_str());
  }
  return Status::Ok();
}

Result<DType> GgufBundleDType(const GgufFile& file, bool dtype_given, DType given, bool quiet) {
  bool mixed = false;
  ACORN_ASSIGN_OR_RETURN(DType own, GgufMatrixDType(file, &mixed));
  if (dtype_given) return given;
  if (mixed && !quiet) {
    std::fprintf(stderr, "acorn-convert: note: %s mixes matrix types (mostly %s); each keeps its own type "
                 "(pass --dtype to convert all to one)\n", file.label().c_str(), DTypeName(own));
  }
  return own;
}

bool IsGgufPath(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

Status ImportGguf(const GgufFile& file, const LlamaConfig& config, bool dtype_given, bool quiet,
                  ConvertOptions* options, BundleWriter* writer) {
  ACORN_ASSIGN_OR_RETURN(options->dtype, GgufBundleDType(file, dtype_given, options->dtype, quiet));
  options->keep_source_dtypes = !dtype_given;
  ACORN_RETURN_IF_ERROR(BuildLlamaBundle(config, GgufWeights(file, config), *options, writer));
  CopyGgufMetadata(file, writer);
  return AttachGgufTokenizer(file, quiet, writer);
}

}  // namespace convert
}  // namespace acorn

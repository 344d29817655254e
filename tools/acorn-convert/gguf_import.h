// acorn-convert's GGUF path: a parsed GGUF file -> the bundle writer, with the weights
// (gguf_weights.h), the general.* metadata, the chat template and the tokenizer (gguf_tokenizer.h).
// The llama architecture goes through ImportGguf; bert files through bert_convert.h, which uses the
// helpers here.
#pragma once

#include <string>

#include "bundle_writer.h"
#include "gguf_reader.h"
#include "gguf_weights.h"
#include "hf_config.h"
#include "llama_graph.h"

namespace acorn {
namespace convert {

bool IsGgufPath(const std::string& path);

// general.* strings (name, license, ...) as bundle metadata, and tokenizer.chat_template.
void CopyGgufMetadata(const GgufFile& file, BundleWriter* writer);
// The tokenizer.ggml.* vocabulary as the bundle's tokenizer. No tokenizer, or one of a kind acorn
// does not support, is a warning (the bundle takes token ids); a malformed one is an error.
Status AttachGgufTokenizer(const GgufFile& file, bool quiet, BundleWriter* writer);
// The dtype the bundle's matrices get: `given` with --dtype, else the file's most common one (each
// matrix then keeps its own type; a mix is noted).
Result<DType> GgufBundleDType(const GgufFile& file, bool dtype_given, DType given, bool quiet);

// Without dtype_given, every matrix keeps the type it has in the file (copied as it is) and
// options->dtype becomes the most common one. A tokenizer that cannot be converted is reported on stderr and left out
// (the bundle still records the bos/eos ids); everything else that fails is returned.
Status ImportGguf(const GgufFile& file, const LlamaConfig& config, bool dtype_given, bool quiet,
                  ConvertOptions* options, BundleWriter* writer);

}  // namespace convert
}  // namespace acorn

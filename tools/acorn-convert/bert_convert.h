// acorn-convert's BERT path, whole: config.json (+ sentence-transformers modules) and safetensors,
// or a GGUF file of the bert architecture, in; bundle with tokenizer out. main.cpp hands a directory
// here when IsBertDirectory says so, and a GGUF file whose general.architecture is bert.
#pragma once

#include <string>

#include "bert_config.h"
#include "gguf_reader.h"
#include "llama_graph.h"

namespace acorn {
namespace convert {

// Returns the process exit code (0 on success) after printing any error, as main does.
int ConvertBertDirectory(const std::string& src, const std::string& out, const ConvertOptions& options,
                         bool random_weights, bool quiet);
// Without dtype_given the matrices keep the file's type (blocks copied byte for byte).
int ConvertBertGguf(const GgufFile& file, const std::string& out, ConvertOptions options, bool dtype_given, bool quiet);

}  // namespace convert
}  // namespace acorn

// acorn-convert's BERT path, whole: config.json (+ sentence-transformers modules) and safetensors
// in, bundle with tokenizer out. main.cpp hands a directory here when IsBertDirectory says so.
#pragma once

#include <string>

#include "bert_config.h"
#include "llama_graph.h"

namespace acorn {
namespace convert {

// Returns the process exit code (0 on success) after printing any error, as main does.
int ConvertBertDirectory(const std::string& src, const std::string& out, const ConvertOptions& options,
                         bool random_weights, bool quiet);

}  // namespace convert
}  // namespace acorn

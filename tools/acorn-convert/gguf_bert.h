// A GGUF file of the bert architecture (written by llama.cpp's convert_hf_to_gguf.py from BertModel
// checkpoints and sentence-transformers models) as the source of an encoder bundle: the
// hyper-parameters as a BertConfig and the tensor names the BERT graph builder asks for.
//
// GGUF records the pooling (bert.pooling_type: mean or CLS) but not whether embeddings are L2
// normalized; they are, as llama.cpp's embedding tools do by default. It does not record a
// classifier head the bundle could use either: such a head is left out, with a note.
#pragma once

#include <string>

#include "bert_config.h"
#include "gguf_reader.h"

namespace acorn {
namespace convert {

// The GGUF tensor that holds the Hugging Face BERT tensor `hf_name` ("" when there is none).
std::string BertGgufTensorName(const std::string& hf_name);

// Hyper-parameters from bert.* metadata, vocabulary and token types from the tables' shapes.
Result<BertConfig> BertConfigFromGguf(const GgufFile& file);

}  // namespace convert
}  // namespace acorn

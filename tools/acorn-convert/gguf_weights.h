// A GGUF file as the source of a bundle: for the llama architecture the hyper-parameters as a
// LlamaConfig (bert: gguf_bert.h), and the tensors under the Hugging Face names the graph builder
// asks for. Tensors whose
// type the bundle keeps are copied byte for byte (block formats are identical to GGUF's), so a
// Q8_0, Q4_0, Q4_1, Q5_0 or Q5_1 file, or one that mixes them, is imported without requantization. llama.cpp's converter reorders the rows
// of attn_q / attn_k for its interleaved RoPE; that reorder is undone here (whole rows move, so
// quantized rows are still copied exactly) because the graph uses Hugging Face's "half" RoPE.
#pragma once

#include <string>

#include "bundle_writer.h"
#include "gguf_reader.h"
#include "hf_config.h"
#include "llama_graph.h"

namespace acorn {
namespace convert {

// Hyper-parameters from llama.* metadata, RoPE frequencies from llama.rope.* and the optional
// rope_freqs tensor (llama3-style scaling factors), the vocabulary size from token_embd.
Result<LlamaConfig> LlamaConfigFromGguf(const GgufFile& file);

// The GGUF tensor that holds the Hugging Face tensor `hf_name` ("" when there is none).
std::string GgufTensorName(const std::string& hf_name);

// The acorn dtype of a ggml type, or an error that names the tensor and type and says what to do.
Result<DType> DTypeFromGgml(const GgufTensor& t);

// The type most of a GGUF file's weight matrices have (what the bundle records as its weight dtype;
// without --dtype every matrix keeps its own type). Fails, naming the first such tensor, when any
// weight has a type acorn cannot read. `mixed` is set when some matrices have another type.
Result<DType> GgufMatrixDType(const GgufFile& file, bool* mixed);

// Maps a Hugging Face tensor name to the GGUF one ("" when there is none).
using GgufNameFn = std::string (*)(const std::string& hf_name);

class GgufWeights : public WeightSource {
 public:
  // q_heads / k_heads > 0: attn_q / attn_k rows are in llama.cpp's RoPE order, put back per head.
  GgufWeights(const GgufFile& file, GgufNameFn name, int64_t q_heads, int64_t k_heads)
      : file_(file), name_(name), q_heads_(q_heads), k_heads_(k_heads) {}
  // A llama file: GgufTensorName, q/k rows permuted.
  GgufWeights(const GgufFile& file, const LlamaConfig& config)
      : GgufWeights(file, GgufTensorName, config.heads, config.kv_heads) {}
  bool Has(const std::string& name) const override;
  // The tensor's ggml type as an acorn dtype, when acorn reads it.
  bool SourceDType(const std::string& name, DType* dtype) const override;
  // Same dtype: the bytes as they are (rows reordered for attn_q/attn_k). Other dtype: each row
  // dequantized to float and quantized/rounded to `dtype`, as a safetensors source would be.
  Result<BundleWriter::Fill> Fill(const std::string& name, const std::vector<int64_t>& shape, DType dtype) const override;

 private:
  const GgufFile& file_;
  GgufNameFn name_;
  int64_t q_heads_, k_heads_;
};

}  // namespace convert
}  // namespace acorn

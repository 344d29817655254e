// Builds the op graph and tensor table of a LLaMA-family decoder (LLaMA, Mistral, Qwen2) from a
// Hugging Face checkpoint: embedding, per layer RMSNorm -> q/k/v (+bias) -> RoPE -> causal GQA
// attention over the KV cache -> o, residual, RMSNorm -> SwiGLU MLP, residual; final norm, LM head.
#pragma once

#include <string>

#include "bundle_writer.h"
#include "hf_config.h"
#include "safetensors.h"

namespace acorn {
namespace convert {

struct ConvertOptions {
  DType dtype = DType::kF16;  // for matrices; norms and biases stay f32
  bool compress = false;
  uint32_t max_tokens = 128;  // rows per step the arena is planned for
  uint32_t context = 0;       // 0: min(max_position_embeddings, 4096)
};

Status BuildLlamaBundle(const LlamaConfig& config, const SafetensorsCheckpoint& ckpt, const ConvertOptions& options,
                        BundleWriter* writer);

}  // namespace convert
}  // namespace acorn

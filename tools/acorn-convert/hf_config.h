// The Hugging Face config.json of a LLaMA-family decoder, in both forms seen in the wild: older
// files with rope_theta / rope_scaling / torch_dtype, newer ones with rope_parameters / dtype.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "acorn/status.h"

namespace acorn {
namespace convert {

struct LlamaConfig {
  std::string architecture;  // LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM
  std::string model_type;
  int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0, vocab = 0;
  int64_t max_positions = 0;
  float rms_eps = 1e-6f;
  bool tie_embeddings = false;
  bool attention_bias = false;  // q/k/v biases (Qwen2 always; LLaMA when attention_bias is set)
  bool mlp_bias = false;
  std::string torch_dtype;
  // RoPE
  std::string rope_type = "default";
  float rope_theta = 10000.0f;
  std::vector<float> inv_freq;  // head_dim / 2 values, scaling applied
  float attention_factor = 1.0f;
  int64_t bos_token_id = -1, eos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
};

Result<LlamaConfig> ReadLlamaConfig(const std::string& dir);
// The same from config.json's text; `label` names it in errors (the fuzz target calls this).
Result<LlamaConfig> ParseLlamaConfig(const std::string& text, const std::string& label);

// Every shape number of `c` inside runtime/core/limits.h, the products that size tensors computed
// without overflow, heads divisible by kv_heads, a finite positive RoPE base, finite positive inverse
// frequencies, a finite non-negative epsilon and token ids inside the vocabulary. Both the Hugging
// Face and the GGUF path call it, so that neither writes a bundle the loader refuses or one whose
// logits are NaN.
Status CheckLlamaConfig(const LlamaConfig& c, const std::string& label);
// Only the shape numbers and their consistency (what must hold before anything is sized by them).
// A shape number of a config (`key` in the file `label`) inside 1..max: the one range check that
// the LLaMA and BERT configs share.
Status ConfigNumberInRange(const std::string& label, const char* key, int64_t v, int64_t max);
Status CheckLlamaShape(const LlamaConfig& c, const std::string& label);

}  // namespace convert
}  // namespace acorn

// llama.cpp's quantization presets (llama-quantize Q4_K_M, Q6_K, ...) as acorn-convert --dtype
// choices: which type each weight matrix of a LLaMA-family model gets. The facts follow
// llama_tensor_get_type in llama.cpp's src/llama-quant.cpp (no importance matrix, no overrides):
// the output matrix (or the tied embedding table) in Q6_K, more bits for attn_v and ffn_down in
// some layers, and llama.cpp's fallback types for rows that are not whole 256-value blocks.
#pragma once

#include <cstdint>
#include <string>

#include "acorn/dtype.h"

namespace acorn {
namespace convert {

enum class QuantPreset { kNone, kQ2_K, kQ3_K_S, kQ3_K_M, kQ3_K_L, kQ4_K_S, kQ4_K_M, kQ5_K_S, kQ5_K_M, kQ6_K };

// "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q3_k" (llama.cpp's alias of q3_k_m), "q4_k_s", "q4_k_m",
// "q4_k" (= q4_k_m), "q5_k_s", "q5_k_m", "q5_k" (= q5_k_m), "q6_k"; false for any other name.
bool ParseQuantPreset(const std::string& name, QuantPreset* preset);
// The names ParseQuantPreset takes, for messages.
const char* QuantPresetNames();
// The preset's base type (Q2_K .. Q6_K), what most matrices get.
DType QuantPresetBaseType(QuantPreset preset);

// The type of the matrix `hf_name` (a Hugging Face name: model.embed_tokens.weight, lm_head.weight,
// model.layers.N.self_attn.v_proj.weight, ...) with rows of `cols` values, in a model of `layers`
// layers with `gqa` query heads per KV head, whose embeddings are tied (no lm_head) or not.
DType QuantPresetMatrixType(QuantPreset preset, const std::string& hf_name, int64_t cols, int64_t layers, int64_t gqa,
                            bool tied);

// llama.cpp's fallback for rows that a 256-value block type cannot hold (Q4_K -> Q5_0,
// Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0, IQ4_XS -> IQ4_NL), then F16 for rows that are
// not whole 32-value blocks either; `type` itself where its blocks fit.
DType FallbackForRows(DType type, int64_t cols);

}  // namespace convert
}  // namespace acorn

#include "hf_config.h"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

namespace acorn {
namespace convert {

namespace {

using nlohmann::json;

int64_t GetInt(const json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}
double GetNumber(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// Inverse frequencies as transformers computes them (float32 arithmetic, then the scaling rules of
// the rope type).
Status ComputeRope(const json& rope, LlamaConfig* c) {
  const int64_t d = c->head_dim;
  c->inv_freq.resize(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
    c->inv_freq[i] = 1.0f / std::pow(c->rope_theta, exponent);
  }
  if (c->rope_type == "default") return Status::Ok();
  if (c->rope_type == "linear") {
    const float factor = static_cast<float>(GetNumber(rope, "factor", 1.0));
    for (float& f : c->inv_freq) f /= factor;
    return Status::Ok();
  }
  if (c->rope_type == "llama3") {
    const double factor = GetNumber(rope, "factor", 8.0);
    const double low = GetNumber(rope, "low_freq_factor", 1.0);
    const double high = GetNumber(rope, "high_freq_factor", 4.0);
    const double old_ctx = GetNumber(rope, "original_max_position_embeddings", 8192);
    const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    for (float& f : c->inv_freq) {
      const double wavelen = 2 * M_PI / f;
      double out = wavelen > low_wavelen ? f / factor : f;
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        const double smooth = (old_ctx / wavelen - low) / (high - low);
        out = (1 - smooth) * out / factor + smooth * out;
      }
      f = static_cast<float>(out);
    }
    return Status::Ok();
  }
  return ACORN_ERROR(kUnsupported, "rope type '%s' is not supported (supported: default, linear, llama3)",
                     c->rope_type.c_str());
}

}  // namespace

Result<LlamaConfig> ReadLlamaConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) return ACORN_ERROR(kNotFound, "%s: not found; SRC must be a Hugging Face model directory", path.c_str());
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return ACORN_ERROR(kMalformed, "%s: not valid JSON", path.c_str());

  LlamaConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()) {
    c.architecture = j["architectures"][0].get<std::string>();
  }
  c.model_type = j.value("model_type", std::string());
  const bool llama = c.architecture == "LlamaForCausalLM" || c.model_type == "llama";
  const bool qwen2 = c.architecture == "Qwen2ForCausalLM" || c.model_type == "qwen2";
  const bool mistral = c.architecture == "MistralForCausalLM" || c.model_type == "mistral";
  if (!llama && !qwen2 && !mistral) {
    return ACORN_ERROR(kUnsupported, "%s: architecture '%s' (model_type '%s') is not supported; acorn-convert reads "
                       "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM", path.c_str(),
                       c.architecture.c_str(), c.model_type.c_str());
  }
  if (c.architecture.empty()) c.architecture = llama ? "LlamaForCausalLM" : qwen2 ? "Qwen2ForCausalLM" : "MistralForCausalLM";
  c.hidden = GetInt(j, "hidden_size", 0);
  c.layers = GetInt(j, "num_hidden_layers", 0);
  c.heads = GetInt(j, "num_attention_heads", 0);
  c.kv_heads = GetInt(j, "num_key_value_heads", c.heads);
  c.intermediate = GetInt(j, "intermediate_size", 0);
  c.vocab = GetInt(j, "vocab_size", 0);
  c.max_positions = GetInt(j, "max_position_embeddings", 2048);
  c.rms_eps = static_cast<float>(GetNumber(j, "rms_norm_eps", 1e-6));
  c.tie_embeddings = j.value("tie_word_embeddings", false);
  c.attention_bias = qwen2 ? true : j.value("attention_bias", false);
  c.mlp_bias = j.value("mlp_bias", false);
  c.torch_dtype = j.contains("dtype") && j["dtype"].is_string() ? j["dtype"].get<std::string>()
                                                                 : j.value("torch_dtype", std::string("float32"));
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.intermediate <= 0 || c.vocab <= 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size and "
                       "vocab_size must all be positive", path.c_str());
  }
  c.head_dim = j.contains("head_dim") && j["head_dim"].is_number_integer() ? j["head_dim"].get<int64_t>() : c.hidden / c.heads;
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.heads % c.kv_heads != 0) {
    return ACORN_ERROR(kUnsupported, "%s: head_dim %lld with %lld heads and %lld key/value heads is not supported",
                       path.c_str(), static_cast<long long>(c.head_dim), static_cast<long long>(c.heads),
                       static_cast<long long>(c.kv_heads));
  }
  if (c.mlp_bias) return ACORN_ERROR(kUnsupported, "%s: mlp_bias=true is not supported", path.c_str());
  if (j.contains("sliding_window") && j["sliding_window"].is_number_integer() && j.value("use_sliding_window", mistral)) {
    const int64_t window = j["sliding_window"].get<int64_t>();
    if (window < c.max_positions) c.max_positions = window;  // exact within the window
  }
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu") return ACORN_ERROR(kUnsupported, "%s: hidden_act '%s' is not supported (silu only)", path.c_str(), act.c_str());

  // RoPE: newer files nest everything in rope_parameters; older ones use rope_theta + rope_scaling.
  json rope = json::object();
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    rope = j["rope_parameters"];
    c.rope_theta = static_cast<float>(GetNumber(rope, "rope_theta", GetNumber(j, "rope_theta", 10000.0)));
  } else {
    c.rope_theta = static_cast<float>(GetNumber(j, "rope_theta", 10000.0));
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) rope = j["rope_scaling"];
  }
  if (rope.contains("rope_type") && rope["rope_type"].is_string()) {
    c.rope_type = rope["rope_type"].get<std::string>();
  } else if (rope.contains("type") && rope["type"].is_string()) {
    c.rope_type = rope["type"].get<std::string>();
  }
  ACORN_RETURN_IF_ERROR(ComputeRope(rope, &c));

  c.bos_token_id = GetInt(j, "bos_token_id", -1);
  if (j.contains("eos_token_id")) {
    if (j["eos_token_id"].is_number_integer()) c.eos_token_ids.push_back(j["eos_token_id"].get<int64_t>());
    if (j["eos_token_id"].is_array()) {
      for (const auto& e : j["eos_token_id"]) {
        if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int64_t>());
      }
    }
  }
  if (!c.eos_token_ids.empty()) c.eos_token_id = c.eos_token_ids[0];
  return c;
}

}  // namespace convert
}  // namespace acorn

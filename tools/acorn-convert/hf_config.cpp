#include "hf_config.h"

#include <cmath>

#include "core/limits.h"
#include "input_file.h"
#include "json_access.h"

namespace acorn {
namespace convert {

namespace {

using tool::Json;
using tool::JsonOptional;

// Inverse frequencies as transformers computes them (float32 arithmetic, then the scaling rules of
// the rope type). Scaling parameters are checked before they divide anything: a factor of 0 gave
// all-NaN logits.
Status ComputeRope(const Json& rope, const std::string& label, LlamaConfig* c) {
  const int64_t d = c->head_dim;
  c->inv_freq.resize(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
    c->inv_freq[i] = 1.0f / std::pow(c->rope_theta, exponent);
  }
  auto positive = [&](const char* key, double v) -> Status {
    if (!(std::isfinite(v) && v > 0)) {
      return ACORN_ERROR(kMalformed, "%s: %s = %g must be a finite positive number", label.c_str(), key, v);
    }
    return Status::Ok();
  };
  if (c->rope_type == "default") return Status::Ok();
  if (c->rope_type == "linear") {
    double factor = 1.0;
    ACORN_RETURN_IF_ERROR(JsonOptional(rope, "factor", label + ": rope scaling", &factor));
    ACORN_RETURN_IF_ERROR(positive("the rope scaling factor", factor));
    for (float& f : c->inv_freq) f /= static_cast<float>(factor);
    return Status::Ok();
  }
  if (c->rope_type == "llama3") {
    double factor = 8.0, low = 1.0, high = 4.0, old_ctx = 8192;
    const std::string where = label + ": rope scaling";
    ACORN_RETURN_IF_ERROR(JsonOptional(rope, "factor", where, &factor));
    ACORN_RETURN_IF_ERROR(JsonOptional(rope, "low_freq_factor", where, &low));
    ACORN_RETURN_IF_ERROR(JsonOptional(rope, "high_freq_factor", where, &high));
    ACORN_RETURN_IF_ERROR(JsonOptional(rope, "original_max_position_embeddings", where, &old_ctx));
    ACORN_RETURN_IF_ERROR(positive("the rope scaling factor", factor));
    ACORN_RETURN_IF_ERROR(positive("low_freq_factor", low));
    ACORN_RETURN_IF_ERROR(positive("high_freq_factor", high));
    ACORN_RETURN_IF_ERROR(positive("original_max_position_embeddings", old_ctx));
    if (!(high > low)) {
      return ACORN_ERROR(kMalformed, "%s: high_freq_factor %g must be greater than low_freq_factor %g", label.c_str(),
                         high, low);
    }
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

Status ConfigNumberInRange(const std::string& label, const char* key, int64_t v, int64_t max) {
  if (v <= 0 || v > max) {
    return ACORN_ERROR(kOutOfRange, "%s: %s = %lld is outside 1..%lld", label.c_str(), key, static_cast<long long>(v),
                       static_cast<long long>(max));
  }
  return Status::Ok();
}

Status CheckLlamaShape(const LlamaConfig& c, const std::string& label) {
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "hidden size", c.hidden, limits::kMaxHidden));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "layer count", c.layers, limits::kMaxLayers));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "attention head count", c.heads, limits::kMaxHeads));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "key/value head count", c.kv_heads, limits::kMaxHeads));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "head_dim", c.head_dim, limits::kMaxHeadDim));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "intermediate (feed-forward) size", c.intermediate, limits::kMaxFfn));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "vocabulary size", c.vocab, limits::kMaxVocab));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "max_position_embeddings", c.max_positions, limits::kMaxContext));
  // With every number bounded above, products such as heads * head_dim (at most 2^24) and the tensor
  // sizes built from them fit easily in int64.
  if (c.head_dim % 2 != 0 || c.heads % c.kv_heads != 0) {
    return ACORN_ERROR(kUnsupported, "%s: head_dim %lld with %lld heads and %lld key/value heads is not supported (head_dim "
                       "must be even and the heads a multiple of the key/value heads)", label.c_str(),
                       static_cast<long long>(c.head_dim), static_cast<long long>(c.heads),
                       static_cast<long long>(c.kv_heads));
  }
  return Status::Ok();
}

Status CheckLlamaConfig(const LlamaConfig& c, const std::string& label) {
  ACORN_RETURN_IF_ERROR(CheckLlamaShape(c, label));
  if (!(std::isfinite(c.rms_eps) && c.rms_eps >= 0)) {
    return ACORN_ERROR(kMalformed, "%s: rms_norm_eps = %g must be a finite number >= 0", label.c_str(), c.rms_eps);
  }
  if (!(std::isfinite(c.rope_theta) && c.rope_theta > 0)) {
    return ACORN_ERROR(kMalformed, "%s: rope_theta = %g must be a finite positive number", label.c_str(), c.rope_theta);
  }
  if (static_cast<int64_t>(c.inv_freq.size()) != c.head_dim / 2) {
    return ACORN_ERROR(kInternal, "%s: %zu RoPE frequencies for head_dim %lld", label.c_str(), c.inv_freq.size(),
                       static_cast<long long>(c.head_dim));
  }
  for (size_t i = 0; i < c.inv_freq.size(); ++i) {
    if (!(std::isfinite(c.inv_freq[i]) && c.inv_freq[i] > 0)) {
      return ACORN_ERROR(kMalformed, "%s: RoPE frequency %zu is %g (the RoPE base or scaling parameters are out of "
                         "range)", label.c_str(), i, c.inv_freq[i]);
    }
  }
  if (!(std::isfinite(c.attention_factor) && c.attention_factor > 0)) {
    return ACORN_ERROR(kMalformed, "%s: the RoPE attention factor %g must be finite and positive", label.c_str(),
                       c.attention_factor);
  }
  if (c.bos_token_id >= c.vocab) {
    return ACORN_ERROR(kOutOfRange, "%s: bos_token_id %lld is outside the vocabulary of %lld", label.c_str(),
                       static_cast<long long>(c.bos_token_id), static_cast<long long>(c.vocab));
  }
  for (int64_t id : c.eos_token_ids) {
    if (id < 0 || id >= c.vocab) {
      return ACORN_ERROR(kOutOfRange, "%s: eos_token_id %lld is outside the vocabulary of %lld", label.c_str(),
                         static_cast<long long>(id), static_cast<long long>(c.vocab));
    }
  }
  return Status::Ok();
}

Result<LlamaConfig> ReadLlamaConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!tool::PathExists(path)) {
    return ACORN_ERROR(kNotFound, "%s: not found; SRC must be a Hugging Face model directory", path.c_str());
  }
  std::string text;
  ACORN_RETURN_IF_ERROR(tool::ReadRegularFile(path, limits::kMaxJsonBytes, "config.json", &text));
  return ParseLlamaConfig(text, path);
}

Result<LlamaConfig> ParseLlamaConfig(const std::string& text, const std::string& path) {
  ACORN_ASSIGN_OR_RETURN(Json j, tool::ParseJson(text.data(), text.size(), path));
  if (!j.is_object()) return ACORN_ERROR(kMalformed, "%s: not a JSON object", path.c_str());

  LlamaConfig c;
  const Json* archs = nullptr;
  ACORN_RETURN_IF_ERROR(tool::JsonOptionalArray(j, "architectures", path, &archs));
  if (archs != nullptr && !archs->empty()) {
    ACORN_RETURN_IF_ERROR(tool::JsonAs((*archs)[0], path + ": architectures[0]", &c.architecture));
  }
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "model_type", path, &c.model_type));
  const bool llama = c.architecture == "LlamaForCausalLM" || c.model_type == "llama";
  const bool qwen2 = c.architecture == "Qwen2ForCausalLM" || c.model_type == "qwen2";
  const bool mistral = c.architecture == "MistralForCausalLM" || c.model_type == "mistral";
  if (!llama && !qwen2 && !mistral) {
    return ACORN_ERROR(kUnsupported, "%s: architecture '%s' (model_type '%s') is not supported; acorn-convert reads "
                       "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM", path.c_str(),
                       c.architecture.c_str(), c.model_type.c_str());
  }
  if (c.architecture.empty()) c.architecture = llama ? "LlamaForCausalLM" : qwen2 ? "Qwen2ForCausalLM" : "MistralForCausalLM";
  c.max_positions = 2048;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "hidden_size", path, &c.hidden));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "num_hidden_layers", path, &c.layers));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "num_attention_heads", path, &c.heads));
  c.kv_heads = c.heads;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "num_key_value_heads", path, &c.kv_heads));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "intermediate_size", path, &c.intermediate));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "vocab_size", path, &c.vocab));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "max_position_embeddings", path, &c.max_positions));
  double eps = 1e-6;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "rms_norm_eps", path, &eps));
  c.rms_eps = static_cast<float>(eps);
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "tie_word_embeddings", path, &c.tie_embeddings));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "attention_bias", path, &c.attention_bias));
  if (qwen2) c.attention_bias = true;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "mlp_bias", path, &c.mlp_bias));
  c.torch_dtype = "float32";
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "torch_dtype", path, &c.torch_dtype));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "dtype", path, &c.torch_dtype));
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.intermediate <= 0 || c.vocab <= 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, "
                       "intermediate_size and vocab_size must all be positive", path.c_str());
  }
  // Range first, so that the division and every later product are on bounded numbers.
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(path, "hidden_size", c.hidden, limits::kMaxHidden));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(path, "num_attention_heads", c.heads, limits::kMaxHeads));
  c.head_dim = 0;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "head_dim", path, &c.head_dim));
  if (c.head_dim == 0) {
    if (c.hidden % c.heads != 0) {
      return ACORN_ERROR(kMalformed, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld (give head_dim "
                         "if the heads are not hidden_size / num_attention_heads wide)", path.c_str(),
                         static_cast<long long>(c.hidden), static_cast<long long>(c.heads));
    }
    c.head_dim = c.hidden / c.heads;
  }
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(path, "head_dim", c.head_dim, limits::kMaxHeadDim));
  if (c.mlp_bias) return ACORN_ERROR(kUnsupported, "%s: mlp_bias=true is not supported", path.c_str());
  int64_t window = 0;
  bool use_window = mistral;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "sliding_window", path, &window));
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "use_sliding_window", path, &use_window));
  if (window != 0 && use_window) {
    if (window < 0) return ACORN_ERROR(kMalformed, "%s: sliding_window %lld is negative", path.c_str(), static_cast<long long>(window));
    if (window < c.max_positions) c.max_positions = window;  // exact within the window
  }
  std::string act = "silu";
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "hidden_act", path, &act));
  if (act != "silu") return ACORN_ERROR(kUnsupported, "%s: hidden_act '%s' is not supported (silu only)", path.c_str(), act.c_str());

  // RoPE: newer files nest everything in rope_parameters; older ones use rope_theta + rope_scaling.
  static const Json kEmpty = Json::object();
  const Json* params = nullptr;
  const Json* scaling = nullptr;
  ACORN_RETURN_IF_ERROR(tool::JsonOptionalObject(j, "rope_parameters", path, &params));
  ACORN_RETURN_IF_ERROR(tool::JsonOptionalObject(j, "rope_scaling", path, &scaling));
  double theta = 10000.0;
  ACORN_RETURN_IF_ERROR(JsonOptional(j, "rope_theta", path, &theta));
  const Json* rope = &kEmpty;
  std::string rope_label = path;
  if (params != nullptr) {
    rope = params;
    rope_label = path + ": rope_parameters";
    ACORN_RETURN_IF_ERROR(JsonOptional(*rope, "rope_theta", rope_label, &theta));
  } else if (scaling != nullptr) {
    rope = scaling;
    rope_label = path + ": rope_scaling";
  }
  ACORN_RETURN_IF_ERROR(CheckLlamaShape(c, path));
  c.rope_theta = static_cast<float>(theta);
  if (!(std::isfinite(c.rope_theta) && c.rope_theta > 0)) {
    return ACORN_ERROR(kMalformed, "%s: rope_theta = %g must be a finite positive number", path.c_str(), theta);
  }
  std::string type;
  ACORN_RETURN_IF_ERROR(JsonOptional(*rope, "type", rope_label, &type));
  ACORN_RETURN_IF_ERROR(JsonOptional(*rope, "rope_type", rope_label, &type));
  if (!type.empty()) c.rope_type = type;
  ACORN_RETURN_IF_ERROR(ComputeRope(*rope, rope_label, &c));

  ACORN_RETURN_IF_ERROR(JsonOptional(j, "bos_token_id", path, &c.bos_token_id));
  auto eos = j.find("eos_token_id");
  if (eos != j.end() && !eos->is_null()) {
    if (eos->is_array()) {
      for (size_t i = 0; i < eos->size(); ++i) {
        int64_t id = 0;
        ACORN_RETURN_IF_ERROR(tool::JsonAs((*eos)[i], path + ": eos_token_id[" + std::to_string(i) + "]", &id));
        c.eos_token_ids.push_back(id);
      }
    } else {
      int64_t id = 0;
      ACORN_RETURN_IF_ERROR(tool::JsonAs(*eos, tool::JsonWhere(path, "eos_token_id"), &id));
      c.eos_token_ids.push_back(id);
    }
  }
  if (!c.eos_token_ids.empty()) c.eos_token_id = c.eos_token_ids[0];
  ACORN_RETURN_IF_ERROR(CheckLlamaConfig(c, path));
  return c;
}

}  // namespace convert
}  // namespace acorn

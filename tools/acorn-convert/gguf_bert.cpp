#include "gguf_bert.h"

#include <map>

#include "gguf_weights.h"

namespace acorn {
namespace convert {

namespace {
bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

std::string BertGgufTensorName(const std::string& hf) {
  // llama.cpp's BertModel conversion: the "bert." prefix dropped, then these names.
  static const std::map<std::string, std::string> kTop = {
      {"embeddings.word_embeddings.weight", "token_embd.weight"},
      {"embeddings.position_embeddings.weight", "position_embd.weight"},
      {"embeddings.token_type_embeddings.weight", "token_types.weight"},
      {"embeddings.LayerNorm.weight", "token_embd_norm.weight"},
      {"embeddings.LayerNorm.bias", "token_embd_norm.bias"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"attention.self.query", "attn_q"},           {"attention.self.key", "attn_k"},
      {"attention.self.value", "attn_v"},           {"attention.output.dense", "attn_output"},
      {"attention.output.LayerNorm", "attn_output_norm"}, {"intermediate.dense", "ffn_up"},
      {"output.dense", "ffn_down"},                 {"output.LayerNorm", "layer_output_norm"},
  };
  const std::string name = StartsWith(hf, "bert.") ? hf.substr(5) : hf;
  auto top = kTop.find(name);
  if (top != kTop.end()) return top->second;
  const std::string prefix = "encoder.layer.";
  if (!StartsWith(name, prefix.c_str())) return "";
  const size_t dot = name.find('.', prefix.size());
  const size_t last = name.find_last_of('.');
  if (dot == std::string::npos || last <= dot) return "";
  auto layer = kLayer.find(name.substr(dot + 1, last - dot - 1));
  if (layer == kLayer.end()) return "";
  return "blk." + name.substr(prefix.size(), dot - prefix.size()) + "." + layer->second + name.substr(last);
}

Result<BertConfig> BertConfigFromGguf(const GgufFile& f) {
  const std::string& path = f.label();
  BertConfig c;
  c.architecture = "BertModel";
  c.model_type = "bert";
  const std::string p = "bert.";
  ACORN_ASSIGN_OR_RETURN(c.hidden, f.GetInt(p + "embedding_length", 0));
  ACORN_ASSIGN_OR_RETURN(c.layers, f.GetInt(p + "block_count", 0));
  ACORN_ASSIGN_OR_RETURN(c.intermediate, f.GetInt(p + "feed_forward_length", 0));
  ACORN_ASSIGN_OR_RETURN(c.heads, f.GetInt(p + "attention.head_count", 0));
  ACORN_ASSIGN_OR_RETURN(c.max_positions, f.GetInt(p + "context_length", 0));
  ACORN_ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_epsilon", 1e-12));
  c.layer_norm_eps = static_cast<float>(eps);
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.intermediate <= 0 || c.max_positions <= 0) {
    return ACORN_ERROR(kMalformed, "%s: bert.embedding_length, block_count, feed_forward_length, attention.head_count "
                       "and context_length must all be present and positive", path.c_str());
  }
  if (c.hidden % c.heads != 0) {
    return ACORN_ERROR(kMalformed, "%s: bert.embedding_length %lld is not a multiple of the %lld heads", path.c_str(),
                       static_cast<long long>(c.hidden), static_cast<long long>(c.heads));
  }
  ACORN_ASSIGN_OR_RETURN(bool causal, f.GetBool(p + "attention.causal", false));
  if (causal) return ACORN_ERROR(kUnsupported, "%s: a causal bert model is not supported", path.c_str());
  const GgufTensor* embd = f.FindTensor("token_embd.weight");
  const GgufTensor* types = f.FindTensor("token_types.weight");
  if (embd == nullptr || embd->ne.size() != 2) return ACORN_ERROR(kMalformed, "%s: no 2-D token_embd.weight tensor", path.c_str());
  if (types == nullptr || types->ne.size() != 2) {
    return ACORN_ERROR(kMalformed, "%s: no 2-D token_types.weight tensor (BERT's token type embeddings)", path.c_str());
  }
  c.vocab = static_cast<int64_t>(embd->ne[1]);
  c.type_vocab = static_cast<int64_t>(types->ne[1]);
  // llama_pooling_type: 0 none, 1 mean, 2 CLS, 3 last, 4 rank.
  ACORN_ASSIGN_OR_RETURN(int64_t pooling, f.GetInt(p + "pooling_type", 1));
  if (pooling == 0 || pooling == 1) {
    c.pooling = "mean";
  } else if (pooling == 2) {
    c.pooling = "cls";
  } else {
    return ACORN_ERROR(kUnsupported, "%s: bert.pooling_type %lld is not supported (mean and CLS are)", path.c_str(),
                       static_cast<long long>(pooling));
  }
  c.normalize = true;
  c.pooling_source = "gguf";
  bool mixed = false;
  ACORN_ASSIGN_OR_RETURN(DType matrices, GgufMatrixDType(f, &mixed));
  c.torch_dtype = std::string("gguf ") + DTypeName(matrices) + (mixed ? " (mixed)" : "");
  ACORN_RETURN_IF_ERROR(CheckBertConfig(c, path));
  return c;
}

}  // namespace convert
}  // namespace acorn

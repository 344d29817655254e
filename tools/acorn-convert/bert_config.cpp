#include "bert_config.h"

#include <fstream>

#include <nlohmann/json.hpp>

namespace acorn {
namespace convert {

namespace {

using nlohmann::json;

bool ReadJson(const std::string& path, json* out) {
  std::ifstream in(path);
  if (!in) return false;
  *out = json::parse(in, nullptr, false);
  return !out->is_discarded();
}

int64_t GetInt(const json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

// Missing or non-string values (null is common) read as the fallback instead of throwing.
std::string GetStr(const json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string FirstArchitecture(const json& j) {
  auto it = j.find("architectures");
  if (it == j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return "";
  return (*it)[0].get<std::string>();
}

bool TrueField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// sentence-transformers' module list: which pooling, and whether a Normalize module follows.
Status ReadSentenceTransformers(const std::string& dir, BertConfig* c) {
  json modules;
  if (!ReadJson(dir + "/modules.json", &modules)) return Status::Ok();  // plain transformers checkpoint
  if (!modules.is_array()) return ACORN_ERROR(kMalformed, "%s/modules.json: expected a list of modules", dir.c_str());
  c->pooling_source = "sentence-transformers";
  c->normalize = false;
  bool pooled = false;
  for (const json& m : modules) {
    const std::string type = GetStr(m, "type", "");
    const std::string path = GetStr(m, "path", "");
    if (type.find("models.Normalize") != std::string::npos) {
      c->normalize = true;
    } else if (type.find("models.Pooling") != std::string::npos) {
      json p;
      const std::string file = dir + "/" + path + "/config.json";
      if (!ReadJson(file, &p)) return ACORN_ERROR(kNotFound, "%s: missing or not JSON (the Pooling module's settings)", file.c_str());
      if (TrueField(p, "pooling_mode_max_tokens") || TrueField(p, "pooling_mode_mean_sqrt_len_tokens") ||
          TrueField(p, "pooling_mode_weightedmean_tokens") || TrueField(p, "pooling_mode_lasttoken")) {
        return ACORN_ERROR(kUnsupported, "%s: only mean or CLS pooling is supported", file.c_str());
      }
      const bool cls = TrueField(p, "pooling_mode_cls_token"), mean = TrueField(p, "pooling_mode_mean_tokens");
      if (cls == mean) return ACORN_ERROR(kUnsupported, "%s: exactly one of pooling_mode_cls_token and pooling_mode_mean_tokens must be true", file.c_str());
      c->pooling = cls ? "cls" : "mean";
      pooled = true;
    } else if (type.find("models.Transformer") == std::string::npos) {
      return ACORN_ERROR(kUnsupported, "%s/modules.json: module '%s' is not supported (only Transformer, Pooling, Normalize)",
                         dir.c_str(), type.c_str());
    }
  }
  // sentence-transformers itself adds mean pooling to a module list without one.
  if (!pooled) c->pooling = "mean";
  return Status::Ok();
}

}  // namespace

bool IsBertDirectory(const std::string& dir) {
  json j;
  if (!ReadJson(dir + "/config.json", &j) || !j.is_object()) return false;
  return GetStr(j, "model_type", "") == "bert" || FirstArchitecture(j).rfind("Bert", 0) == 0;
}

Result<BertConfig> ReadBertConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  json j;
  if (!ReadJson(path, &j) || !j.is_object()) {
    return ACORN_ERROR(kNotFound, "%s: missing or not valid JSON; SRC must be a Hugging Face model directory", path.c_str());
  }
  BertConfig c;
  c.architecture = FirstArchitecture(j);
  if (c.architecture.empty()) c.architecture = "BertModel";
  c.model_type = GetStr(j, "model_type", "");
  if (c.architecture != "BertModel" && c.architecture != "BertForSequenceClassification") {
    return ACORN_ERROR(kUnsupported, "%s: architecture '%s' is not supported; acorn-convert reads BertModel and "
                       "BertForSequenceClassification (and sentence-transformers directories of BertModel)",
                       path.c_str(), c.architecture.c_str());
  }
  c.hidden = GetInt(j, "hidden_size", 0);
  c.layers = GetInt(j, "num_hidden_layers", 0);
  c.heads = GetInt(j, "num_attention_heads", 0);
  c.intermediate = GetInt(j, "intermediate_size", 0);
  c.vocab = GetInt(j, "vocab_size", 0);
  c.max_positions = GetInt(j, "max_position_embeddings", 512);
  c.type_vocab = GetInt(j, "type_vocab_size", 2);
  auto eps = j.find("layer_norm_eps");
  if (eps != j.end() && eps->is_number()) c.layer_norm_eps = eps->get<float>();
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.intermediate <= 0 || c.vocab <= 0 || c.type_vocab <= 0 ||
      c.max_positions <= 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, "
                       "vocab_size, max_position_embeddings and type_vocab_size must be positive", path.c_str());
  }
  if (c.hidden % c.heads != 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path.c_str(),
                       static_cast<long long>(c.hidden), static_cast<long long>(c.heads));
  }
  const std::string act = GetStr(j, "hidden_act", "gelu");
  if (act != "gelu") {
    return ACORN_ERROR(kUnsupported, "%s: hidden_act '%s' is not supported (only exact 'gelu')", path.c_str(), act.c_str());
  }
  const std::string pos = GetStr(j, "position_embedding_type", "absolute");
  if (pos != "absolute") {
    return ACORN_ERROR(kUnsupported, "%s: position_embedding_type '%s' is not supported (only 'absolute')", path.c_str(),
                       pos.c_str());
  }
  if (TrueField(j, "is_decoder") || TrueField(j, "add_cross_attention")) {
    return ACORN_ERROR(kUnsupported, "%s: BERT as a decoder (is_decoder, add_cross_attention) is not supported", path.c_str());
  }
  if (c.architecture == "BertForSequenceClassification") {
    c.num_labels = GetInt(j, "num_labels", 0);
    auto labels = j.find("id2label");
    if (c.num_labels <= 0 && labels != j.end() && labels->is_object()) c.num_labels = static_cast<int64_t>(labels->size());
    if (c.num_labels <= 0) c.num_labels = 2;  // transformers' default
  }
  c.torch_dtype = GetStr(j, "torch_dtype", GetStr(j, "dtype", ""));
  ACORN_RETURN_IF_ERROR(ReadSentenceTransformers(dir, &c));
  return c;
}

}  // namespace convert
}  // namespace acorn

#include "bert_config.h"

#include <cmath>

#include "core/limits.h"
#include "hf_config.h"
#include "input_file.h"
#include "json_access.h"

namespace acorn {
namespace convert {

namespace {

using tool::Json;
using json = tool::Json;

// Reads dir/<name> when it exists. A file that is there but unreadable, not a regular file or not
// JSON is an error, not "absent".
Status ReadJson(const std::string& path, json* out, bool* found) {
  *found = tool::PathExists(path);
  if (!*found) return Status::Ok();
  ACORN_ASSIGN_OR_RETURN(*out, tool::ReadJsonFile(path));
  return Status::Ok();
}

// Missing and null values read as the fallback; a value of another type is an error naming the key.
Result<int64_t> GetInt(const json& j, const char* key, int64_t fallback, const std::string& label) {
  int64_t v = fallback;
  ACORN_RETURN_IF_ERROR(tool::JsonOptional(j, key, label, &v));
  return v;
}
Result<std::string> GetStr(const json& j, const char* key, const std::string& fallback, const std::string& label) {
  std::string v = fallback;
  ACORN_RETURN_IF_ERROR(tool::JsonOptional(j, key, label, &v));
  return v;
}

std::string FirstArchitecture(const json& j) {
  auto it = j.is_object() ? j.find("architectures") : j.end();
  if (!j.is_object() || it == j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return "";
  return (*it)[0].get<std::string>();
}

// A flag that is true; absent, null and false are false, anything else is an error.
Result<bool> TrueField(const json& j, const char* key, const std::string& label) {
  bool v = false;
  ACORN_RETURN_IF_ERROR(tool::JsonOptional(j, key, label, &v));
  return v;
}

// sentence-transformers' module list: which pooling, and whether a Normalize module follows.
Status ReadSentenceTransformers(const std::string& dir, BertConfig* c) {
  json modules;
  bool found = false;
  const std::string modules_path = dir + "/modules.json";
  ACORN_RETURN_IF_ERROR(ReadJson(modules_path, &modules, &found));
  if (!found) return Status::Ok();  // plain transformers checkpoint
  if (!modules.is_array()) return ACORN_ERROR(kMalformed, "%s: expected a list of modules", modules_path.c_str());
  c->pooling_source = "sentence-transformers";
  c->normalize = false;
  bool pooled = false;
  for (size_t i = 0; i < modules.size(); ++i) {
    const json& m = modules[i];
    const std::string label = modules_path + ": module " + std::to_string(i);
    ACORN_ASSIGN_OR_RETURN(const std::string type, GetStr(m, "type", "", label));
    ACORN_ASSIGN_OR_RETURN(const std::string path, GetStr(m, "path", "", label));
    if (type.find("models.Normalize") != std::string::npos) {
      c->normalize = true;
    } else if (type.find("models.Pooling") != std::string::npos) {
      json p;
      const std::string file = dir + "/" + path + "/config.json";
      ACORN_RETURN_IF_ERROR(ReadJson(file, &p, &found));
      if (!found) return ACORN_ERROR(kNotFound, "%s: missing (the Pooling module's settings)", file.c_str());
      for (const char* key : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                              "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
        ACORN_ASSIGN_OR_RETURN(bool on, TrueField(p, key, file));
        if (on) return ACORN_ERROR(kUnsupported, "%s: only mean or CLS pooling is supported", file.c_str());
      }
      ACORN_ASSIGN_OR_RETURN(const bool cls, TrueField(p, "pooling_mode_cls_token", file));
      ACORN_ASSIGN_OR_RETURN(const bool mean, TrueField(p, "pooling_mode_mean_tokens", file));
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

Status CheckBertConfig(const BertConfig& c, const std::string& label) {
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "hidden size", c.hidden, limits::kMaxHidden));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "layer count", c.layers, limits::kMaxLayers));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "attention head count", c.heads, limits::kMaxHeads));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "intermediate (feed-forward) size", c.intermediate, limits::kMaxFfn));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "vocabulary size", c.vocab, limits::kMaxVocab));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "max_position_embeddings", c.max_positions, limits::kMaxContext));
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "type_vocab_size", c.type_vocab, limits::kMaxVocab));
  if (c.num_labels < 0 || c.num_labels > int64_t{limits::kMaxVocab}) {
    return ACORN_ERROR(kOutOfRange, "%s: num_labels %lld is outside 0..%u", label.c_str(),
                       static_cast<long long>(c.num_labels), limits::kMaxVocab);
  }
  if (c.hidden % c.heads != 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden size %lld is not a multiple of the %lld attention heads", label.c_str(),
                       static_cast<long long>(c.hidden), static_cast<long long>(c.heads));
  }
  ACORN_RETURN_IF_ERROR(ConfigNumberInRange(label, "head size (hidden / heads)", c.hidden / c.heads, limits::kMaxHeadDim));
  if (!(std::isfinite(c.layer_norm_eps) && c.layer_norm_eps >= 0)) {
    return ACORN_ERROR(kMalformed, "%s: layer_norm_eps = %g must be a finite number >= 0", label.c_str(), c.layer_norm_eps);
  }
  return Status::Ok();
}

bool IsBertDirectory(const std::string& dir) {
  json j;
  bool found = false;
  if (!ReadJson(dir + "/config.json", &j, &found).ok() || !found || !j.is_object()) return false;
  auto type = j.find("model_type");
  return (type != j.end() && type->is_string() && *type == "bert") || FirstArchitecture(j).rfind("Bert", 0) == 0;
}

Result<BertConfig> ReadBertConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  json j;
  bool found = false;
  ACORN_RETURN_IF_ERROR(ReadJson(path, &j, &found));
  if (!found || !j.is_object()) {
    return ACORN_ERROR(kNotFound, "%s: missing or not a JSON object; SRC must be a Hugging Face model directory", path.c_str());
  }
  BertConfig c;
  c.architecture = FirstArchitecture(j);
  if (c.architecture.empty()) c.architecture = "BertModel";
  ACORN_ASSIGN_OR_RETURN(c.model_type, GetStr(j, "model_type", "", path));
  if (c.architecture != "BertModel" && c.architecture != "BertForSequenceClassification") {
    return ACORN_ERROR(kUnsupported, "%s: architecture '%s' is not supported; acorn-convert reads BertModel and "
                       "BertForSequenceClassification (and sentence-transformers directories of BertModel)",
                       path.c_str(), c.architecture.c_str());
  }
  ACORN_ASSIGN_OR_RETURN(c.hidden, GetInt(j, "hidden_size", 0, path));
  ACORN_ASSIGN_OR_RETURN(c.layers, GetInt(j, "num_hidden_layers", 0, path));
  ACORN_ASSIGN_OR_RETURN(c.heads, GetInt(j, "num_attention_heads", 0, path));
  ACORN_ASSIGN_OR_RETURN(c.intermediate, GetInt(j, "intermediate_size", 0, path));
  ACORN_ASSIGN_OR_RETURN(c.vocab, GetInt(j, "vocab_size", 0, path));
  ACORN_ASSIGN_OR_RETURN(c.max_positions, GetInt(j, "max_position_embeddings", 512, path));
  ACORN_ASSIGN_OR_RETURN(c.type_vocab, GetInt(j, "type_vocab_size", 2, path));
  double eps = c.layer_norm_eps;
  ACORN_RETURN_IF_ERROR(tool::JsonOptional(j, "layer_norm_eps", path, &eps));
  c.layer_norm_eps = static_cast<float>(eps);
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.intermediate <= 0 || c.vocab <= 0 || c.type_vocab <= 0 ||
      c.max_positions <= 0) {
    return ACORN_ERROR(kMalformed, "%s: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, "
                       "vocab_size, max_position_embeddings and type_vocab_size must be positive", path.c_str());
  }
  ACORN_ASSIGN_OR_RETURN(const std::string act, GetStr(j, "hidden_act", "gelu", path));
  if (act != "gelu") {
    return ACORN_ERROR(kUnsupported, "%s: hidden_act '%s' is not supported (only exact 'gelu')", path.c_str(), act.c_str());
  }
  ACORN_ASSIGN_OR_RETURN(const std::string pos, GetStr(j, "position_embedding_type", "absolute", path));
  if (pos != "absolute") {
    return ACORN_ERROR(kUnsupported, "%s: position_embedding_type '%s' is not supported (only 'absolute')", path.c_str(),
                       pos.c_str());
  }
  ACORN_ASSIGN_OR_RETURN(const bool is_decoder, TrueField(j, "is_decoder", path));
  ACORN_ASSIGN_OR_RETURN(const bool cross, TrueField(j, "add_cross_attention", path));
  if (is_decoder || cross) {
    return ACORN_ERROR(kUnsupported, "%s: BERT as a decoder (is_decoder, add_cross_attention) is not supported", path.c_str());
  }
  if (c.architecture == "BertForSequenceClassification") {
    ACORN_ASSIGN_OR_RETURN(c.num_labels, GetInt(j, "num_labels", 0, path));
    const Json* labels = nullptr;
    ACORN_RETURN_IF_ERROR(tool::JsonOptionalObject(j, "id2label", path, &labels));
    if (c.num_labels <= 0 && labels != nullptr) c.num_labels = static_cast<int64_t>(labels->size());
    if (c.num_labels <= 0) c.num_labels = 2;  // transformers' default
  }
  ACORN_ASSIGN_OR_RETURN(const std::string dtype, GetStr(j, "dtype", "", path));
  ACORN_ASSIGN_OR_RETURN(c.torch_dtype, GetStr(j, "torch_dtype", dtype, path));
  ACORN_RETURN_IF_ERROR(CheckBertConfig(c, path));
  ACORN_RETURN_IF_ERROR(ReadSentenceTransformers(dir, &c));
  return c;
}

}  // namespace convert
}  // namespace acorn

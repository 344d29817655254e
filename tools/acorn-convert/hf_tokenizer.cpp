#include "hf_tokenizer.h"

#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "sentencepiece_model.h"
#include "tokenizer_flatbuffer.h"
#include "tokenizer_json.h"

namespace acorn {
namespace convert {

namespace {
bool Exists(const std::string& path) { return std::ifstream(path).good(); }
}  // namespace

Status AttachHfTokenizer(const std::string& dir, BundleWriter* writer, std::string* what) {
  *what = "none";
  std::string source;
  Result<TokenizerSpec> spec = ACORN_ERROR(kNotFound, "no tokenizer");
  if (Exists(dir + "/tokenizer.json")) {
    source = "tokenizer.json";
    spec = LoadTokenizerJsonFile(dir + "/tokenizer.json");
  } else if (Exists(dir + "/tokenizer.model")) {
    source = "tokenizer.model";
    spec = LoadSentencePieceModelFile(dir + "/tokenizer.model");
  }
  if (!source.empty()) {
    if (!spec.ok()) return Status(spec.status().code(), dir + "/" + source + ": " + spec.status().message());
    auto shared = std::make_shared<TokenizerSpec>(std::move(spec).value());
    *what = source + " (" + std::to_string(shared->vocab.size()) + " tokens)";
    writer->SetTokenizer([shared](flatbuffers::FlatBufferBuilder& b) { return WriteTokenizer(b, *shared); });
  }
  std::ifstream tc(dir + "/tokenizer_config.json");
  if (tc) {
    nlohmann::json j = nlohmann::json::parse(tc, nullptr, false);
    // The special-token strings templates write as bos_token / eos_token.
    for (const char* key : {"bos_token", "eos_token"}) {
      if (j.is_discarded() || !j.contains(key)) continue;
      const nlohmann::json& v = j[key];
      if (v.is_string()) writer->SetString(std::string("tokenizer.") + key, v.get<std::string>());
      if (v.is_object() && v.contains("content") && v["content"].is_string()) {
        writer->SetString(std::string("tokenizer.") + key, v["content"].get<std::string>());
      }
    }
    if (!j.is_discarded() && j.contains("chat_template")) {
      const nlohmann::json& t = j["chat_template"];
      if (t.is_string()) {
        writer->SetChatTemplate(t.get<std::string>());
      } else if (t.is_array()) {  // named templates: take "default"
        for (const auto& e : t) {
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
            writer->SetChatTemplate(e["template"].get<std::string>());
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace convert
}  // namespace acorn

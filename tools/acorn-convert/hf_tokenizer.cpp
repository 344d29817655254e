#include "hf_tokenizer.h"

#include <memory>

#include "core/limits.h"
#include "input_file.h"
#include "json_access.h"
#include "sentencepiece_model.h"
#include "tokenizer_flatbuffer.h"
#include "tokenizer_json.h"

namespace acorn {
namespace convert {

using tool::Json;

Status ApplyTokenizerConfig(const std::string& text, const std::string& label, BundleWriter* writer) {
  ACORN_ASSIGN_OR_RETURN(Json j, tool::ParseJson(text.data(), text.size(), label));
  if (!j.is_object()) return ACORN_ERROR(kMalformed, "%s: not a JSON object", label.c_str());
  // The special-token strings templates write as bos_token / eos_token: a string, or an AddedToken
  // object with the string as its content. null (Qwen's bos_token) is recorded as "": the template
  // then sees the token undefined, as in transformers, rather than the token of a bos_token_id.
  for (const char* key : {"bos_token", "eos_token"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (it->is_null()) {
      writer->SetString(std::string("tokenizer.") + key, "");
      continue;
    }
    std::string value;
    if (it->is_object()) {
      ACORN_RETURN_IF_ERROR(tool::JsonRequire(*it, "content", tool::JsonWhere(label, key), &value));
    } else {
      ACORN_RETURN_IF_ERROR(tool::JsonAs(*it, tool::JsonWhere(label, key), &value));
    }
    writer->SetString(std::string("tokenizer.") + key, value);
  }
  auto t = j.find("chat_template");
  if (t == j.end() || t->is_null()) return Status::Ok();
  if (t->is_array()) {  // named templates: take "default"
    for (size_t i = 0; i < t->size(); ++i) {
      const Json& e = (*t)[i];
      const std::string where = label + ": chat_template[" + std::to_string(i) + "]";
      std::string name, text_value;
      ACORN_RETURN_IF_ERROR(tool::JsonRequire(e, "name", where, &name));
      ACORN_RETURN_IF_ERROR(tool::JsonRequire(e, "template", where, &text_value));
      if (name == "default") writer->SetChatTemplate(text_value);
    }
    return Status::Ok();
  }
  std::string tmpl;
  ACORN_RETURN_IF_ERROR(tool::JsonAs(*t, tool::JsonWhere(label, "chat_template"), &tmpl));
  writer->SetChatTemplate(tmpl);
  return Status::Ok();
}

Status AttachHfTokenizer(const std::string& dir, BundleWriter* writer, std::string* what) {
  *what = "none";
  std::string source;
  Result<TokenizerSpec> spec = ACORN_ERROR(kNotFound, "no tokenizer");
  // Regular files only: the tokenizer readers open the file in blocking mode, and a FIFO would hang them.
  if (tool::PathExists(dir + "/tokenizer.json")) {
    source = "tokenizer.json";
    ACORN_RETURN_IF_ERROR(tool::CheckRegularFile(dir + "/tokenizer.json", "tokenizer.json"));
    spec = LoadTokenizerJsonFile(dir + "/tokenizer.json");
  } else if (tool::PathExists(dir + "/tokenizer.model")) {
    source = "tokenizer.model";
    ACORN_RETURN_IF_ERROR(tool::CheckRegularFile(dir + "/tokenizer.model", "tokenizer.model"));
    spec = LoadSentencePieceModelFile(dir + "/tokenizer.model");
  }
  if (!source.empty()) {
    if (!spec.ok()) return Status(spec.status().code(), dir + "/" + source + ": " + spec.status().message());
    auto shared = std::make_shared<TokenizerSpec>(std::move(spec).value());
    *what = source + " (" + std::to_string(shared->vocab.size()) + " tokens)";
    writer->SetTokenizer([shared](flatbuffers::FlatBufferBuilder& b) { return WriteTokenizer(b, *shared); });
  }
  const std::string config = dir + "/tokenizer_config.json";
  if (tool::PathExists(config)) {
    std::string text;
    ACORN_RETURN_IF_ERROR(tool::ReadRegularFile(config, limits::kMaxJsonBytes, "tokenizer_config.json", &text));
    ACORN_RETURN_IF_ERROR(ApplyTokenizerConfig(text, config, writer));
  }
  // Current transformers saves the template as chat_template.jinja beside tokenizer_config.json (a
  // model with several keeps the others as additional_chat_templates/NAME.jinja), and prefers those
  // files to the config's chat_template when both exist; so does acorn.
  for (const char* file : {"chat_template.jinja", "additional_chat_templates/default.jinja"}) {
    const std::string path = dir + "/" + file;
    if (!tool::PathExists(path)) continue;
    std::string text;
    ACORN_RETURN_IF_ERROR(tool::ReadRegularFile(path, limits::kMaxJsonBytes, file, &text));
    writer->SetChatTemplate(text);
    break;
  }
  return Status::Ok();
}

}  // namespace convert
}  // namespace acorn

#include "acorn/chat_template.h"
#include "acorn/platform.h"

#include "acorn/bundle.h"
#include "acorn/tokenizer.h"

#include "jinja.h"

namespace acorn {

namespace {

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// acorn's conversations: system (first only), user and assistant messages.
Status CheckRoles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") {
      return ACORN_ERROR(kInvalidArgument, "message %zu has role '%s'; use system, user or assistant", i, r.c_str());
    }
    if (r == "system" && i != 0) return ACORN_ERROR(kInvalidArgument, "message %zu: a system message must come first", i);
  }
  return Status::Ok();
}

ChatFamily Recognize(const std::string& t) {
  if (Contains(t, "<|im_start|>")) return ChatFamily::kChatML;
  if (Contains(t, "<|start_header_id|>")) return ChatFamily::kLlama3;
  if (Contains(t, "<start_of_turn>")) return ChatFamily::kGemma;
  if (Contains(t, "[INST]") && Contains(t, "<<SYS>>")) return ChatFamily::kLlama2;
  if (Contains(t, "[INST]")) return ChatFamily::kMistral;
  return ChatFamily::kOther;
}

}  // namespace

const char* ChatFamilyName(ChatFamily family) {
  switch (family) {
    case ChatFamily::kChatML: return "chatml";
    case ChatFamily::kLlama3: return "llama3";
    case ChatFamily::kLlama2: return "llama2";
    case ChatFamily::kMistral: return "mistral";
    case ChatFamily::kGemma: return "gemma";
    case ChatFamily::kOther: return "jinja";
  }
  return "unknown";
}

Result<ChatTemplate> ChatTemplate::Parse(const std::string& t, const std::string& bos_token, const std::string& eos_token) {
  if (t.find_first_not_of(" \t\n\r") == std::string::npos) {
    return ACORN_ERROR(kNotFound, "the bundle has no chat template; convert from a checkpoint that has one "
                       "(chat_template.jinja or tokenizer_config.json), or send raw prompts with acorn-run");
  }
  ACORN_ASSIGN_OR_RETURN(jinja::Template parsed, jinja::Template::Parse(t));
  ChatTemplate c;
  c.family_ = Recognize(t);
  c.template_ = std::make_shared<const jinja::Template>(std::move(parsed));
  c.bos_ = bos_token;
  c.eos_ = eos_token;
  // What follows an assistant message is the end-of-turn marker ("<|im_end|>", "<|eot_id|>",
  // "<end_of_turn>", "<|end|>", "</s>", ...): render a probe and read it off.
  const std::string probe = "acorn-end-of-turn-probe";
  auto text = c.Render({{"user", "hi"}, {"assistant", probe}}, false);
  if (text.ok()) {
    const size_t at = text->rfind(probe);
    if (at != std::string::npos) {
      size_t b = at + probe.size();
      while (b < text->size() && (*text)[b] == ' ') ++b;
      size_t e = b;
      while (e < text->size() && (*text)[e] != '\n' && (*text)[e] != ' ') ++e;
      if (e > b) c.end_of_turn_.push_back(text->substr(b, e - b));
    }
  }
  if (!eos_token.empty() && (c.end_of_turn_.empty() || c.end_of_turn_[0] != eos_token)) c.end_of_turn_.push_back(eos_token);
  return c;
}

Result<ChatTemplate> ChatTemplate::FromBundle(const Bundle& bundle, const Tokenizer* tokenizer) {
  std::string bos, eos;
  int64_t id = -1;
  if (!bundle.GetString("tokenizer.bos_token", &bos) && tokenizer && bundle.GetInt("tokenizer.bos_token_id", &id) && id >= 0) {
    bos = std::string(tokenizer->IdToToken(static_cast<int32_t>(id)));
  }
  if (!bundle.GetString("tokenizer.eos_token", &eos) && tokenizer && bundle.GetInt("tokenizer.eos_token_id", &id) && id >= 0) {
    eos = std::string(tokenizer->IdToToken(static_cast<int32_t>(id)));
  }
  return Parse(bundle.chat_template(), bos, eos);
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  return Render(messages, add_generation_prompt, nullptr);
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         std::vector<std::pair<size_t, size_t>>* content_ranges) const {
  if (messages.empty()) return ACORN_ERROR(kInvalidArgument, "an empty conversation has no prompt; add a message");
  ACORN_RETURN_IF_ERROR(CheckRoles(messages));
  if (!template_) return ACORN_ERROR(kInvalidArgument, "the chat template was not parsed");
  // What transformers passes: the messages as dicts, the special tokens, add_generation_prompt,
  // and tools/documents as None.
  jinja::List list;
  for (const ChatMessage& m : messages) {
    jinja::Value content = jinja::Value::Str(m.content);
    if (!m.content.empty()) content.spans.push_back({0, m.content.size()});
    list.push_back(jinja::Value::Map({{"role", jinja::Value::Str(m.role)}, {"content", std::move(content)}}));
  }
  // A token the tokenizer does not define stays undefined, as transformers passes only those set.
  jinja::Dict globals = {{"messages", jinja::Value::Lst(std::move(list))},
                         {"add_generation_prompt", jinja::Value::Bool(add_generation_prompt)},
                         {"tools", jinja::Value::None()},
                         {"documents", jinja::Value::None()}};
  if (!bos_.empty()) globals.emplace_back("bos_token", jinja::Value::Str(bos_));
  if (!eos_.empty()) globals.emplace_back("eos_token", jinja::Value::Str(eos_));
  std::string out;
  std::vector<jinja::Span> spans;
  ACORN_RETURN_IF_ERROR(template_->Render(globals, now_ != 0 ? now_ : static_cast<std::time_t>(platform::WallClockSeconds()), &out, &spans));
  if (content_ranges) *content_ranges = std::move(spans);
  return out;
}

}  // namespace acorn

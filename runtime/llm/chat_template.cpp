#include "acorn/chat_template.h"
#include "acorn/platform.h"

#include <ctime>

namespace acorn {

namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\n\r";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

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

// Llama 2, Mistral and Gemma templates raise unless user and assistant alternate, user first.
Status CheckAlternation(const std::vector<ChatMessage>& messages, size_t start) {
  for (size_t i = start; i < messages.size(); ++i) {
    if ((messages[i].role == "user") != ((i - start) % 2 == 0)) {
      return ACORN_ERROR(kInvalidArgument, "conversation roles must alternate user/assistant/user/... (message %zu is %s)",
                         i, messages[i].role.c_str());
    }
  }
  return Status::Ok();
}

// The literal default system prompt of a ChatML template, written as '<|im_start|>system\n...<|im_end|>'
// inside a Jinja string (so the newline is the two characters backslash and n).
std::string DefaultChatMLSystem(const std::string& t) {
  const std::string open = "<|im_start|>system\\n";
  size_t at = 0;
  while ((at = t.find(open, at)) != std::string::npos) {
    at += open.size();
    const size_t end = t.find("<|im_end|>", at);
    if (end == std::string::npos) break;
    const std::string body = t.substr(at, end - at);
    if (body.find_first_of("'\"{}+") == std::string::npos) return body;  // a literal, not an expression
  }
  return "";
}

std::string Today() {
  char buf[32];
  const std::time_t now = static_cast<std::time_t>(platform::WallClockSeconds());
  std::tm tm_now;
  gmtime_r(&now, &tm_now);
  std::strftime(buf, sizeof buf, "%d %b %Y", &tm_now);
  return buf;
}

}  // namespace

const char* ChatFamilyName(ChatFamily family) {
  switch (family) {
    case ChatFamily::kChatML: return "chatml";
    case ChatFamily::kLlama3: return "llama3";
    case ChatFamily::kLlama2: return "llama2";
    case ChatFamily::kMistral: return "mistral";
    case ChatFamily::kGemma: return "gemma";
  }
  return "unknown";
}

Result<ChatTemplate> ChatTemplate::Parse(const std::string& t, const std::string& bos_token, const std::string& eos_token) {
  ChatTemplate c;
  if (Contains(t, "<|im_start|>")) {
    c.family_ = ChatFamily::kChatML;
    c.default_system_ = DefaultChatMLSystem(t);
  } else if (Contains(t, "<|start_header_id|>")) {
    c.family_ = ChatFamily::kLlama3;
    c.dated_system_ = Contains(t, "Cutting Knowledge Date");
  } else if (Contains(t, "<start_of_turn>")) {
    c.family_ = ChatFamily::kGemma;
  } else if (Contains(t, "[INST]") && Contains(t, "<<SYS>>")) {
    c.family_ = ChatFamily::kLlama2;
  } else if (Contains(t, "[INST]")) {
    c.family_ = ChatFamily::kMistral;
  } else if (Trim(t).empty()) {
    return ACORN_ERROR(kNotFound, "the bundle has no chat template; convert from a checkpoint whose "
                       "tokenizer_config.json has one, or send raw prompts with acorn-run");
  } else {
    return ACORN_ERROR(kUnsupported, "unrecognized chat template (starts '%.60s'); acorn renders ChatML, Llama 3, "
                       "Llama 2, Mistral and Gemma templates", t.c_str());
  }
  if (Contains(t, "bos_token")) c.bos_ = bos_token;
  // Early Llama 3 templates end with the assistant header whatever the caller asks.
  c.always_prompt_ = !Contains(t, "add_generation_prompt");
  c.eos_ = eos_token;
  return c;
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  return Render(messages, add_generation_prompt, nullptr);
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         std::vector<std::pair<size_t, size_t>>* content_ranges) const {
  ACORN_RETURN_IF_ERROR(CheckRoles(messages));
  add_generation_prompt = add_generation_prompt || always_prompt_;
  const bool has_system = !messages.empty() && messages[0].role == "system";
  const size_t first = has_system ? 1 : 0;
  std::string out;
  if (content_ranges) content_ranges->clear();
  // Appends text that came from a message (the caller's, not the template's).
  auto content = [&](const std::string& text) {
    if (content_ranges && !text.empty()) content_ranges->push_back({out.size(), out.size() + text.size()});
    out += text;
  };
  switch (family_) {
    case ChatFamily::kChatML:
      if (!has_system && !default_system_.empty()) out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
      for (const ChatMessage& m : messages) {
        out += "<|im_start|>" + m.role + "\n";  // roles are checked: system, user or assistant
        content(m.content);
        out += "<|im_end|>\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    case ChatFamily::kLlama3:
      out = bos_;
      if (dated_system_) {
        out += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
               (date_.empty() ? Today() : date_) + "\n\n";
        content(has_system ? Trim(messages[0].content) : "");
        out += "<|eot_id|>";
      }
      for (size_t i = dated_system_ ? first : 0; i < messages.size(); ++i) {
        out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
        content(Trim(messages[i].content));
        out += "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    case ChatFamily::kLlama2: {
      auto& append_content = content;
      ACORN_RETURN_IF_ERROR(CheckAlternation(messages, first));
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        std::string content = m.content;
        if (has_system && i == first) content = "<<SYS>>\n" + messages[0].content + "\n<</SYS>>\n\n" + m.content;
        if (m.role == "user") {
          out += bos_ + "[INST] ";
          append_content(Trim(content));
          out += " [/INST]";
        } else {
          out += " ";
          append_content(Trim(content));
          out += " " + eos_;
        }
      }
      return out;
    }
    case ChatFamily::kMistral:
      ACORN_RETURN_IF_ERROR(CheckAlternation(messages, 0));
      out = bos_;
      for (const ChatMessage& m : messages) {
        if (m.role == "user") {
          out += "[INST] ";
          content(m.content);
          out += " [/INST]";
        } else {
          content(m.content);
          out += eos_;
        }
      }
      return out;
    case ChatFamily::kGemma:
      if (has_system) return ACORN_ERROR(kInvalidArgument, "Gemma's chat template does not support a system role");
      ACORN_RETURN_IF_ERROR(CheckAlternation(messages, 0));
      out = bos_;
      for (const ChatMessage& m : messages) {
        out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : "user") + "\n";
        content(Trim(m.content));
        out += "<end_of_turn>\n";
      }
      if (add_generation_prompt) out += "<start_of_turn>model\n";
      return out;
  }
  return ACORN_ERROR(kInternal, "unknown chat family");
}

std::vector<std::string> ChatTemplate::EndOfTurn() const {
  switch (family_) {
    case ChatFamily::kChatML: return {"<|im_end|>"};
    case ChatFamily::kLlama3: return {"<|eot_id|>"};
    case ChatFamily::kLlama2:
    case ChatFamily::kMistral: return {eos_.empty() ? std::string("</s>") : eos_};
    case ChatFamily::kGemma: return {"<end_of_turn>"};
  }
  return {};
}

}  // namespace acorn

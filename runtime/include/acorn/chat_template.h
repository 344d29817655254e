// Chat templates: turning a conversation into the prompt text a chat model was trained on. The
// bundle keeps the model's Jinja template as the model ships it; acorn interprets it with its own
// bounded Jinja engine, the way transformers' apply_chat_template renders it (trim_blocks,
// lstrip_blocks, loop controls, raise_exception, strftime_now, tojson, namespace, macros), so that
// a template's own default system prompt, date line, BOS handling and role checks come out as they
// do in Python. A construct outside the engine's subset is refused with a message naming it.
// tests/llm/chat_template_test.cpp checks real templates of many model families against
// transformers (tests/fixtures/chat).
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "acorn/status.h"

namespace acorn {

namespace jinja {
class Template;
}
class Bundle;
class Tokenizer;

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// The template's family, recognized from its markers; only a label (for display). The rendering
// always comes from the template itself.
enum class ChatFamily { kChatML, kLlama3, kLlama2, kMistral, kGemma, kOther };
const char* ChatFamilyName(ChatFamily family);

class ChatTemplate {
 public:
  // `jinja` is the model's template; bos/eos are its tokenizer's special token strings (what
  // transformers passes as bos_token and eos_token).
  static Result<ChatTemplate> Parse(const std::string& jinja, const std::string& bos_token, const std::string& eos_token);
  // The bundle's template, with the special-token strings the converter recorded (an empty one:
  // the tokenizer defines none), else the tokens of the bundle's BOS/EOS ids in `tokenizer` (which
  // may be null).
  static Result<ChatTemplate> FromBundle(const Bundle& bundle, const Tokenizer* tokenizer);

  ChatFamily family() const { return family_; }
  // Renders `messages`; with add_generation_prompt the text ends where the assistant's reply begins.
  // Fails where the real template raises (e.g. a system message for Gemma 2, roles that do not
  // alternate), naming the template's own message.
  Result<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // The same, also giving the byte ranges of the text that came from the messages' contents (sorted,
  // disjoint), so that encoding can keep special tokens typed in a message from acting as markup
  // (TokenizeOptions::untrusted).
  Result<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                             std::vector<std::pair<size_t, size_t>>* content_ranges) const;
  // Strings that end an assistant turn (for stop conditions): what the template writes right after
  // an assistant message, else the EOS token.
  std::vector<std::string> EndOfTurn() const { return end_of_turn_; }
  // The clock strftime_now() reads (templates that print today's date, as Llama 3.1+ do); the
  // current time unless set. Tests fix it.
  void set_now(std::time_t now) { now_ = now; }

 private:
  ChatFamily family_ = ChatFamily::kOther;
  std::shared_ptr<const jinja::Template> template_;
  std::string bos_;
  std::string eos_;
  std::vector<std::string> end_of_turn_;
  std::time_t now_ = 0;  // 0: the current time
};

}  // namespace acorn

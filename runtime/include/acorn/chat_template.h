// Chat templates: turning a conversation into the prompt text a chat model was trained on. Rather
// than a Jinja engine, acorn recognizes the template families that matter from the bundle's Jinja
// text — ChatML (with a default system prompt, as Qwen's), Llama 3 and 3.1+ (with the dated system
// header), Llama 2, Mistral [INST], Gemma — and renders them natively, honouring the variant's use
// of bos_token. Any other template is refused with a message. tests/llm/chat_template_test.cpp
// checks the renderings against jinja2 on the real templates (tests/fixtures/chat).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "acorn/status.h"

namespace acorn {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatFamily { kChatML, kLlama3, kLlama2, kMistral, kGemma };
const char* ChatFamilyName(ChatFamily family);

class ChatTemplate {
 public:
  // `jinja` is the model's template; bos/eos are its tokenizer's special token strings.
  static Result<ChatTemplate> Parse(const std::string& jinja, const std::string& bos_token, const std::string& eos_token);

  ChatFamily family() const { return family_; }
  // Renders `messages`; with add_generation_prompt the text ends where the assistant's reply begins.
  // Fails where the real template raises (a system message for Gemma, roles that do not alternate
  // for Llama 2 / Mistral / Gemma).
  Result<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // The same, also giving the byte ranges of the text that came from the messages' contents (sorted,
  // disjoint), so that encoding can keep special tokens typed in a message from acting as markup
  // (TokenizeOptions::untrusted).
  Result<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                             std::vector<std::pair<size_t, size_t>>* content_ranges) const;
  // Strings that end an assistant turn (for stop conditions).
  std::vector<std::string> EndOfTurn() const;
  // Llama 3.1+ templates print today's date; transformers uses strftime("%d %b %Y"). Tests fix it.
  void set_date_string(const std::string& date) { date_ = date; }

 private:
  ChatFamily family_ = ChatFamily::kChatML;
  std::string bos_;             // empty when the template never writes bos_token
  std::string eos_;
  std::string default_system_;  // ChatML variants that add a system prompt when none is given
  bool dated_system_ = false;   // Llama 3.1+: the system header always appears, with dates
  bool always_prompt_ = false;  // templates that append the assistant header unconditionally
  std::string date_;
};

}  // namespace acorn

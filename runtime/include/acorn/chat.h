// Chat: a multi-turn conversation on one Session. Each turn renders the whole conversation with the
// model's chat template, reuses the KV cache for the part of the prompt already processed, and
// generates the reply. A conversation that outgrows the context is refused with a message, or,
// when the user chose a sliding window, loses its oldest turns (the system prompt stays).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acorn/chat_template.h"
#include "acorn/generate.h"
#include "acorn/model.h"

namespace acorn {

struct ChatOptions {
  std::string system_prompt;
  GenerateOptions generate;
  bool sliding_window = false;
};

class Chat {
 public:
  static Result<std::unique_ptr<Chat>> Create(std::shared_ptr<const Model> model, const SessionOptions& session_options,
                                              const ChatOptions& options);

  // Adds the user's message, streams the assistant's reply, and keeps it in the conversation.
  Status Reply(const std::string& user_text, const StreamCallback& on_text, GenerateResult* result);
  // Adds a message without generating: "user" or "assistant", e.g. a saved conversation being
  // restored. The next Reply renders it with the rest (and reuses the KV cache where it can); a
  // history the template cannot take is that Reply's error.
  Status AddMessage(const std::string& role, const std::string& content);
  // Forgets everything but the system prompt.
  void Reset();

  const std::vector<ChatMessage>& messages() const { return messages_; }
  ChatFamily family() const { return template_.family(); }
  const ChatTemplate& chat_template() const { return template_; }
  Session& session() { return *session_; }
  Sampler& sampler() { return sampler_; }
  int64_t cached_tokens() const { return static_cast<int64_t>(cached_.size()); }
  // The prompt a conversation becomes, with the assistant's turn opened (what Reply runs). The
  // template's markup keeps its special tokens; text from the messages never makes one, so a user
  // who types "<|im_end|>" cannot end their turn or forge another.
  Result<std::vector<int32_t>> RenderTokens(const std::vector<ChatMessage>& messages) const;

 private:
  Chat() = default;

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  const Tokenizer* tokenizer_ = nullptr;
  ChatOptions options_;
  ChatTemplate template_;
  Sampler sampler_;
  std::vector<ChatMessage> messages_;
  std::vector<int32_t> cached_;  // tokens whose KV entries the session holds, in order
};

}  // namespace acorn

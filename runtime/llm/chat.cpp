#include "acorn/chat.h"

#include <algorithm>

#include "acorn_generated.h"

namespace acorn {

Result<std::unique_ptr<Chat>> Chat::Create(std::shared_ptr<const Model> model, const SessionOptions& session_options,
                                           const ChatOptions& options) {
  if (model == nullptr) return ACORN_ERROR(kInvalidArgument, "no model");
  if (model->tokenizer() == nullptr) {
    return ACORN_ERROR(kUnsupported, "the bundle has no tokenizer, so it cannot chat; convert it from a checkpoint "
                       "with tokenizer.json");
  }
  const Bundle& bundle = model->bundle();
  int64_t id = -1;
  ACORN_ASSIGN_OR_RETURN(ChatTemplate chat_template, ChatTemplate::FromBundle(bundle, model->tokenizer()));
  std::unique_ptr<Chat> chat(new Chat());
  chat->model_ = model;
  chat->tokenizer_ = model->tokenizer();
  chat->options_ = options;
  chat->template_ = chat_template;
  chat->sampler_ = Sampler(options.generate.sampler);
  ACORN_ASSIGN_OR_RETURN(chat->session_, Session::Create(model, session_options));
  // End-of-turn markers of the family and the bundle's EOS id stop generation.
  for (const std::string& marker : chat->template_.EndOfTurn()) {
    const int32_t id = chat->tokenizer_->TokenToId(marker);
    if (id >= 0) chat->options_.generate.stop_ids.push_back(id);
    else chat->options_.generate.stop_strings.push_back(marker);
  }
  if (bundle.GetInt("tokenizer.eos_token_id", &id) && id >= 0) chat->options_.generate.stop_ids.push_back(static_cast<int32_t>(id));
  chat->Reset();
  return chat;
}

void Chat::Reset() {
  messages_.clear();
  if (!options_.system_prompt.empty()) messages_.push_back({"system", options_.system_prompt});
  cached_.clear();
  session_->Reset();
}

Result<std::vector<int32_t>> Chat::RenderTokens(const std::vector<ChatMessage>& messages) const {
  std::vector<std::pair<size_t, size_t>> content_ranges;
  ACORN_ASSIGN_OR_RETURN(std::string text, template_.Render(messages, true, &content_ranges));
  // The template writes special tokens (BOS, turn markers) as text, and those must become their
  // ids; the same strings typed in a message must not, or a user could end their turn and forge a
  // system or assistant one. The post-processor adds nothing: the template wrote BOS already.
  TokenizeOptions options;
  options.add_special_tokens = false;
  options.untrusted = std::move(content_ranges);
  std::vector<int32_t> ids;
  ACORN_RETURN_IF_ERROR(tokenizer_->Encode(text, options, &ids));
  return ids;
}

Status Chat::AddMessage(const std::string& role, const std::string& content) {
  if (role != "user" && role != "assistant") {
    return ACORN_ERROR(kInvalidArgument, "a chat message's role is \"user\" or \"assistant\", not \"%s\" (the system "
                       "prompt is set when the chat is created)", role.c_str());
  }
  // Not rendered here: restoring n messages would render the conversation n times. A history the
  // template cannot take is reported by the next Reply, which renders it anyway.
  messages_.push_back({role, content});
  return Status::Ok();
}

Status Chat::Reply(const std::string& user_text, const StreamCallback& on_text, GenerateResult* result) {
  std::vector<ChatMessage> next = messages_;
  next.push_back({"user", user_text});
  ACORN_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, RenderTokens(next));
  const int64_t context = session_->context_length();
  // Leave room for at least a short reply.
  const int64_t reserve = std::min<int64_t>(options_.generate.max_new_tokens, 64);
  while (static_cast<int64_t>(prompt.size()) + reserve > context) {
    const size_t first = !next.empty() && next[0].role == "system" ? 1 : 0;
    if (!options_.sliding_window || next.size() - first <= 1) {
      return ACORN_ERROR(kOutOfRange, "the conversation is %zu tokens and the context holds %lld; /reset to start over%s",
                         prompt.size(), static_cast<long long>(context),
                         options_.sliding_window ? " (the last message alone is too long)" : ", or enable the sliding window");
    }
    // Drop the oldest exchange (a user message and the reply to it).
    next.erase(next.begin() + static_cast<long>(first), next.begin() + static_cast<long>(std::min(first + 2, next.size() - 1)));
    ACORN_ASSIGN_OR_RETURN(prompt, RenderTokens(next));
  }
  // Reuse the KV cache for the longest common prefix; at least one token must run to get logits.
  size_t common = 0;
  while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) ++common;
  if (common == prompt.size()) --common;
  ACORN_RETURN_IF_ERROR(session_->Rewind(static_cast<int64_t>(common)));
  std::vector<int32_t> fresh(prompt.begin() + static_cast<long>(common), prompt.end());
  Status st = Generate(*session_, *tokenizer_, fresh, options_.generate, sampler_, on_text, result);
  if (!st.ok()) {
    cached_.resize(std::min<size_t>(common, cached_.size()));
    // Cannot fail today (the session stands at or past common >= cached_.size()); were it to, the
    // KV cache would no longer match cached_, and starting over is the safe answer.
    if (!session_->Rewind(static_cast<int64_t>(cached_.size())).ok()) {
      session_->Reset();
      cached_.clear();
    }
    return st;
  }
  cached_ = prompt;
  if (!result->tokens.empty()) cached_.insert(cached_.end(), result->tokens.begin(), result->tokens.end() - 1);
  next.push_back({"assistant", result->text});
  messages_ = std::move(next);
  return Status::Ok();
}

}  // namespace acorn

#include "acorn/generate.h"

#include <algorithm>

#include "acorn/platform.h"

namespace acorn {

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken: return "end of turn";
    case StopReason::kStopString: return "stop string";
    case StopReason::kMaxTokens: return "token limit";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

// Bytes at the end of `s` that may still grow into a complete UTF-8 character or are U+FFFD from a
// byte sequence the next token may complete.
size_t UnfinishedTail(const std::string& s) {
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0) return 3;
  size_t i = s.size();
  int back = 0;
  while (i > 0 && back < 4 && (static_cast<uint8_t>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++back;
  }
  if (i == 0) return 0;
  const uint8_t lead = static_cast<uint8_t>(s[i - 1]);
  const int need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return need > back ? static_cast<size_t>(back + 1) : 0;
}

// Length of the longest suffix of `s` that is a proper prefix of some stop string.
size_t StopPrefixTail(const std::string& s, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& stop : stops) {
    for (size_t n = std::min(stop.size() - 1, s.size()); n > best; --n) {
      if (s.compare(s.size() - n, n, stop, 0, n) == 0) {
        best = n;
        break;
      }
    }
  }
  return best;
}

}  // namespace

Status Generate(Session& session, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                const GenerateOptions& options, Sampler& sampler, const StreamCallback& on_text, GenerateResult* result) {
  *result = GenerateResult();
  const Model& model = session.model();
  const int64_t vocab = model.vocab_size();
  if (prompt.empty()) return ACORN_ERROR(kInvalidArgument, "empty prompt");
  if (session.position() + static_cast<int64_t>(prompt.size()) > session.context_length()) {
    return ACORN_ERROR(kOutOfRange, "the prompt needs %lld positions from %lld but the context holds %lld; shorten it, "
                       "reset the conversation, or convert the model with a larger --context",
                       static_cast<long long>(prompt.size()), static_cast<long long>(session.position()),
                       static_cast<long long>(session.context_length()));
  }
  std::vector<float> logits(static_cast<size_t>(vocab));
  std::vector<int32_t> history(prompt);
  const uint64_t t0 = platform::NowNanos();
  ACORN_RETURN_IF_ERROR(session.Forward(prompt.data(), static_cast<int64_t>(prompt.size()), logits.data(), false));
  const uint64_t t1 = platform::NowNanos();
  result->stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  result->stats.prefill_ms = (t1 - t0) / 1e6;

  size_t emitted = 0;
  std::string text;
  for (int n = 0;; ++n) {
    const int32_t id = sampler.Sample(Span<float>(logits.data(), logits.size()), Span<const int32_t>(history.data(), history.size()));
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) {
      result->reason = StopReason::kStopToken;
      break;
    }
    result->tokens.push_back(id);
    history.push_back(id);
    text = tokenizer.Decode(Span<const int32_t>(result->tokens.data(), result->tokens.size()), true);
    size_t stop_at = std::string::npos;
    for (const std::string& s : options.stop_strings) {
      const size_t at = text.find(s, emitted > s.size() ? emitted - s.size() : 0);
      if (at != std::string::npos) stop_at = std::min(stop_at, at);
    }
    if (stop_at != std::string::npos) {
      text.resize(stop_at);
      result->reason = StopReason::kStopString;
    }
    // Emit what is final: whole characters that cannot start a stop string.
    size_t ready = text.size();
    if (result->reason != StopReason::kStopString) {
      ready -= std::max(UnfinishedTail(text), StopPrefixTail(text, options.stop_strings));
    }
    if (ready > emitted) {
      const bool go_on = on_text ? on_text(text.substr(emitted, ready - emitted)) : true;
      emitted = ready;
      if (!go_on) {
        result->reason = StopReason::kCancelled;
        break;
      }
    }
    if (result->reason == StopReason::kStopString) break;
    if (n + 1 >= options.max_new_tokens) {
      result->reason = StopReason::kMaxTokens;
      break;
    }
    if (session.position() + 1 > session.context_length()) {
      result->reason = StopReason::kContextFull;
      break;
    }
    ACORN_RETURN_IF_ERROR(session.Forward(&id, 1, logits.data(), false));
  }
  // Flush text held back for a character or stop-string prefix that never completed.
  if (result->reason != StopReason::kStopString && result->reason != StopReason::kCancelled && emitted < text.size()) {
    if (on_text) on_text(text.substr(emitted));
    emitted = text.size();
  }
  result->text = text.substr(0, emitted);
  result->stats.generated_tokens = static_cast<int64_t>(result->tokens.size());
  result->stats.decode_ms = (platform::NowNanos() - t1) / 1e6;
  return Status::Ok();
}

}  // namespace acorn

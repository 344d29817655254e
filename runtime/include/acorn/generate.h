// Text generation on a decoder Session: prompt tokens in, tokens sampled one by one, text streamed
// out through a callback as soon as it is whole UTF-8 and cannot be the start of a stop string.
// Stops on end-of-turn ids, stop strings, a token limit, a full context, or the callback's word.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "acorn/model.h"
#include "acorn/sampler.h"
#include "acorn/tokenizer.h"

namespace acorn {

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplerConfig sampler;
  std::vector<int32_t> stop_ids;          // end of sequence / end of turn
  std::vector<std::string> stop_strings;  // never shown; generation ends before them
};

enum class StopReason { kStopToken, kStopString, kMaxTokens, kContextFull, kCancelled };
const char* StopReasonName(StopReason reason);

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_ms = 0;  // prompt processing, which is also the time to first token
  double decode_ms = 0;
  double PrefillTokensPerSecond() const { return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0; }
  double DecodeTokensPerSecond() const { return decode_ms > 0 ? generated_tokens * 1000.0 / decode_ms : 0; }
};

struct GenerateResult {
  std::string text;             // what was streamed
  std::vector<int32_t> tokens;  // sampled ids, the stop token excluded
  StopReason reason = StopReason::kMaxTokens;
  GenerateStats stats;
};

// Receives each new piece of text; return false to stop (for example on Ctrl-C).
using StreamCallback = std::function<bool(const std::string& piece)>;

// Runs `prompt` from the session's current position, then samples. The session afterwards holds
// the prompt and every generated token except the last (its KV entries are written when the next
// step runs it), so position() == start + prompt.size() + tokens.size() - 1 when tokens were made.
Status Generate(Session& session, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                const GenerateOptions& options, Sampler& sampler, const StreamCallback& on_text, GenerateResult* result);

}  // namespace acorn

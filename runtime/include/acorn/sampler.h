// Sampler: picks the next token from logits. Greedy when temperature is 0; otherwise repetition
// penalty, top-k, top-p and min-p filters, temperature, then a draw from the seeded generator. The
// generator is acorn's own (xoshiro128**), so the same seed gives the same tokens on every platform.
#pragma once

#include <cstdint>
#include <vector>

#include "acorn/span.h"

namespace acorn {

struct SamplerConfig {
  float temperature = 0.0f;         // 0: greedy
  int top_k = 40;                   // 0: off
  float top_p = 0.95f;              // 1: off
  float min_p = 0.05f;              // 0: off; drops tokens below min_p x the best probability
  float repetition_penalty = 1.0f;  // 1: off; as in llama.cpp / transformers (divide positive logits)
  int repeat_last_n = 64;           // tokens the penalty looks back over
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config = SamplerConfig());
  // Chooses a token from `logits` (one row, modified in place by the penalty); `history` is the
  // context so far (the penalty reads its tail). Allocation happens only on the first call.
  int32_t Sample(Span<float> logits, Span<const int32_t> history);
  void Reseed(uint64_t seed);

 private:
  float NextUniform();
  SamplerConfig config_;
  uint32_t state_[4];
  std::vector<int32_t> order_;
  std::vector<float> probs_;
};

}  // namespace acorn

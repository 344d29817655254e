#include "acorn/sampler.h"

#include <algorithm>
#include <cmath>

namespace acorn {

namespace {
uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint32_t Rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
}  // namespace

Sampler::Sampler(const SamplerConfig& config) : config_(config) { Reseed(config.seed); }

void Sampler::Reseed(uint64_t seed) {
  uint64_t x = seed;
  const uint64_t a = SplitMix64(&x), b = SplitMix64(&x);
  state_[0] = static_cast<uint32_t>(a);
  state_[1] = static_cast<uint32_t>(a >> 32);
  state_[2] = static_cast<uint32_t>(b);
  state_[3] = static_cast<uint32_t>(b >> 32) | 1u;
}

float Sampler::NextUniform() {  // xoshiro128**: 24 random bits in [0, 1)
  const uint32_t result = Rotl(state_[1] * 5, 7) * 9;
  const uint32_t t = state_[1] << 9;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = Rotl(state_[3], 11);
  return static_cast<float>(result >> 8) / 16777216.0f;
}

int32_t Sampler::Sample(Span<float> logits, Span<const int32_t> history) {
  const int32_t n = static_cast<int32_t>(logits.size());
  if (config_.repetition_penalty != 1.0f && config_.repeat_last_n > 0) {
    const size_t from = history.size() > static_cast<size_t>(config_.repeat_last_n)
                            ? history.size() - static_cast<size_t>(config_.repeat_last_n)
                            : 0;
    // Each distinct recent token is penalized once, as in transformers.
    for (size_t i = from; i < history.size(); ++i) {
      const int32_t t = history[i];
      if (t < 0 || t >= n) continue;
      bool seen = false;
      for (size_t j = from; j < i && !seen; ++j) seen = history[j] == t;
      if (seen) continue;
      float& l = logits[t];
      l = l > 0 ? l / config_.repetition_penalty : l * config_.repetition_penalty;
    }
  }
  if (config_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  order_.resize(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) order_[i] = i;
  // Candidates sorted by logit; top-k bounds the sort.
  const int32_t k = config_.top_k > 0 ? std::min<int32_t>(config_.top_k, n) : n;
  std::partial_sort(order_.begin(), order_.begin() + k, order_.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  order_.resize(static_cast<size_t>(k));
  probs_.resize(order_.size());
  const float max = logits[order_[0]];
  float sum = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    probs_[i] = std::exp((logits[order_[i]] - max) / config_.temperature);
    sum += probs_[i];
  }
  size_t keep = order_.size();
  if (config_.min_p > 0) {
    const float floor = config_.min_p * probs_[0];
    while (keep > 1 && probs_[keep - 1] < floor) --keep;
  }
  if (config_.top_p < 1.0f) {
    float cumulative = 0;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs_[i] / sum;
      if (cumulative >= config_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  float kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += probs_[i];
  float r = NextUniform() * kept;
  for (size_t i = 0; i < keep; ++i) {
    r -= probs_[i];
    if (r < 0) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace acorn

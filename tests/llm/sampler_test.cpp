// The sampler: greedy is argmax, the same seed gives the same draws, filters keep what they promise.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "acorn/sampler.h"

namespace acorn {
namespace {

std::vector<float> Logits() { return {0.1f, 2.0f, -1.0f, 1.9f, 0.5f, 3.0f, -2.0f, 0.0f}; }

TEST(Sampler, GreedyIsArgmax) {
  Sampler s(SamplerConfig{});
  std::vector<float> l = Logits();
  EXPECT_EQ(s.Sample(Span<float>(l.data(), l.size()), {}), 5);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerConfig c;
  c.temperature = 1.0f;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  c.seed = 42;
  std::vector<int32_t> a, b;
  Sampler s1(c), s2(c);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l1 = Logits(), l2 = Logits();
    a.push_back(s1.Sample(Span<float>(l1.data(), l1.size()), {}));
    b.push_back(s2.Sample(Span<float>(l2.data(), l2.size()), {}));
  }
  EXPECT_EQ(a, b);
  c.seed = 43;
  Sampler s3(c);
  std::vector<int32_t> d;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l = Logits();
    d.push_back(s3.Sample(Span<float>(l.data(), l.size()), {}));
  }
  EXPECT_NE(a, d);
}

TEST(Sampler, TemperatureOneFollowsSoftmax) {
  SamplerConfig c;
  c.temperature = 1.0f;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  c.seed = 7;
  Sampler s(c);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = Logits();
    counts[s.Sample(Span<float>(l.data(), l.size()), {})]++;
  }
  // softmax(Logits())[5] = e^3 / sum ≈ 0.4737
  double sum = 0;
  for (float v : Logits()) sum += std::exp(v);
  EXPECT_NEAR(counts[5] / static_cast<double>(n), std::exp(3.0) / sum, 0.015);
  EXPECT_NEAR(counts[1] / static_cast<double>(n), std::exp(2.0) / sum, 0.015);
}

TEST(Sampler, TopKAndMinPAndTopPRestrictTheCandidates) {
  SamplerConfig c;
  c.temperature = 1.5f;
  c.top_k = 2;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  Sampler k(c);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> l = Logits();
    const int32_t t = k.Sample(Span<float>(l.data(), l.size()), {});
    EXPECT_TRUE(t == 5 || t == 1) << t;
  }
  c.top_k = 0;
  c.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p(best): at T=1.5 that is 5, 1 and 3
  Sampler m(c);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> l = Logits();
    const int32_t t = m.Sample(Span<float>(l.data(), l.size()), {});
    EXPECT_TRUE(t == 5 || t == 1 || t == 3) << t;
  }
  c.min_p = 0.0f;
  c.top_p = 0.3f;  // the best token alone already covers 30%
  Sampler p(c);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l = Logits();
    EXPECT_EQ(p.Sample(Span<float>(l.data(), l.size()), {}), 5);
  }
}

TEST(Sampler, RepetitionPenaltyDemotesRecentTokens) {
  SamplerConfig c;
  c.repetition_penalty = 2.0f;
  Sampler s(c);
  std::vector<float> l = Logits();
  const std::vector<int32_t> history = {5, 5, 1};
  // 5: 3.0 -> 1.5, 1: 2.0 -> 1.0, so 3 (1.9) wins.
  EXPECT_EQ(s.Sample(Span<float>(l.data(), l.size()), Span<const int32_t>(history.data(), history.size())), 3);
  EXPECT_FLOAT_EQ(l[5], 1.5f) << "penalized once, not per occurrence";
}

}  // namespace
}  // namespace acorn

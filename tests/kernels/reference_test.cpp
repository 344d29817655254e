// The reference kernels on small cases computed by hand (or by PyTorch, values quoted).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.h"

namespace acorn {
namespace {

TEST(Reference, MatMulByHand) {
  const float x[4] = {1, 2, 3, 4};          // T=2, K=2
  const float w[6] = {1, 0, 0, 1, 1, 1};    // N=3
  const float b[3] = {0, 0, 1};
  float y[6];
  ref::MatMul(x, 2, 2, w, DType::kF32, 3, b, y);
  const float want[6] = {1, 2, 4, 3, 4, 8};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], want[i]);
}

TEST(Reference, MatMulQ8ActivationsExactOnRepresentableInputs) {
  // Integers in [-127, 127] with 127 present quantize to Q8_0 with scale exactly 1: the
  // quantized product equals the float product.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j * 37 % 255 - 127);
  x[5] = 127.0f;
  std::vector<float> wf(2 * 32);
  for (int j = 0; j < 64; ++j) wf[j] = static_cast<float>(j % 17 - 8);
  const auto w = test::EncodeRows(wf, 2, 32, DType::kQ8_0);
  float yq[2], yf[2];
  ref::MatMulQ8Activations(x.data(), 1, 32, w.data(), DType::kQ8_0, 2, nullptr, yq, nullptr);
  ref::MatMul(x.data(), 1, 32, w.data(), DType::kQ8_0, 2, nullptr, yf);
  EXPECT_EQ(yq[0], yf[0]);
  EXPECT_EQ(yq[1], yf[1]);
}

TEST(Reference, RmsNorm) {
  const float x[4] = {1, 2, 3, 4};
  const float w[4] = {1, 1, 1, 2};
  float out[4];
  ref::RmsNorm(x, w, 1, 4, 0.0f, out);  // mean(x^2) = 7.5
  const float r = 1.0f / std::sqrt(7.5f);
  EXPECT_FLOAT_EQ(out[0], 1 * r);
  EXPECT_FLOAT_EQ(out[1], 2 * r);
  EXPECT_FLOAT_EQ(out[2], 3 * r);
  EXPECT_FLOAT_EQ(out[3], 8 * r);
  EXPECT_NEAR(out[0], 0.3651484f, 1e-6f);
}

TEST(Reference, LayerNorm) {
  const float x[8] = {1, 2, 3, 4, 10, 10, 10, 10};
  const float w[4] = {1, 1, 1, 1};
  const float b[4] = {0, 0, 0, 0.5f};
  float out[8];
  ref::LayerNorm(x, w, b, 2, 4, 1e-5f, out);  // mean 2.5, var 1.25
  EXPECT_NEAR(out[0], -1.3416355f, 1e-5f);
  EXPECT_NEAR(out[1], -0.4472118f, 1e-5f);
  EXPECT_NEAR(out[3], 1.3416355f + 0.5f, 1e-5f);
  for (int i = 4; i < 7; ++i) EXPECT_EQ(out[i], 0.0f);  // constant row: zero, not NaN
  float bare[4];
  ref::LayerNorm(x, nullptr, nullptr, 1, 4, 1e-5f, bare);
  EXPECT_NEAR(bare[3], 1.3416355f, 1e-5f);
}

TEST(Reference, ElementWise) {
  const float a[3] = {1, -2, 0};
  const float b[3] = {2, 3, 4};
  float out[3];
  ref::Add(a, b, 3, out);
  EXPECT_EQ(out[1], 1.0f);
  ref::Mul(a, b, 3, out);
  EXPECT_EQ(out[1], -6.0f);
  ref::SwiGlu(a, b, 3, out);
  EXPECT_NEAR(out[0], 0.7310586f * 2, 1e-6f);  // silu(1) = sigmoid(1)
  EXPECT_NEAR(out[1], -2.0f * 0.1192029f * 3, 1e-6f);
  EXPECT_EQ(out[2], 0.0f);
  ref::Gelu(a, 3, out);
  EXPECT_NEAR(out[0], 0.8413447f, 1e-6f);  // torch.nn.functional.gelu(1.0)
  EXPECT_NEAR(out[1], -0.0455003f, 1e-6f);
  ref::Tanh(a, 3, out);
  EXPECT_NEAR(out[0], 0.7615942f, 1e-6f);
}

TEST(Reference, SoftmaxRowsAndLargeValues) {
  const float x[6] = {1, 2, 3, 1000, 1000, 1000};
  float out[6];
  ref::Softmax(x, 2, 3, out);
  EXPECT_NEAR(out[0], 0.0900306f, 1e-6f);
  EXPECT_NEAR(out[1], 0.2447285f, 1e-6f);
  EXPECT_NEAR(out[2], 0.6652410f, 1e-6f);
  for (int i = 3; i < 6; ++i) EXPECT_NEAR(out[i], 1.0f / 3, 1e-6f);  // max-subtracted: no inf
}

TEST(Reference, L2Normalize) {
  const float x[4] = {3, 4, 0, 0};
  float out[4];
  ref::L2NormalizeRows(x, 2, 2, 1e-12f, out);
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  EXPECT_EQ(out[2], 0.0f);
}

std::vector<float> InvFreq(int64_t head_dim, float theta) {
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) f[i] = 1.0f / std::pow(theta, 2.0f * i / head_dim);
  return f;
}

TEST(Reference, RopeAtPositionZeroIsIdentity) {
  const auto x = test::RandomFloats(3 * 2 * 8, 5);
  const auto inv = InvFreq(8, 10000.0f);
  const int32_t pos[3] = {0, 0, 0};
  for (bool half : {false, true}) {
    std::vector<float> out(x.size());
    ref::Rope(x.data(), 3, 2, 8, pos, inv.data(), 1.0f, half, out.data());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(out[i], x[i]);
  }
}

TEST(Reference, RopeRotatesThePairs) {
  // head_dim 4, inv_freq [1, 0.5], position 1: pair 0 turns by 1 rad, pair 1 by 0.5 rad.
  const float inv[2] = {1.0f, 0.5f};
  const int32_t pos[1] = {1};
  const float x[4] = {1, 2, 3, 4};
  float half[4], inter[4];
  ref::Rope(x, 1, 1, 4, pos, inv, 1.0f, true, half);
  // Half style pairs (x0, x2) and (x1, x3).
  EXPECT_NEAR(half[0], 1 * std::cos(1.0f) - 3 * std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(half[2], 3 * std::cos(1.0f) + 1 * std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(half[1], 2 * std::cos(0.5f) - 4 * std::sin(0.5f), 1e-6f);
  ref::Rope(x, 1, 1, 4, pos, inv, 1.0f, false, inter);
  // Interleaved pairs (x0, x1) and (x2, x3).
  EXPECT_NEAR(inter[0], 1 * std::cos(1.0f) - 2 * std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(inter[1], 2 * std::cos(1.0f) + 1 * std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(inter[3], 4 * std::cos(0.5f) + 3 * std::sin(0.5f), 1e-6f);
  // In place, and the attention factor scales the result.
  float y[4] = {1, 2, 3, 4};
  ref::Rope(y, 1, 1, 4, pos, inv, 2.0f, false, y);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], 2 * inter[i], 1e-5f);
}

TEST(Reference, AttentionWithOneKeyReturnsItsValue) {
  const int64_t hd = 4;
  const auto q = test::RandomFloats(hd, 1);
  const float k[hd] = {0.1f, 0.2f, 0.3f, 0.4f};
  const float v[hd] = {1, 2, 3, 4};
  float out[hd], scratch[1];
  ref::Attention(q.data(), k, v, 1, 0, 1, 1, hd, 0.5f, true, nullptr, 1, out, scratch);
  for (int d = 0; d < hd; ++d) EXPECT_FLOAT_EQ(out[d], v[d]);
}

TEST(Reference, AttentionCausalGroupedAndMasked) {
  // 4 query heads over 2 kv heads, head_dim 2, two cached rows; q is zero: uniform weights.
  const int64_t hd = 2, nh = 4, nkv = 2, len = 2;
  std::vector<float> q(2 * nh * hd, 0.0f);
  std::vector<float> kc(len * nkv * hd, 1.0f);
  // v rows: row j, kv head g holds (10*j + g, -(10*j + g)).
  std::vector<float> vc(len * nkv * hd);
  for (int j = 0; j < len; ++j)
    for (int g = 0; g < nkv; ++g) {
      vc[(j * nkv + g) * hd] = 10.0f * j + g;
      vc[(j * nkv + g) * hd + 1] = -(10.0f * j + g);
    }
  std::vector<float> out(2 * nh * hd), scratch(len);
  ref::Attention(q.data(), kc.data(), vc.data(), 2, 0, nh, nkv, hd, 1.0f, true, nullptr, len, out.data(),
                 scratch.data());
  // Row 0 sees cache row 0 only; row 1 averages rows 0 and 1. Heads 0,1 -> kv 0; 2,3 -> kv 1.
  EXPECT_FLOAT_EQ(out[(0 * nh + 1) * hd], 0.0f);
  EXPECT_FLOAT_EQ(out[(0 * nh + 2) * hd], 1.0f);
  EXPECT_FLOAT_EQ(out[(1 * nh + 0) * hd], 5.0f);
  EXPECT_FLOAT_EQ(out[(1 * nh + 3) * hd + 1], -6.0f);
  // Non-causal with an additive mask hiding row 1 from query 0.
  const float mask[4] = {0.0f, -INFINITY, 0.0f, 0.0f};
  ref::Attention(q.data(), kc.data(), vc.data(), 2, 0, nh, nkv, hd, 1.0f, false, mask, len, out.data(),
                 scratch.data());
  EXPECT_FLOAT_EQ(out[(0 * nh + 0) * hd], 0.0f);
  EXPECT_FLOAT_EQ(out[(1 * nh + 0) * hd], 5.0f);
}

TEST(Reference, WriteKvCache) {
  std::vector<float> kc(3 * 2, 0.0f), vc(3 * 2, 0.0f);
  const float k[2] = {1, 2}, v[2] = {3, 4};
  ref::WriteKvCache(k, v, 1, 2, 1, 2, kc.data(), vc.data());
  EXPECT_EQ(kc[4], 1.0f);
  EXPECT_EQ(vc[5], 4.0f);
  EXPECT_EQ(kc[0], 0.0f);
}

TEST(Reference, EmbeddingGathersAndChecksIds) {
  const auto table_f = test::RandomFloats(5 * 32, 9);
  const auto table = test::EncodeRows(table_f, 5, 32, DType::kQ8_0);
  const int32_t ids[2] = {4, 1};
  std::vector<float> out(2 * 32), row(32);
  ASSERT_TRUE(ref::Embedding(table.data(), DType::kQ8_0, 5, 32, ids, 2, out.data()).ok());
  ref::DequantizeRow(DType::kQ8_0, table.data() + 1 * sizeof(BlockQ8_0), row.data(), 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out[32 + i], row[i]);
  const int32_t bad[2] = {1, 5};
  const Status s = ref::Embedding(table.data(), DType::kQ8_0, 5, 32, bad, 2, out.data());
  EXPECT_EQ(s.code(), ErrorCode::kOutOfRange);
  EXPECT_NE(s.message().find("position 1"), std::string::npos) << s.message();
}

TEST(Reference, Pool) {
  const float x[6] = {1, 2, 3, 4, 100, 100};  // T=3, H=2
  const float mask[3] = {1, 1, 0};
  float out[2];
  ref::Pool(ref::PoolKind::kMean, x, 3, 2, mask, out);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 3.0f);
  ref::Pool(ref::PoolKind::kMean, x, 2, 2, nullptr, out);
  EXPECT_FLOAT_EQ(out[1], 3.0f);
  ref::Pool(ref::PoolKind::kFirst, x, 3, 2, nullptr, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.0f);
}

}  // namespace
}  // namespace acorn

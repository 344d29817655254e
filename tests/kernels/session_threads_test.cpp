// Several sessions on one shared Model, each on its own application thread with its own kernel
// thread pool: the design's promise ("a loaded Model is immutable and shared; several sessions may
// run on one model from several threads"). Every session must produce the logits a lone session
// produces. Under ThreadSanitizer (the `tsan` preset, label "threads") this also proves that
// binding, planning and stepping share nothing writable between sessions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/model.h"
#include "acorn_generated.h"
#include "bundle_writer.h"
#include "test_util.h"

namespace acorn {
namespace {

constexpr int64_t kVocab = 67, kHidden = 64, kHeads = 4, kKvHeads = 2, kHeadDim = 16, kFfn = 96;
constexpr uint32_t kMaxTokens = 8, kContext = 40;

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    std::abort();
  }
  return std::move(r).value();
}

// One LLaMA-style layer with every CPU kernel of the table in it (q8_0, q4_0 and f16 matrices,
// norms, rope, grouped attention over a KV cache, SwiGLU, residual adds) and an f32 LM head.
std::vector<uint8_t> TinyLlama() {
  BundleWriter w;
  w.SetString("general.architecture", "llama");
  w.SetLimits(kMaxTokens, kContext);
  const int64_t T = kTokensDim, H = kHidden, QW = kHeads * kHeadDim, KW = kKvHeads * kHeadDim;
  uint32_t seed = 40;
  auto matrix = [&](const char* name, DType dt, int64_t rows, int64_t cols) {
    return Must(w.AddConstant(name, dt, {rows, cols},
                              test::EncodeRows(test::RandomFloats(static_cast<size_t>(rows * cols), ++seed, 0.3f), rows,
                                               cols, dt)));
  };
  auto vec = [&](const char* name, int64_t n) {
    return Must(w.AddConstant(name, DType::kF32, {n},
                              test::EncodeRows(test::RandomFloats(static_cast<size_t>(n), ++seed, 0.2f), 1, n, DType::kF32)));
  };
  auto planned = [&](const char* name, int64_t cols) { return Must(w.AddTensor(name, DType::kF32, {T, cols}, Storage::kPlanned)); };

  const uint32_t embed = matrix("embed", DType::kF32, kVocab, H);
  const uint32_t wq = matrix("wq", DType::kQ8_0, QW, H), wk = matrix("wk", DType::kQ4_0, KW, H);
  const uint32_t wv = matrix("wv", DType::kF16, KW, H), wo = matrix("wo", DType::kQ8_0, H, QW);
  const uint32_t wg = matrix("wg", DType::kQ4_0, kFfn, H), wu = matrix("wu", DType::kQ8_0, kFfn, H);
  const uint32_t wd = matrix("wd", DType::kF16, H, kFfn), head = matrix("head", DType::kF32, kVocab, H);
  const uint32_t n1 = vec("norm1", H), n2 = vec("norm2", H), nf = vec("normf", H);
  const uint32_t tokens = Must(w.AddTensor("tokens", DType::kI32, {T}, Storage::kInput));
  const uint32_t positions = Must(w.AddTensor("positions", DType::kI32, {T}, Storage::kInput));
  const uint32_t kc = Must(w.AddTensor("k_cache", DType::kF32, {kContext, KW}, Storage::kState));
  const uint32_t vc = Must(w.AddTensor("v_cache", DType::kF32, {kContext, KW}, Storage::kState));
  const uint32_t x = planned("x", H), xn = planned("xn", H), q = planned("q", QW), k = planned("k", KW);
  const uint32_t v = planned("v", KW), qr = planned("qr", QW), kr = planned("kr", KW), att = planned("att", QW);
  const uint32_t o = planned("o", H), x2 = planned("x2", H), xn2 = planned("xn2", H), g = planned("g", kFfn);
  const uint32_t u = planned("u", kFfn), gu = planned("gu", kFfn), d = planned("d", H), x3 = planned("x3", H);
  const uint32_t xf = planned("xf", H);
  const uint32_t logits = Must(w.AddTensor("logits", DType::kF32, {T, kVocab}, Storage::kOutput));

  OpAttributes rope;
  rope.n_heads = kHeads;
  rope.head_dim = kHeadDim;
  OpAttributes rope_k = rope;
  rope_k.n_heads = kKvHeads;
  OpAttributes attn;
  attn.n_heads = kHeads;
  attn.n_kv_heads = kKvHeads;
  attn.head_dim = kHeadDim;
  attn.attention_scale = 0.25f;
  auto op = [&](fb::OpKind kind, std::vector<uint32_t> in, uint32_t out, const OpAttributes& a = OpAttributes()) {
    const Status st = w.AddOp(kind, in, {out}, a);
    if (!st.ok()) ADD_FAILURE() << st.ToString();
  };
  op(fb::OpKind::Embedding, {embed, tokens}, x);
  op(fb::OpKind::RmsNorm, {x, n1}, xn);
  op(fb::OpKind::MatMul, {xn, wq}, q);
  op(fb::OpKind::MatMul, {xn, wk}, k);
  op(fb::OpKind::MatMul, {xn, wv}, v);
  op(fb::OpKind::Rope, {q, positions}, qr, rope);
  op(fb::OpKind::Rope, {k, positions}, kr, rope_k);
  op(fb::OpKind::Attention, {qr, kr, v, kc, vc}, att, attn);
  op(fb::OpKind::MatMul, {att, wo}, o);
  op(fb::OpKind::Add, {x, o}, x2);
  op(fb::OpKind::RmsNorm, {x2, n2}, xn2);
  op(fb::OpKind::MatMul, {xn2, wg}, g);
  op(fb::OpKind::MatMul, {xn2, wu}, u);
  op(fb::OpKind::SwiGlu, {g, u}, gu);
  op(fb::OpKind::MatMul, {gu, wd}, d);
  op(fb::OpKind::Add, {x2, d}, x3);
  op(fb::OpKind::RmsNorm, {x3, nf}, xf);
  op(fb::OpKind::MatMul, {xf, head}, logits);
  return Must(w.WriteToMemory());
}

// A conversation: a prompt longer than one step, then decode steps, logits of every position.
std::vector<float> Converse(const std::shared_ptr<const Model>& model, int threads, uint32_t seed) {
  SessionOptions so;
  so.threads = threads;
  std::unique_ptr<Session> s = Must(Session::Create(model, so));
  std::vector<int32_t> prompt(19);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((seed * 31 + i * 7) % kVocab);
  std::vector<float> logits(prompt.size() * kVocab);
  Status st = s->Forward(prompt.data(), static_cast<int64_t>(prompt.size()), logits.data(), true);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<float> last(kVocab);
  for (int i = 0; i < 6 && st.ok(); ++i) {
    const int32_t next = static_cast<int32_t>((seed + i * 13) % kVocab);
    st = s->Forward(&next, 1, last.data(), false);
    EXPECT_TRUE(st.ok()) << st.ToString();
    logits.insert(logits.end(), last.begin(), last.end());
  }
  return logits;
}

TEST(SessionThreads, SessionsOnSeveralThreadsShareOneModel) {
  const std::vector<uint8_t> file = TinyLlama();
  std::unique_ptr<Bundle> bundle = Must(Bundle::FromBuffer(file.data(), file.size()));
  const std::shared_ptr<const Model> model = Must(Model::FromBundle(std::move(bundle)));

  constexpr int kSessions = 4;
  std::vector<std::vector<float>> want(kSessions);
  for (int i = 0; i < kSessions; ++i) want[i] = Converse(model, 1, static_cast<uint32_t>(i));

  // Sessions with 1, 2 and 3 kernel threads at once: the threaded kernels split the same work
  // into the same sums, so the logits agree to the bit with the lone single-threaded run.
  std::vector<std::vector<float>> got(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] { got[i] = Converse(model, 1 + i % 3, static_cast<uint32_t>(i)); });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << "session " << i;
    for (size_t j = 0; j < want[i].size(); ++j) {
      ASSERT_FLOAT_EQ(got[i][j], want[i][j]) << "session " << i << " logit " << j;
    }
  }
}

}  // namespace
}  // namespace acorn

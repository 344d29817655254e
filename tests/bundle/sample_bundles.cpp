#include "sample_bundles.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "acorn/half.h"

namespace acorn {
namespace testing {

std::vector<uint8_t> PseudoRandomBytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<uint8_t>(x);
  }
  return out;
}

namespace {
std::vector<uint8_t> F32Bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> raw = PseudoRandomBytes(n, seed);
  std::vector<uint8_t> out(n * 4);
  for (size_t i = 0; i < n; ++i) {
    const float v = (static_cast<int>(raw[i]) - 128) / 128.0f;
    std::memcpy(&out[i * 4], &v, 4);
  }
  return out;
}

std::vector<uint8_t> Q8Bytes(size_t rows, size_t cols, uint32_t seed) {
  std::vector<uint8_t> raw = PseudoRandomBytes(rows * cols, seed);
  std::vector<uint8_t> out;
  for (size_t b = 0; b < rows * cols / kQBlock; ++b) {
    BlockQ8_0 block;
    block.scale = F32ToF16(0.01f);
    for (int j = 0; j < kQBlock; ++j) block.q[j] = static_cast<int8_t>(raw[b * kQBlock + j]);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&block);
    out.insert(out.end(), p, p + sizeof block);
  }
  return out;
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "sample bundle: %s\n", s.ToString().c_str());
    std::abort();
  }
}
template <typename T>
T Check(Result<T> r) {
  Check(r.status());
  return std::move(r).value();
}
}  // namespace

std::vector<uint8_t> MakeSampleBundle(const SampleOptions& o) {
  BundleWriter w;
  w.SetString("general.architecture", "sample");
  w.SetInt("sample.hidden", o.hidden);
  w.SetFloat("sample.epsilon", 1e-5);
  w.SetLimits(o.max_tokens, o.context);
  w.SetChatTemplate("{{ messages }}");
  const uint32_t seg = o.compress ? w.AddSegment(Compression::kZstd, 3) : 0;
  const int64_t V = o.vocab, H = o.hidden, T = kTokensDim;
  const uint32_t embed = Check(w.AddConstant("embed", DType::kF32, {V, H}, F32Bytes(V * H, 1), seg));
  const uint32_t norm_w = Check(w.AddConstant("norm.weight", DType::kF32, {H}, F32Bytes(H, 2), seg));
  const uint32_t out_w = Check(w.AddConstant("output.weight", DType::kQ8_0, {V, H}, Q8Bytes(V, H, 3), seg));
  const uint32_t tokens = Check(w.AddTensor("tokens", DType::kI32, {T}, Storage::kInput));
  Check(w.AddTensor("kv_cache", DType::kF16, {o.context, H}, Storage::kState));
  const uint32_t x = Check(w.AddTensor("x", DType::kF32, {T, H}, Storage::kPlanned));
  const uint32_t xn = Check(w.AddTensor("x_norm", DType::kF32, {T, H}, Storage::kPlanned));
  const uint32_t logits = Check(w.AddTensor("logits", DType::kF32, {T, V}, Storage::kOutput));
  Check(w.AddOp(fb::OpKind::Embedding, {embed, tokens}, {x}, OpAttributes(), "embed"));
  OpAttributes norm;
  norm.epsilon = 1e-6f;
  Check(w.AddOp(fb::OpKind::RmsNorm, {x, norm_w}, {xn}, norm, "final_norm"));
  Check(w.AddOp(fb::OpKind::MatMul, {xn, out_w}, {logits}, OpAttributes(), "lm_head"));
  return Check(w.WriteToMemory());
}

}  // namespace testing
}  // namespace acorn

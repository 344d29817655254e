// Op adapters onto the optimized CPU kernels: matrix products through cpu::MatMul, and attention
// spread over heads on the thread pool.
#include <algorithm>
#include <cmath>

#include "acorn_generated.h"
#include "cpu_kernels.h"
#include "ops/op_adapters.h"
#include "reference_kernels.h"

namespace acorn {
namespace ops {

size_t CpuMatMulScratch(const Bundle& bundle, const OpDesc& op, int threads) {
  const TensorDesc& x = bundle.tensors()[op.inputs[0]];
  const TensorDesc& w = bundle.tensors()[op.inputs[1]];
  const int64_t rows = x.rank == 1 ? 1 : x.Dim(0, bundle.max_tokens());
  return cpu::MatMulScratchBytes(rows, w.shape[1], w.dtype, threads);
}

Status CpuMatMul(const OpCall& c) {
  const TensorArg& w = c.in[1];
  if (w.layout == WeightLayout::kRowPanels16) {
    cpu::MatMulRowPanels(c.res->pool, static_cast<const float*>(c.in[0].data), c.in[0].Rows(), c.in[0].Cols(), w.data,
                         w.desc->dtype, w.dims[0], c.n_in == 3 ? static_cast<const float*>(c.in[2].data) : nullptr,
                         c.out.f32(), c.res->scratch);
    return Status::Ok();
  }
  if (w.layout == WeightLayout::kBf16Panels16) {
    cpu::MatMulBf16Panels(c.res->pool, static_cast<const float*>(c.in[0].data), c.in[0].Rows(), c.in[0].Cols(),
                          w.data, w.dims[0], c.n_in == 3 ? static_cast<const float*>(c.in[2].data) : nullptr,
                          c.out.f32(), c.res->scratch);
    return Status::Ok();
  }
  cpu::MatMul(c.res->pool, static_cast<const float*>(c.in[0].data), c.in[0].Rows(), c.in[0].Cols(), w.data,
              w.desc->dtype, w.dims[0], c.n_in == 3 ? static_cast<const float*>(c.in[2].data) : nullptr, c.out.f32(),
              c.res->scratch);
  return Status::Ok();
}

size_t CpuAttentionScratch(const Bundle& bundle, const OpDesc& op, int threads) {
  const TensorDesc& q = bundle.tensors()[op.inputs[0]];
  const int64_t rows = q.rank == 1 ? 1 : q.Dim(0, bundle.max_tokens());
  return cpu::AttentionScratchBytes(rows, op.attrs.n_heads, op.attrs.n_kv_heads, op.attrs.head_dim, threads);
}

Status CpuAttention(const OpCall& c) {
  const OpAttributes& a = c.op->attrs;
  const int64_t T = c.in[0].Rows();
  const int64_t ctx = c.in[3].dims[0];
  if (c.pos + T > ctx) {
    return ACORN_ERROR(kOutOfRange, "op '%s': positions %lld..%lld exceed the KV cache of %lld", c.op->name,
                       static_cast<long long>(c.pos), static_cast<long long>(c.pos + T - 1), static_cast<long long>(ctx));
  }
  ref::WriteKvCache(static_cast<const float*>(c.in[1].data), static_cast<const float*>(c.in[2].data), T, c.pos,
                    a.n_kv_heads, a.head_dim, c.in[3].f32(), c.in[4].f32());
  cpu::Attention(c.res->pool, static_cast<const float*>(c.in[0].data), c.in[3].f32(), c.in[4].f32(), T, c.pos,
                 a.n_heads, a.n_kv_heads, a.head_dim, a.attention_scale, a.causal,
                 c.n_in == 6 ? static_cast<const float*>(c.in[5].data) : nullptr, c.pos + T, c.out.f32(),
                 c.res->scratch);
  return Status::Ok();
}

// ---- Row-wise and element-wise ops over threads ----------------------------------------------------
// The reference kernels, each thread on its own range of rows (element-wise: of elements), so the
// results are the reference's bit for bit. Small steps (decode) run on the calling thread: waking
// the pool would cost more than the work.

namespace {
constexpr int64_t kParallelRowElements = 1 << 12;
constexpr int64_t kParallelElements = 1 << 14;

int64_t Elements(const TensorArg& t) {
  int64_t n = 1;
  for (int i = 0; i < t.desc->rank; ++i) n *= t.dims[i];
  return n;
}
const float* F(const TensorArg& t) { return static_cast<const float*>(t.data); }

template <typename Fn>
void ForRows(const OpCall& c, int64_t rows, int64_t cols, Fn& f) {
  if (rows < 2 || rows * cols < kParallelRowElements) {
    f(int64_t{0}, rows);
  } else {
    cpu::ParallelFor(c.res->pool, rows, f);
  }
}

// Element-wise kernels in chunks of whole cache lines, so that threads do not share them.
template <typename Fn>
void ForElements(const OpCall& c, int64_t n, Fn& f) {
  constexpr int64_t kChunk = 1024;
  auto chunks = [&](int64_t b, int64_t e) { f(b * kChunk, std::min(n, e * kChunk)); };
  if (n < kParallelElements) {
    f(int64_t{0}, n);
  } else {
    cpu::ParallelFor(c.res->pool, (n + kChunk - 1) / kChunk, chunks);
  }
}
}  // namespace

Status CpuRmsNorm(const OpCall& c) {
  const float eps = c.op->attrs.epsilon;
  const int64_t T = c.in[0].Rows(), H = c.in[0].Cols();
  auto rows = [&](int64_t b, int64_t e) { ref::RmsNorm(F(c.in[0]) + b * H, F(c.in[1]), e - b, H, eps, c.out.f32() + b * H); };
  ForRows(c, T, H, rows);
  return Status::Ok();
}

Status CpuLayerNorm(const OpCall& c) {
  const float eps = c.op->attrs.epsilon;
  const int64_t T = c.in[0].Rows(), H = c.in[0].Cols();
  auto rows = [&](int64_t b, int64_t e) {
    ref::LayerNorm(F(c.in[0]) + b * H, F(c.in[1]), F(c.in[2]), e - b, H, eps, c.out.f32() + b * H);
  };
  ForRows(c, T, H, rows);
  return Status::Ok();
}

Status CpuRope(const OpCall& c) {
  const OpAttributes& a = c.op->attrs;
  const int64_t T = c.in[0].Rows(), W = c.in[0].Cols();
  const int32_t* positions = static_cast<const int32_t*>(c.in[1].data);
  auto rows = [&](int64_t b, int64_t e) {
    ref::Rope(F(c.in[0]) + b * W, e - b, a.n_heads, a.head_dim, positions + b, a.rope_inv_freq.data(),
              a.rope_attention_factor, a.rope_style == RopeStyle::kHalf, c.out.f32() + b * W);
  };
  ForRows(c, T, W, rows);
  return Status::Ok();
}

Status CpuAdd(const OpCall& c) {
  auto run = [&](int64_t b, int64_t e) { ref::Add(F(c.in[0]) + b, F(c.in[1]) + b, e - b, c.out.f32() + b); };
  ForElements(c, Elements(c.out), run);
  return Status::Ok();
}

Status CpuSwiGlu(const OpCall& c) {
  auto run = [&](int64_t b, int64_t e) { cpu::SwiGlu(F(c.in[0]) + b, F(c.in[1]) + b, e - b, c.out.f32() + b); };
  ForElements(c, Elements(c.out), run);
  return Status::Ok();
}

Status CpuGelu(const OpCall& c) {
  auto run = [&](int64_t b, int64_t e) { cpu::Gelu(F(c.in[0]) + b, e - b, c.out.f32() + b); };
  ForElements(c, Elements(c.out), run);
  return Status::Ok();
}

}  // namespace ops
}  // namespace acorn

// Op adapters onto the reference kernels: unpack an OpCall (tensors, attributes, step) and call
// acorn::ref. Shapes were checked at bind (runtime/graph/op_shapes.cpp), so nothing here validates
// them again.
#include "ops/op_adapters.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "acorn_generated.h"
#include "reference_kernels.h"

namespace acorn {
namespace ops {

namespace {
int64_t Elements(const TensorArg& t) {
  int64_t n = 1;
  for (int i = 0; i < t.desc->rank; ++i) n *= t.dims[i];
  return n;
}
const float* F(const TensorArg& t) { return static_cast<const float*>(t.data); }
}  // namespace

Status RefEmbedding(const OpCall& c) {
  const TensorArg& table = c.in[0];
  return ref::Embedding(table.data, table.desc->dtype, table.dims[0], table.dims[1],
                        static_cast<const int32_t*>(c.in[1].data), c.in[1].dims[0], c.out.f32());
}

Status RefRmsNorm(const OpCall& c) {
  ref::RmsNorm(F(c.in[0]), F(c.in[1]), c.in[0].Rows(), c.in[0].Cols(), c.op->attrs.epsilon, c.out.f32());
  return Status::Ok();
}

Status RefLayerNorm(const OpCall& c) {
  ref::LayerNorm(F(c.in[0]), F(c.in[1]), F(c.in[2]), c.in[0].Rows(), c.in[0].Cols(), c.op->attrs.epsilon,
                 c.out.f32());
  return Status::Ok();
}

Status RefMatMul(const OpCall& c) {
  const TensorArg& w = c.in[1];
  ref::MatMul(F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), w.data, w.desc->dtype, w.dims[0],
              c.n_in == 3 ? F(c.in[2]) : nullptr, c.out.f32());
  return Status::Ok();
}

Status RefAdd(const OpCall& c) {
  ref::Add(F(c.in[0]), F(c.in[1]), Elements(c.out), c.out.f32());
  return Status::Ok();
}

Status RefMul(const OpCall& c) {
  ref::Mul(F(c.in[0]), F(c.in[1]), Elements(c.out), c.out.f32());
  return Status::Ok();
}

Status RefSwiGlu(const OpCall& c) {
  ref::SwiGlu(F(c.in[0]), F(c.in[1]), Elements(c.out), c.out.f32());
  return Status::Ok();
}

Status RefGelu(const OpCall& c) {
  ref::Gelu(F(c.in[0]), Elements(c.out), c.out.f32());
  return Status::Ok();
}

Status RefTanh(const OpCall& c) {
  ref::Tanh(F(c.in[0]), Elements(c.out), c.out.f32());
  return Status::Ok();
}

Status RefSoftmax(const OpCall& c) {
  ref::Softmax(F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), c.out.f32());
  return Status::Ok();
}

Status RefL2Normalize(const OpCall& c) {
  ref::L2NormalizeRows(F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), 1e-12f, c.out.f32());
  return Status::Ok();
}

Status RefPool(const OpCall& c) {
  const PoolMode mode = c.op->attrs.pool_mode;
  const float* x = F(c.in[0]);
  const int64_t T = c.in[0].Rows(), H = c.in[0].Cols();
  if (mode == PoolMode::kLast) {
    for (int64_t h = 0; h < H; ++h) c.out.f32()[h] = x[(T - 1) * H + h];
    return Status::Ok();
  }
  ref::Pool(mode == PoolMode::kFirst ? ref::PoolKind::kFirst : ref::PoolKind::kMean, x, T, H,
            c.n_in == 2 ? F(c.in[1]) : nullptr, c.out.f32());
  return Status::Ok();
}

Status CopyRange(const OpCall& c, int64_t* begin, int64_t* count) {
  const OpAttributes& a = c.op->attrs;
  const int64_t rows = c.in[0].Rows();
  *begin = 0;
  *count = rows;
  if (a.row_count > 0) {
    *begin = a.row_begin < 0 ? rows + a.row_begin : a.row_begin;
    *count = a.row_count;
  }
  if (*begin < 0 || *begin + *count > rows) {
    return ACORN_ERROR(kOutOfRange, "op '%s': rows %lld..%lld of %lld", c.op->name, static_cast<long long>(*begin),
                       static_cast<long long>(*begin + *count), static_cast<long long>(rows));
  }
  return Status::Ok();
}

Status RefCopy(const OpCall& c) {
  const int64_t cols = c.in[0].Cols();
  int64_t begin = 0, count = 0;
  ACORN_RETURN_IF_ERROR(CopyRange(c, &begin, &count));
  const float* src = F(c.in[0]) + begin * cols;
  std::copy(src, src + count * cols, c.out.f32());
  return Status::Ok();
}

Status RefRope(const OpCall& c) {
  const OpAttributes& a = c.op->attrs;
  ref::Rope(F(c.in[0]), c.in[0].Rows(), a.n_heads, a.head_dim, static_cast<const int32_t*>(c.in[1].data),
            a.rope_inv_freq.data(), a.rope_attention_factor, a.rope_style == RopeStyle::kHalf, c.out.f32());
  return Status::Ok();
}

size_t AttentionScratch(const Bundle& bundle, const OpDesc& op, int threads) {
  const TensorDesc& cache = bundle.tensors()[op.inputs[3]];
  return static_cast<size_t>(threads) * static_cast<size_t>(cache.shape[0]) * sizeof(float);
}

Status RefAttention(const OpCall& c) {
  const OpAttributes& a = c.op->attrs;
  const int64_t T = c.in[0].Rows();
  const int64_t ctx = c.in[3].dims[0];
  if (c.pos + T > ctx) {
    return ACORN_ERROR(kOutOfRange, "op '%s': positions %lld..%lld exceed the KV cache of %lld", c.op->name,
                       static_cast<long long>(c.pos), static_cast<long long>(c.pos + T - 1), static_cast<long long>(ctx));
  }
  float* k_cache = c.in[3].f32();
  float* v_cache = c.in[4].f32();
  ref::WriteKvCache(F(c.in[1]), F(c.in[2]), T, c.pos, a.n_kv_heads, a.head_dim, k_cache, v_cache);
  const int64_t kv_len = c.pos + T;
  ref::Attention(F(c.in[0]), k_cache, v_cache, T, c.pos, a.n_heads, a.n_kv_heads, a.head_dim, a.attention_scale,
                 a.causal, c.n_in == 6 ? F(c.in[5]) : nullptr, kv_len, c.out.f32(),
                 reinterpret_cast<float*>(c.res->scratch));
  return Status::Ok();
}

}  // namespace ops
}  // namespace acorn

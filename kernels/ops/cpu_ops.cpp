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

size_t CpuMatMulScratch(const Bundle& bundle, const OpDesc& op, int) {
  const TensorDesc& x = bundle.tensors()[op.inputs[0]];
  const TensorDesc& w = bundle.tensors()[op.inputs[1]];
  const int64_t rows = x.rank == 1 ? 1 : x.Dim(0, bundle.max_tokens());
  return cpu::MatMulScratchBytes(rows, w.shape[1], w.dtype);
}

Status CpuMatMul(const OpCall& c) {
  const TensorArg& w = c.in[1];
  cpu::MatMul(c.res->pool, static_cast<const float*>(c.in[0].data), c.in[0].Rows(), c.in[0].Cols(), w.data,
              w.desc->dtype, w.dims[0], c.n_in == 3 ? static_cast<const float*>(c.in[2].data) : nullptr, c.out.f32(),
              c.res->scratch);
  return Status::Ok();
}

namespace {

// Dot product with independent partial sums, so the compiler can keep them in vector registers.
inline float Dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

struct AttentionJob {
  const float* q;
  const float* k_cache;
  const float* v_cache;
  const float* mask;
  float* out;
  float* scratch;  // one row of kv_len floats per thread slot
  int64_t T, pos, n_heads, group, head_dim, kv_len, scratch_stride;
  float scale;
  bool causal;
};

void AttentionHeads(const AttentionJob& j, int64_t h_begin, int64_t h_end, float* scores) {
  const int64_t q_stride = j.n_heads * j.head_dim;
  const int64_t kv_stride = q_stride / j.group;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t g = h / j.group;
    for (int64_t t = 0; t < j.T; ++t) {
      const float* q = j.q + t * q_stride + h * j.head_dim;
      const int64_t n_keys = j.causal ? j.pos + t + 1 : j.kv_len;
      float max = -INFINITY;
      for (int64_t s = 0; s < n_keys; ++s) {
        float v = Dot(q, j.k_cache + s * kv_stride + g * j.head_dim, j.head_dim) * j.scale;
        if (j.mask) v += j.mask[t * j.kv_len + s];
        scores[s] = v;
        max = std::max(max, v);
      }
      float sum = 0;
      for (int64_t s = 0; s < n_keys; ++s) {
        scores[s] = std::exp(scores[s] - max);
        sum += scores[s];
      }
      const float inv = sum > 0 ? 1.0f / sum : 0.0f;
      float* o = j.out + t * q_stride + h * j.head_dim;
      std::fill(o, o + j.head_dim, 0.0f);
      for (int64_t s = 0; s < n_keys; ++s) {
        const float p = scores[s] * inv;
        const float* v = j.v_cache + s * kv_stride + g * j.head_dim;
        for (int64_t d = 0; d < j.head_dim; ++d) o[d] += p * v[d];
      }
    }
  }
}

}  // namespace

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
  AttentionJob job{static_cast<const float*>(c.in[0].data),
                   c.in[3].f32(),
                   c.in[4].f32(),
                   c.n_in == 6 ? static_cast<const float*>(c.in[5].data) : nullptr,
                   c.out.f32(),
                   reinterpret_cast<float*>(c.res->scratch),
                   T,
                   c.pos,
                   a.n_heads,
                   a.n_heads / a.n_kv_heads,
                   a.head_dim,
                   c.pos + T,
                   ctx,
                   a.attention_scale,
                   a.causal};
  // Heads are independent; each range of heads gets the scratch row of the thread slot that the
  // pool's contiguous split gives it (range k of `threads` starts at k*n_heads/threads; the last
  // slot whose start is <= begin is this range's).
  const int threads = std::max(1, c.res->threads);
  auto run = [&job, threads](int64_t begin, int64_t end) {
    int64_t slot = 0;
    while (slot + 1 < threads && job.n_heads * (slot + 1) / threads <= begin) ++slot;
    AttentionHeads(job, begin, end, job.scratch + slot * job.scratch_stride);
  };
  cpu::ParallelFor(c.res->pool, job.n_heads, run);
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
  auto run = [&](int64_t b, int64_t e) { ref::SwiGlu(F(c.in[0]) + b, F(c.in[1]) + b, e - b, c.out.f32() + b); };
  ForElements(c, Elements(c.out), run);
  return Status::Ok();
}

Status CpuGelu(const OpCall& c) {
  auto run = [&](int64_t b, int64_t e) { ref::Gelu(F(c.in[0]) + b, e - b, c.out.f32() + b); };
  ForElements(c, Elements(c.out), run);
  return Status::Ok();
}

}  // namespace ops
}  // namespace acorn

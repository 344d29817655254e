// Op adapters onto the CUDA kernels. Shapes were checked at bind (op_shapes.cpp) and attribute
// limits by the Supports functions, so nothing here validates them again.
#include "ops/cuda_ops.h"

#include <algorithm>

#include "acorn_generated.h"
#include "cuda/launchers.h"
#include "ops/op_adapters.h"

namespace acorn {
namespace ops {

namespace {

cudaStream_t Stream(const OpCall& c) { return static_cast<cudaStream_t>(c.res->stream); }
const float* F(const TensorArg& t) { return static_cast<const float*>(t.data); }
int64_t Elements(const TensorArg& t) {
  int64_t n = 1;
  for (int i = 0; i < t.desc->rank; ++i) n *= t.dims[i];
  return n;
}

cuda::WeightView View(const TensorArg& t) {
  cuda::WeightView w;
  w.data = static_cast<const uint8_t*>(t.data);
  w.rows = t.dims[0];
  w.cols = t.dims[1];
  w.dtype = t.desc->dtype;
  w.layout = t.layout;
  if (t.layout == WeightLayout::kSplitBlocks) {
    w.scales = reinterpret_cast<const uint16_t*>(w.data + cuda::SplitScalesOffset(w.dtype, w.rows, w.cols));
  }
  return w;
}

}  // namespace

void CudaRopeParams(const OpAttributes& a, cuda::RopeParams* p) {
  p->n_heads = a.n_heads;
  p->head_dim = a.head_dim;
  p->attention_factor = a.rope_attention_factor;
  p->half_style = a.rope_style == RopeStyle::kHalf;
  std::copy(a.rope_inv_freq.begin(), a.rope_inv_freq.end(), p->inv_freq);
}

bool CudaRopeSupports(const Bundle&, const OpDesc& op) {
  const OpAttributes& a = op.attrs;
  return a.head_dim % 2 == 0 && a.head_dim / 2 <= static_cast<uint32_t>(cuda::kMaxRopePairs) &&
         a.rope_inv_freq.size() == a.head_dim / 2;
}

bool CudaAttentionSupports(const Bundle& bundle, const OpDesc& op) {
  const OpAttributes& a = op.attrs;
  if (a.n_kv_heads == 0 || a.n_heads % a.n_kv_heads != 0) return false;
  const int64_t cache_rows = bundle.tensors()[op.inputs[3]].shape[0];
  return a.head_dim >= 1 && a.head_dim <= static_cast<uint32_t>(cuda::kMaxHeadDim) && cache_rows <= (1 << 21);
}

size_t CudaMatMulScratch(const Bundle& bundle, const OpDesc& op, int) {
  const TensorDesc& w = bundle.tensors()[op.inputs[1]];
  return cuda::ActQuantFor(w.dtype) != cuda::ActQuant::kNone ? cuda::Q8RowsBytes(cuda::kSmallRows, w.shape[1]) : 0;
}

size_t CudaAttentionScratch(const Bundle& bundle, const OpDesc& op, int) {
  return cuda::AttentionScratchBytes(op.attrs.n_heads, op.attrs.head_dim, bundle.tensors()[op.inputs[3]].shape[0]);
}

Status CudaEmbedding(const OpCall& c) {
  return cuda::LaunchEmbedding(Stream(c), View(c.in[0]), static_cast<const int32_t*>(c.in[1].data), c.in[1].dims[0],
                               c.out.f32());
}

Status CudaRmsNorm(const OpCall& c) {
  return cuda::LaunchRmsNorm(Stream(c), F(c.in[0]), F(c.in[1]), c.in[0].Rows(), c.in[0].Cols(), c.op->attrs.epsilon,
                             c.out.f32(), nullptr);
}

Status CudaLayerNorm(const OpCall& c) {
  return cuda::LaunchLayerNorm(Stream(c), F(c.in[0]), F(c.in[1]), F(c.in[2]), c.in[0].Rows(), c.in[0].Cols(),
                               c.op->attrs.epsilon, c.out.f32());
}

Status CudaMatMul(const OpCall& c) {
  const cuda::WeightView w = View(c.in[1]);
  const int64_t T = c.in[0].Rows(), K = c.in[0].Cols();
  cuda::LinearOut o;
  o.bias = c.n_in == 3 ? F(c.in[2]) : nullptr;
  o.out = c.out.f32();
  if (T > cuda::kSmallRows) return cuda::LaunchGemm(Stream(c), F(c.in[0]), T, K, w, o);
  cuda::LinearArgs a;
  a.w[0] = w;
  a.o[0] = o;
  a.x = F(c.in[0]);
  a.T = T;
  a.K = K;
  const cuda::ActQuant format = cuda::ActQuantFor(w.dtype);
  if (format != cuda::ActQuant::kNone) {
    a.xq = cuda::Q8RowsAt(c.res->scratch, cuda::kSmallRows, K);
    ACORN_RETURN_IF_ERROR(cuda::LaunchQuantizeRows(Stream(c), format, a.x, T, K, a.xq));
  }
  return cuda::LaunchGemv(Stream(c), a);
}

Status CudaAdd(const OpCall& c) {
  return cuda::LaunchElementwise(Stream(c), cuda::Elementwise::kAdd, F(c.in[0]), F(c.in[1]), Elements(c.out), c.out.f32());
}

Status CudaMul(const OpCall& c) {
  return cuda::LaunchElementwise(Stream(c), cuda::Elementwise::kMul, F(c.in[0]), F(c.in[1]), Elements(c.out), c.out.f32());
}

Status CudaSwiGlu(const OpCall& c) {
  return cuda::LaunchElementwise(Stream(c), cuda::Elementwise::kSwiGlu, F(c.in[0]), F(c.in[1]), Elements(c.out),
                                 c.out.f32());
}

Status CudaGelu(const OpCall& c) {
  return cuda::LaunchElementwise(Stream(c), cuda::Elementwise::kGelu, F(c.in[0]), nullptr, Elements(c.out), c.out.f32());
}

Status CudaTanh(const OpCall& c) {
  return cuda::LaunchElementwise(Stream(c), cuda::Elementwise::kTanh, F(c.in[0]), nullptr, Elements(c.out), c.out.f32());
}

Status CudaSoftmax(const OpCall& c) {
  return cuda::LaunchSoftmax(Stream(c), F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), c.out.f32());
}

Status CudaL2Normalize(const OpCall& c) {
  return cuda::LaunchL2Normalize(Stream(c), F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), 1e-12f, c.out.f32());
}

Status CudaPool(const OpCall& c) {
  const PoolMode mode = c.op->attrs.pool_mode;
  const int m = mode == PoolMode::kFirst ? 1 : (mode == PoolMode::kLast ? 2 : 0);
  return cuda::LaunchPool(Stream(c), m, F(c.in[0]), c.in[0].Rows(), c.in[0].Cols(), c.n_in == 2 ? F(c.in[1]) : nullptr,
                          c.out.f32());
}

Status CudaCopy(const OpCall& c) {
  const int64_t cols = c.in[0].Cols();
  int64_t begin = 0, count = 0;
  ACORN_RETURN_IF_ERROR(CopyRange(c, &begin, &count));
  const cudaError_t e = cudaMemcpyAsync(c.out.data, F(c.in[0]) + begin * cols,
                                        static_cast<size_t>(count * cols) * sizeof(float), cudaMemcpyDeviceToDevice,
                                        Stream(c));
  if (e != cudaSuccess) return ACORN_ERROR(kBackend, "CUDA: copy for op '%s': %s", c.op->name, cudaGetErrorString(e));
  return Status::Ok();
}

Status CudaRope(const OpCall& c) {
  cuda::RopeParams p;
  CudaRopeParams(c.op->attrs, &p);
  return cuda::LaunchRope(Stream(c), F(c.in[0]), c.in[0].Rows(), static_cast<const int32_t*>(c.in[1].data), p,
                          c.out.f32(), nullptr, c.res->device_step);
}

Status CudaAttention(const OpCall& c) {
  const OpAttributes& a = c.op->attrs;
  const int64_t T = c.in[0].Rows();
  const int64_t kv_width = static_cast<int64_t>(a.n_kv_heads) * a.head_dim;
  ACORN_RETURN_IF_ERROR(cuda::LaunchKvWrite(Stream(c), F(c.in[1]), F(c.in[2]), T, kv_width, c.in[3].f32(), c.in[4].f32(),
                                            c.res->device_step));
  cuda::AttentionArgs args;
  args.q = F(c.in[0]);
  args.k_cache = c.in[3].f32();
  args.v_cache = c.in[4].f32();
  args.mask = c.n_in == 6 ? F(c.in[5]) : nullptr;
  args.out = c.out.f32();
  args.T = T;
  args.n_heads = a.n_heads;
  args.n_kv_heads = a.n_kv_heads;
  args.head_dim = a.head_dim;
  args.cache_rows = c.in[3].dims[0];
  args.scale = a.attention_scale;
  args.causal = a.causal;
  args.device_pos = c.res->device_step;
  args.scratch = reinterpret_cast<float*>(c.res->scratch);
  return cuda::LaunchAttention(Stream(c), args);
}

}  // namespace ops
}  // namespace acorn

// Host entry points of the CUDA kernels: each enqueues its work on `stream` and returns the launch
// error as a Status. Pointers are device pointers (or host memory mapped into the device). The op
// adapters (cuda_ops.cpp), the fused program (device_session.cpp) and the tests call these; each
// kernel computes what its namesake in kernels/reference computes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "acorn/status.h"
#include "device_types.h"

namespace acorn {
namespace cuda {

// The last launch's error (or an earlier asynchronous one) as a Status naming `what`.
Status LaunchStatus(const char* what);

// ---- Quantization ---------------------------------------------------------------------------------

// rows x K floats to int8 blocks in `format` (K a multiple of its block: 32, 256 for kQ8_K), bit
// for bit as ref::QuantizeRowQ8_0 / ref::QuantizeRowQ8_K (Q8Rows says what each array holds).
Status LaunchQuantizeRows(cudaStream_t stream, ActQuant format, const float* x, int64_t rows, int64_t K,
                          const Q8Rows& out);

// ---- Linear layers ----------------------------------------------------------------------------------

struct LinearOut {
  const float* bias = nullptr;      // [N] or null
  const float* residual = nullptr;  // [T][N] added after the bias, or null (may equal out)
  float* out = nullptr;             // [T][N]
};

// One to three matrices that read the same activations (a fused q/k/v or gate/up projection),
// each with its own output; with swiglu (two matrices of equal rows) out[0] receives
// silu(w0 x + b0) * (w1 x + b1), and out[1] is not written.
struct LinearArgs {
  WeightView w[3];
  LinearOut o[3];
  int n = 1;
  bool swiglu = false;
  const float* x = nullptr;  // [T][K] floats
  Q8Rows xq;                 // [T][K] int8: what the quantized-weight kernels read
  int64_t T = 0;
  int64_t K = 0;
};

// T <= kSmallRows: every weight is read once for all rows. Float weights (f32/f16/bf16) read x;
// block types read xq, quantized as ActQuantFor(dtype) says (integer products, as
// ref::MatMulQ8Activations defines them). All matrices of one call share dtype, layout and K.
Status LaunchGemv(cudaStream_t stream, const LinearArgs& args);

// Any T, one matrix: y = x W^T (+ bias) (+ residual). Uses the tensor-core kernel where
// TensorCoreGemmSupports says so (fp16 operands, fp32 accumulation), else the SIMT kernel (fp32).
Status LaunchGemm(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w, const LinearOut& o);
// f16 weights with K a multiple of 8, and every block type (K a whole number of blocks).
bool TensorCoreGemmSupports(const WeightView& w, int64_t K);
Status LaunchGemmTensorCore(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w,
                            const LinearOut& o);
Status LaunchGemmSimt(cudaStream_t stream, const float* x, int64_t T, int64_t K, const WeightView& w,
                      const LinearOut& o);

// ---- Row-wise and element-wise ops ----------------------------------------------------------------

// out = w * (x * rsqrt(mean(x^2) + eps)); with q (H a multiple of 32) also writes out quantized.
Status LaunchRmsNorm(cudaStream_t stream, const float* x, const float* w, int64_t T, int64_t H, float eps, float* out,
                     const Q8Rows* q);
Status LaunchLayerNorm(cudaStream_t stream, const float* x, const float* w, const float* b, int64_t T, int64_t H,
                       float eps, float* out);
Status LaunchSoftmax(cudaStream_t stream, const float* x, int64_t rows, int64_t cols, float* out);
Status LaunchL2Normalize(cudaStream_t stream, const float* x, int64_t rows, int64_t cols, float eps, float* out);

enum class Elementwise { kAdd, kMul, kSwiGlu, kGelu, kTanh };
// b is ignored for the unary kinds.
Status LaunchElementwise(cudaStream_t stream, Elementwise kind, const float* a, const float* b, int64_t n, float* out);

// mode: 0 mean (mask-weighted, mask may be null), 1 first row, 2 last row; out [H].
Status LaunchPool(cudaStream_t stream, int mode, const float* x, int64_t T, int64_t H, const float* mask, float* out);

// out[t] = table[ids[t]] dequantized (ids already checked on the host; out-of-range rows read 0).
Status LaunchEmbedding(cudaStream_t stream, const WeightView& table, const int32_t* ids, int64_t T, float* out);

// ---- Positions and attention ------------------------------------------------------------------------

constexpr int kMaxRopePairs = 256;  // head_dim up to 512

struct RopeParams {
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  float attention_factor = 1.0f;
  bool half_style = true;
  float inv_freq[kMaxRopePairs];
};

// Rotates x [T, n_heads * head_dim] (row t at positions[t]) into out; when cache is not null the
// rotated rows are also written to cache rows pos..pos+T-1 (pos = device_pos[0]).
Status LaunchRope(cudaStream_t stream, const float* x, int64_t T, const int32_t* positions, const RopeParams& p,
                  float* out, float* cache, const int64_t* device_pos);
// The step before attention in one launch: q rotated into q_out, k rotated into k_out (if not null)
// and into the key cache, v copied into the value cache; cache rows pos..pos+T-1.
Status LaunchRopeKv(cudaStream_t stream, const float* q, const float* k, const float* v, int64_t T,
                    const int32_t* positions, const RopeParams& pq, const RopeParams& pk, float* q_out, float* k_out,
                    float* k_cache, float* v_cache, const int64_t* device_pos);
// k and v rows [T, width] into the caches at rows pos..pos+T-1.
Status LaunchKvWrite(cudaStream_t stream, const float* k, const float* v, int64_t T, int64_t width, float* k_cache,
                     float* v_cache, const int64_t* device_pos);

struct AttentionArgs {
  const float* q = nullptr;        // [T, n_heads * head_dim]
  const float* k_cache = nullptr;  // [cache_rows, n_kv_heads * head_dim], rows 0..pos+T-1 written
  const float* v_cache = nullptr;
  const float* mask = nullptr;     // additive, row t at t * (pos + T), or null
  float* out = nullptr;            // [T, n_heads * head_dim]
  Q8Rows out_q;                    // when out_q.qs is set (and T <= kSmallRows): out quantized too
  int64_t T = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, cache_rows = 0;
  float scale = 1.0f;
  bool causal = true;
  const int64_t* device_pos = nullptr;  // the step's first position
  float* scratch = nullptr;             // AttentionScratchBytes
};

constexpr int kMaxHeadDim = 256;
// Device scratch the decode kernel needs for up to kSmallRows query rows.
size_t AttentionScratchBytes(int64_t n_heads, int64_t head_dim, int64_t cache_rows);
// Picks the one-pass-per-row kernel (split over the keys, T <= kSmallRows) or the tiled flash
// kernel; neither materializes the full score matrix.
Status LaunchAttention(cudaStream_t stream, const AttentionArgs& args);
Status LaunchAttentionDecode(cudaStream_t stream, const AttentionArgs& args);
Status LaunchAttentionFlash(cudaStream_t stream, const AttentionArgs& args);

// Raises the dynamic shared-memory limits of the kernels that need more than 48 KB; once per
// process, before the first launch (and outside stream capture).
Status PrepareKernels();

}  // namespace cuda
}  // namespace acorn

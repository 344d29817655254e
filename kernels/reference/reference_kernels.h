// Reference kernels: plain, readable C++ that defines what every op computes. Every optimized
// kernel (cpu/, cuda/) is tested against these. Speed is not a goal here; clarity and agreement
// with PyTorch float32 semantics are.
//
// Conventions: activations are float32, row-major; a "row" is the innermost dimension. Weight
// matrices are [N, K] (N rows of K elements, as in nn.Linear), stored in any DType of dtype.h.
// Kernels do not validate shapes (the binder does, at load); they never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"
#include "acorn/status.h"

namespace acorn {
namespace ref {

// ---- Quantization (byte-identical to llama.cpp's reference quantizers) -------------------------

// k must be a multiple of 32. d = amax/127, q = round(x/d).
void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t k);
// k must be a multiple of 32. d = (value of largest magnitude, sign kept) / -8,
// q = min(15, int(x/d + 8.5)).
void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t k);
// k must be a multiple of 32. d = (max - min) / 15, m = min, q = min(15, int((x - min)/d + 0.5)).
void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t k);
// k must be a multiple of 32. d = (value of largest magnitude, sign kept) / -16,
// q = min(31, int(x/d + 16.5)).
void QuantizeRowQ5_0(const float* x, BlockQ5_0* y, int64_t k);
// k must be a multiple of 32. d = (max - min) / 31, m = min, q = int((x - min)/d + 0.5).
void QuantizeRowQ5_1(const float* x, BlockQ5_1* y, int64_t k);
// k must be a multiple of 256. As ggml's quantize_row_q{2,3,4,5,6}_K_ref (llama-quantize without
// an importance matrix), byte for byte; a super-block holding NaN or infinity gets a NaN scale.
void QuantizeRowQ2_K(const float* x, BlockQ2_K* y, int64_t k);
void QuantizeRowQ3_K(const float* x, BlockQ3_K* y, int64_t k);
void QuantizeRowQ4_K(const float* x, BlockQ4_K* y, int64_t k);
void QuantizeRowQ5_K(const float* x, BlockQ5_K* y, int64_t k);
void QuantizeRowQ6_K(const float* x, BlockQ6_K* y, int64_t k);
// Activations for the K-quant kernels, as ggml's quantize_row_q8_K_ref (llama.cpp's activations
// for K-quant matrices): per 256 values a float scale d[i] = max / -127 (max: the value of largest
// magnitude) and q = min(127, nearest_int(x / d)). k must be a multiple of 256; a super-block
// holding NaN or infinity gets d = NaN and zero quants.
void QuantizeRowQ8_K(const float* x, int8_t* q, float* d, int64_t k);
// The part of QuantizeRow for the K-quants (quantize_k.cpp); false for a type it does not write.
bool QuantizeRowK(DType type, const float* x, void* dst, int64_t k);
// Writes k floats as `type` (rounded for f16/bf16, quantized as above for block types; k a
// whole blocks for those). Returns false for a dtype that holds no floats (i32, i8) and for the
// block types acorn reads but does not write (IQ4_NL, IQ4_XS).
bool QuantizeRow(DType type, const float* x, void* dst, int64_t k);
// Converts k elements of any float-holding dtype to float (k a whole number of the dtype's
// blocks: 32, or 256 for the K-quants and IQ4_XS), as ggml's dequantize_row_* does, bit for bit.
// Returns false for a dtype that holds no floats (i32, i8).
bool DequantizeRow(DType type, const void* src, float* dst, int64_t k);
// The part of DequantizeRow for the K-quants and IQ4 (dequantize_k.cpp); false for other types.
bool DequantizeRowK(DType type, const void* src, float* dst, int64_t k);
// ggml's get_scale_min_k4: the 6-bit scale and minimum of sub-block j (0..7) of a Q4_K/Q5_K block.
// Inline: the CPU kernels call it per row and super-block.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The 6-bit scale (0..63, stored offset by 32) of sub-block j (0..15) of a Q3_K block from its 12
// packed bytes: low 4 bits in byte j % 8 (high nibble for j >= 8), high 2 bits at bits 2 * (j / 4)
// of byte 8 + j % 4 (ggml's kmask shuffle, written per scale).
inline int Q3_KScale(const uint8_t* packed, int j) {
  const int low = (packed[j % 8] >> (j < 8 ? 0 : 4)) & 0xF;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | high << 4;
}
// The 6-bit scale (stored offset by 32) of 32-group g (0..7) of an IQ4_XS block.
inline int IQ4_XSScale(const BlockIQ4_XS& b, int g) {
  return ((b.scales_l[g / 2] >> 4 * (g % 2)) & 0xF) | ((b.scales_h >> 2 * g) & 3) << 4;
}

// One group of 32 consecutive elements of a weight row of a block type other than Q8_0/Q4_0
// (group g: elements 32g..32g+31), in the form integer kernels use: element j is
// scale[j / 16] * (u[j] - offset) - min[j / 16], with the float scales and minimums ggml's
// dequantizer computes (d * sc, dmin * m, ...), so that it equals DequantizeRow's float exactly.
// IQ4's non-linear levels are stored as level + 128 (offset 128).
struct QuantGroup {
  uint8_t u[32];   // the quant: 0..15 (Q4_K, Q4_1), 0..31 (Q5_K, Q5_0, Q5_1), 0..63 (Q6_K),
                   // 0..3 (Q2_K), 0..7 (Q3_K), 1..241 (IQ4_NL, IQ4_XS)
  int offset;      // 0, 4 (Q3_K), 16 (Q5_0), 32 (Q6_K) or 128 (IQ4)
  float scale[2];  // for elements 0..15 and 16..31 (they differ for Q2_K, Q3_K and Q6_K)
  float min[2];    // 0 for the types without a minimum; -m for Q4_1 and Q5_1 (value d * q + m)
};
// Every block type but Q8_0 and Q4_0 (which the kernels read directly); false for other types.
bool QuantGroupOf(DType wtype, const uint8_t* row, int64_t g, QuantGroup* out);

// ---- Linear layers -----------------------------------------------------------------------------

// y[t,n] = sum_k x[t,k] * W[n,k] (+ bias[n]). x: [T,K], W: [N,K] in wtype, y: [T,N].
// Dequantizes W and accumulates in double: the exact product of what is stored.
void MatMul(const float* x, int64_t T, int64_t K, const void* w, DType wtype, int64_t N,
            const float* bias, float* y);

// Whether the CPU's integer kernels take Q8_K activations for weights of this type (the K-quants
// and IQ4_XS, as llama.cpp's), rather than Q8_0 ones.
bool TakesQ8KActivations(DType wtype);
// Whether they take Q8_1 activations (Q4_1, Q5_1, as llama.cpp's): Q8_0 blocks plus s, the block's
// float scale times the sum of its quants, rounded to fp16 (Q8_1BlockSum); the weights' minimum
// multiplies s.
bool TakesQ8_1Activations(DType wtype);
// s of ggml's quantize_row_q8_1_ref for the 32 floats x whose Q8_0 quants are q.
float Q8_1BlockSum(const float* x, const int8_t* q);

// What the quantized integer kernels compute (every block type): each row of x is first quantized
// to Q8_0 with QuantizeRowQ8_0 (to Q8_K with QuantizeRowQ8_K where TakesQ8KActivations, as
// llama.cpp does), then per 32-block the integer dot product is scaled by (weight scale *
// activation scale) and the blocks are summed (in double). Other than for Q8_0 and Q4_0 a block
// is a QuantGroup: sum_h scale[h] * xd * isum_h - min[h] * xd * xsum_h, with isum_h the integer
// product of (u - offset) and xq over half h, xsum_h the sum of xq there, and xd the activation
// scale (that of the Q8_K super-block where it is one); where TakesQ8_1Activations the minimum
// term is min[0] * Q8_1BlockSum instead. The optimized kernels
// differ from this only in the order of float additions. If abs_sum is not null, it receives per
// output the sum of |each product w*x| (scaled): a bound on any partial sum, so the scale of
// the rounding any summation order may add.
void MatMulQ8Activations(const float* x, int64_t T, int64_t K, const void* w, DType wtype,
                         int64_t N, const float* bias, float* y, float* abs_sum);

// ---- Element-wise (out may equal an input) -----------------------------------------------------

void Add(const float* a, const float* b, int64_t n, float* out);
void Mul(const float* a, const float* b, int64_t n, float* out);
// out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);
// Exact GELU (erf form), as torch.nn.functional.gelu with approximate="none".
void Gelu(const float* x, int64_t n, float* out);
void Tanh(const float* x, int64_t n, float* out);
// Softmax over each row of [rows, cols], max-subtracted.
void Softmax(const float* x, int64_t rows, int64_t cols, float* out);

// ---- Normalization (per row of [T, H]; out may equal x) ----------------------------------------

// out = x * rsqrt(mean(x^2) + eps) * weight (LLaMA / Hugging Face LlamaRMSNorm).
void RmsNorm(const float* x, const float* weight, int64_t T, int64_t H, float eps, float* out);
// out = (x - mean) / sqrt(var + eps) * weight + bias, biased variance (torch LayerNorm).
// weight and bias may be null (1 and 0).
void LayerNorm(const float* x, const float* weight, const float* bias, int64_t T, int64_t H,
               float eps, float* out);
// out = x / max(||x||_2, eps) per row (torch.nn.functional.normalize, eps 1e-12 there).
void L2NormalizeRows(const float* x, int64_t rows, int64_t cols, float eps, float* out);

// ---- Positions and attention -------------------------------------------------------------------

// Rotary embedding on x [T, n_heads * head_dim]; row t is at positions[t]. Pair i (i < head_dim/2)
// turns by angle positions[t] * inv_freq[i]; cos and sin are multiplied by attention_factor
// (Hugging Face's "attention_scaling", 1 for plain RoPE). half_style pairs (x[i], x[i + d/2])
// as Hugging Face's rotate_half does; otherwise pairs are (x[2i], x[2i+1]) (GPT-J, llama.cpp's
// GGUF layout). out may equal x.
void Rope(const float* x, int64_t T, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const float* inv_freq, float attention_factor, bool half_style, float* out);

// Copies T new rows of K and V ([T, n_kv_heads * head_dim]) into the caches at rows pos..pos+T-1.
void WriteKvCache(const float* k_new, const float* v_new, int64_t T, int64_t pos,
                  int64_t n_kv_heads, int64_t head_dim, float* k_cache, float* v_cache);

// Scratch floats Attention needs: one row of scores.
inline int64_t AttentionScratchFloats(int64_t kv_len) { return kv_len; }

// Grouped-query attention. q: [T, n_heads*head_dim]; caches: [>= kv_len, n_kv_heads*head_dim];
// out: [T, n_heads*head_dim]. Query head h reads kv head h / (n_heads / n_kv_heads).
// causal: query row t (at position pos + t) attends to cache rows 0..pos+t (needs
// pos + T <= kv_len); otherwise to rows 0..kv_len-1. mask (nullable) is additive, [T, kv_len],
// added to the scaled scores. Softmax in float. scratch: AttentionScratchFloats(kv_len) floats.
void Attention(const float* q, const float* k_cache, const float* v_cache, int64_t T, int64_t pos,
               int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, bool causal,
               const float* mask, int64_t kv_len, float* out, float* scratch);

// ---- Gather and pooling ------------------------------------------------------------------------

// out[t, :] = table[ids[t], :] dequantized. table: [V, H] in dtype. An id outside [0, V) is an
// error (kOutOfRange) naming the position; rows before it are written.
Status Embedding(const void* table, DType dtype, int64_t V, int64_t H, const int32_t* ids,
                 int64_t T, float* out);

enum class PoolKind { kMean, kFirst };
// Reduces x [T, H] to out [H]. kMean: sum_t mask[t] * x[t] / max(sum_t mask[t], 1e-9)
// (sentence-transformers' mean pooling; mask null means all ones). kFirst: row 0 (BERT's [CLS]).
void Pool(PoolKind kind, const float* x, int64_t T, int64_t H, const float* mask, float* out);

}  // namespace ref
}  // namespace acorn

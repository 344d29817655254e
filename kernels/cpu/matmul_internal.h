// Private to kernels/cpu: the contract between the MatMul driver (matmul.cpp) and the per-ISA
// kernel files. The driver quantizes activations and splits output rows over threads; a kernel
// set computes all T tokens for a range of output rows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu_kernels.h"

namespace acorn {
namespace cpu {
namespace internal {

struct PanelActivations;
struct WeightPanel;
struct MatMulArgs;
// A kernel set's panel product (matmul_panels.h): y for rows [n, n + rows) (rows <= 16), every
// token, from a packed panel; bias from a.bias, output into a.y.
using PanelFn = void (*)(const MatMulArgs& a, const PanelActivations& x, const WeightPanel& w, int64_t n,
                         int rows);

// Weights repacked at load in 16-row panels (cpu_kernels.h; a.w the first panel): y for the rows
// of panels [p0, p1), every token, from the packed activations x. scratch: this thread's own
// PanelBytes(a.K, a.wtype) bytes, 64-byte aligned, where T >= 4 (null below), for kernels that
// unpack a panel once for all the tokens.
using RowPanelFn = void (*)(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1,
                            uint8_t* scratch);
// f32 weights: y for rows [n0, n1), every token, from the activations packed with tokens in lanes.
using TokenPanelFn = void (*)(const MatMulArgs& a, const float* x, int64_t n0, int64_t n1);
// Packs token groups [g0, g1) of a.x for it (matmul_panels.h: TokenPanelAt's layout).
using TokenPackFn = void (*)(const MatMulArgs& a, float* x, int64_t g0, int64_t g1);

struct MatMulArgs {
  int64_t T, K, N;
  const float* x;  // [T, K] float activations (float weights)
  // Q8_0 activations (quantized weights), as separate arrays so that SIMD loads are aligned:
  const int8_t* xq;     // [T, K] quants; row t at xq + t*K, 64-byte aligned rows when K%64 == 0
  const float* xd;      // [T, K/32] block scales (the fp16 scale, widened)
  // [T, K/4] minus the sum of each group of 4 consecutive quants. Integer kernels that take
  // offset-binary weights (u = w + c) remove c*sum(x) per group of 4, the span of one int32 lane
  // of vpdpbusd / pmaddubsw+pmaddwd, so that every lane holds exactly sum(w*x) over its 4
  // elements and float rounding stays relative to the true products.
  const int32_t* xnsum4;
  // [T, K/32] each block's scale times the sum of its quants: the K-quants' minimum term
  // (min * sum(x) per 32-group) without summing the quants again per weight row; for Q4_1/Q5_1
  // weights llama.cpp's Q8_1 s (ref::Q8_1BlockSum) instead.
  const float* xds;
  const uint8_t* w;     // weights, row n at w + n*w_row_bytes
  size_t w_row_bytes;
  DType wtype;        // the weights' type (RowsGroupsScalar reads it)
  const float* bias;  // [N] or null
  float* y;           // [T, N]
};

// Computes y for output rows [n0, n1), all tokens.
using RowsFn = void (*)(const MatMulArgs& a, int64_t n0, int64_t n1);

struct KernelSet {
  RowsFn f32;
  RowsFn f16;
  RowsFn q8_0;
  RowsFn q4_0;
  // Quantizes one row of K floats exactly as ref::QuantizeRowQ8_0 does.
  void (*quantize_row)(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4);
  // Thread ranges are cut on multiples of it: the largest row tile of the set, so that no
  // thread is left a ragged tile in the middle of the matrix.
  int row_tile;
  // Types added later are appended here. A set may leave any of them null (a set initialized
  // with the fields above only does): the driver then runs the scalar set's function for that
  // type, which computes the same ref::MatMulQ8Activations on any row range.
  RowsFn q4_k;
  RowsFn q5_k;
  RowsFn q6_k;
  // Prompt-sized products of every quantized type through packed panels (matmul_panels.h), or
  // null where the set has none; panel_tokens is its token tile and row_panels'.
  PanelFn panel;
  int panel_tokens;
  // Prompt-sized products of f32 weights with tokens in lanes (matmul_panels.h), or null.
  TokenPanelFn f32_tokens;
  TokenPackFn f32_tokens_pack;  // its activations' packing: null where f32_tokens is
  // q8_0/q4_0/q4_1/q5_0/q5_1/Q4_K/Q5_K/Q6_K weights in 16-row panels (any T), or null: then nothing
  // is repacked at load.
  RowPanelFn row_panels;
  // Whether q8_0 and q4_0 go through row_panels too: false where the set's own q8_0/q4_0 tiles are
  // the tuned path (ARM: SDOT and MMLA tiles; the panels' gain there is unmeasured).
  bool row_panels_q8_0_q4_0;
  // The other super-block types (never repacked), or null (the scalar set's RowsGroups).
  RowsFn q2_k;
  RowsFn q3_k;
  RowsFn iq4_xs;
  // The 32-element block types read as groups, where not repacked: IQ4_NL always, Q4_1/Q5_0/Q5_1
  // with cpu_repack off. Null: the scalar set's RowsGroups.
  RowsFn q4_1;
  RowsFn q5_0;
  RowsFn q5_1;
  RowsFn iq4_nl;
};

const KernelSet& ScalarKernels();
#if defined(ACORN_X86_KERNELS)
const KernelSet& Avx2Kernels();
const KernelSet& Avx512Kernels();
// kAvx512's set with the AMX tile kernels for prompts (matmul_amx.cpp).
const KernelSet& AmxKernels();
// The AVX-512 set's token tile (its panel_tokens): activations are packed in groups of this many
// tokens, which the AMX kernels read two groups at a time.
constexpr int kPanelTokensAvx512 = 8;
// The AVX-512 set's row-panel product for tokens [t_begin, T) only (t_begin a multiple of its token
// tile): what the AMX kernels leave.
void RowPanelsAvx512From(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, int64_t t_begin);
// The AVX2 set's row-panel product (matmul_panels_avx2.cpp) and its token tile.
void RowPanelsAvx2(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch);
constexpr int kRowPanelTokensAvx2 = 4;
#endif
#if defined(ACORN_ARM64_KERNELS)
const KernelSet& NeonKernels();
const KernelSet& NeonDotprodKernels();
const KernelSet& NeonI8mmKernels();
// The dotprod and i8mm sets' row-panel product (matmul_panels_neon_dotprod.cpp) and its token tile.
void RowPanelsDotprod(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch);
constexpr int kRowPanelTokensNeon = 4;
#endif

// bf16 products (cpu_kernels.h, MatMulBf16Panels). Activations: Tp = T rounded up to 16 rows of
// Kp = K rounded up to 32 bf16 values, zeros past T and K, 64-byte aligned.
constexpr int64_t kBf16Rows = 16;
constexpr int64_t kBf16Cols = 32;  // columns per tile multiply
inline int64_t Bf16Padded(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
// Rows [t0, t1) of the padded activations (t1 <= Tp); rows at or past T are zeros.
using Bf16PackFn = void (*)(const float* x, int64_t T, int64_t K, int64_t t0, int64_t t1, uint16_t* xb);
// The product is cut into items of up to 2 panels (32 output rows) by up to 2 token blocks (32
// tokens), the tile unit's 4 accumulators: item i is panel pair i / block_pairs, token block pair
// i % block_pairs, so that a thread's run of items keeps its panels in cache across the tokens.
struct Bf16Args {
  const uint16_t* x;  // packed activations
  const uint8_t* w;   // panels
  int64_t T, K, N;
  int64_t block_pairs;
  const float* bias;
  float* y;
};
// Computes items [i0, i1).
using Bf16ItemsFn = void (*)(const Bf16Args& a, int64_t i0, int64_t i1);
void PackBf16Portable(const float* x, int64_t T, int64_t K, int64_t t0, int64_t t1, uint16_t* xb);
void Bf16ItemsPortable(const Bf16Args& a, int64_t i0, int64_t i1);
#if defined(ACORN_X86_KERNELS)
void PackBf16Avx512(const float* x, int64_t T, int64_t K, int64_t t0, int64_t t1, uint16_t* xb);
void Bf16ItemsAmx(const Bf16Args& a, int64_t i0, int64_t i1);
#endif

// The scalar row quantizer; SIMD sets may reuse it.
void QuantizeRowScalar(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4);
// The portable integer kernel for every weight type ref::QuantGroupOf unpacks (a.wtype): the
// block types other than q8_0/q4_0 on CPUs without a SIMD set for them.
void RowsGroupsScalar(const MatMulArgs& a, int64_t n0, int64_t n1);
void RowsGroups(DType wtype, const MatMulArgs& a, int64_t n0, int64_t n1);

// Activations for the K-quant kernels: ref::QuantizeRowQ8_K (llama.cpp's Q8_K), written in the
// layout above, with each 32-block's d the scale of its 256-value super-block. Scalar on every
// ISA: it is O(T * K), the product O(T * K * N).
void QuantizeRowQ8KScalar(const float* x, int64_t K, int8_t* q, float* d, int32_t* nsum4);

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

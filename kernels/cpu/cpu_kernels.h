// Optimized CPU kernels: SIMD (AVX2, AVX-512 with VNNI, AMX tiles on x86-64; NEON, dotprod, i8mm on ARM64)
// chosen at run time from the CPU's features, with a scalar path that always exists, spread over threads by ThreadPool. Each kernel
// computes what its namesake in kernels/reference computes; tests/kernels checks every ISA path
// against it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"
#include "thread_pool.h"

namespace acorn {
namespace cpu {

// Instruction-set paths. x86-64: kAvx2 needs AVX2+FMA+F16C; kAvx512 needs AVX-512
// F/BW/VL/DQ/VNNI plus FMA and F16C; kAmx is kAvx512 plus the AMX-INT8 tile unit (Sapphire Rapids
// and later, and on Linux the kernel's leave to use it), which multiplies prompts (16 tokens and
// more) of weights repacked at load, the rest running kAvx512's kernels. ARM64: kNeon is the ARMv8.0 baseline (Advanced SIMD);
// kNeonDotprod adds the int8 dot product (sdot, FEAT_DotProd); kNeonI8mm adds the int8 matrix
// multiply (smmla, FEAT_I8MM) on top of dotprod. A build has only its own architecture's paths.
enum class Isa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3, kNeonDotprod = 4, kNeonI8mm = 5, kAmx = 6 };
// Every path of every architecture, for tests and tools that walk them (IsaSupported says which
// this build and CPU run).
inline constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2,        Isa::kAvx512, Isa::kAmx,
                                   Isa::kNeon,   Isa::kNeonDotprod, Isa::kNeonI8mm};
const char* IsaName(Isa isa);
// True when this build has the path and this CPU can run it.
bool IsaSupported(Isa isa);
// The best supported path; what kernels use unless ForceIsa said otherwise.
Isa BestIsa();
Isa ActiveIsa();
// True where `isa` is kAmx on a CPU whose tile unit also multiplies bf16 (AMX-BF16): the path of
// MatMulBf16Panels below.
bool IsaHasBf16Tiles(Isa isa);
// Makes every kernel use `isa` (tests, benchmarks); false, and no change, when unsupported.
// Not meant to be called while kernels run on other threads.
bool ForceIsa(Isa isa);

// True for the weight dtypes MatMul handles: f32, f16, q8_0, q4_0.
bool MatMulSupports(DType wtype);
// Bytes of scratch MatMul needs for T rows of K activations against wtype weights on a pool of
// `threads` threads (0 for float weights: no activation quantization). Enough for any T' <= T.
size_t MatMulScratchBytes(int64_t T, int64_t K, DType wtype, int threads);

// Quantizes k floats (k a multiple of 32) to Q8_0 with the active ISA; equal to
// ref::QuantizeRowQ8_0 bit for bit (MatMul quantizes activations this way).
void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t k);

// y[t,n] = sum_k x[t,k] * W[n,k] (+ bias[n]); shapes as ref::MatMul. pool may be null (run on the
// calling thread). For q8_0/q4_0 weights the rows of x are quantized to Q8_0 first (into scratch,
// MatMulScratchBytes(T, K, wtype, threads of pool) bytes, any alignment) and the products are integer, as
// ref::MatMulQ8Activations defines; K must then be a multiple of 32.
void MatMul(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* w, DType wtype,
            int64_t N, const float* bias, float* y, void* scratch);

// ---- Weights repacked for the CPU ------------------------------------------------------------
// q8_0, q4_0, q4_1, q5_0, q5_1, Q4_K, Q5_K and Q6_K matrices in 16-row panels
// (WeightLayout::kRowPanels16), made at load from the canonical blocks: per panel and per 32-column
// group, the 16 rows' fp16 scales (32 bytes; minimums and fifth bits next where the type has them),
// then their quants 4 bytes of a row at a time, row after row (q8_0: 8 x 64 bytes; the 4/5-bit
// types: 4 x 64 bytes of the canonical nibble bytes, byte j holding elements j and j + 16); the
// K-quants per 256-column super-block (kernels/cpu/matmul_panels.h, RowPanelGroup). The same bytes
// per row as the canonical blocks (Q4_K: 2.8 % more, Q5_K 2.3 %); N is rounded up to 16 with zero
// rows. One 64-byte load then holds 4 quants of each of 16 rows, the lanes of an integer dot
// product, so that decode needs no horizontal sums. ISAs with panel kernels: AVX-512 VNNI, AVX2,
// ARM with SDOT (there q8_0 and q4_0 keep their own tiles).

// Whether the active ISA multiplies wtype in 16-row panels (and so whether to repack at load).
// K must then be a multiple of the block (32; 256 for the K-quants), as for MatMul.
bool MatMulRepacks(DType wtype);
size_t RowPanelBytes(DType wtype, int64_t K, int64_t N);
// Writes RowPanelBytes(wtype, K, N) bytes of panels from the canonical [N, K] matrix w, on the pool
// (may be null).
void RepackRowPanels(ThreadPool* pool, const void* w, DType wtype, int64_t K, int64_t N, void* panels);
// MatMul with weights in 16-row panels; on an ISA without a panel kernel (ForceIsa after load), a
// portable loop over the panels. Same scratch as MatMul.
void MatMulRowPanels(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* panels, DType wtype,
                     int64_t N, const float* bias, float* y, void* scratch);

// ---- f32 and f16 weights multiplied in bf16 (ModelOptions::cpu_bf16_products) ----------------
// The AMX-BF16 tile unit multiplies 16 tokens by 16 output rows by 32 columns in one instruction,
// 16 times the f32 FMA rate of AVX-512, with products of bf16 values (8 significant bits) summed in
// f32. A matrix is repacked at load (WeightLayout::kBf16Panels16) in 16-row panels of column pairs:
// per panel, K/2 lines of 64 bytes (K rounded up to 32 with zeros), line j holding rows 0..15's
// bf16 of columns 2j and 2j + 1: a B tile is 16 consecutive lines, 1 KiB. Half the bytes of f32.
// Activations are rounded to bf16 (nearest even) per product. Error bound against ref::MatMul's
// f32 products: |y - y_ref| <= (2^-7 + K * 2^-22) * sum_k |x[t,k] * W[n,k]| (each factor within
// 2^-8 relative, then f32 sums); tests/kernels checks it on every path.
// Whether a model load copies f32/f16 matrices for bf16 products (ModelOptions::cpu_bf16_products):
// where IsaHasBf16Tiles(ActiveIsa()), or on any CPU after EmulateBf16Products(true).
bool Bf16ProductsAvailable();
// Tests: bf16 products on any CPU, through the portable path (scalar: slow), so that the runtime's
// side of them (repack, layout, scratch) runs in CI, whose CPUs have no tile unit.
void EmulateBf16Products(bool on);
size_t Bf16PanelBytes(int64_t K, int64_t N);
// Writes Bf16PanelBytes(K, N) bytes of panels from the canonical f32 or f16 [N, K] matrix w, on the
// pool (may be null).
void RepackBf16Panels(ThreadPool* pool, const void* w, DType wtype, int64_t K, int64_t N, void* panels);
// Bytes of scratch MatMulBf16Panels needs for up to T rows of K activations (any alignment).
size_t MatMulBf16ScratchBytes(int64_t T, int64_t K);
// y = x W^T (+ bias) from the panels: on the tile unit where IsaHasBf16Tiles(ActiveIsa()), else
// a portable loop with the tile unit's order of sums (ForceIsa after load).
void MatMulBf16Panels(ThreadPool* pool, const float* x, int64_t T, int64_t K, const void* panels, int64_t N,
                      const float* bias, float* y, void* scratch);

// ref::Gelu and ref::SwiGlu on the active ISA: vectorized with their own erf and exp (a few ulp from
// the reference; activation_tiles.h), the reference itself where there is no SIMD path.
void Gelu(const float* x, int64_t n, float* out);
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);

// Bytes of scratch Attention needs for up to T query rows on a pool of `threads` threads.
size_t AttentionScratchBytes(int64_t T, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int threads);

// ref::Attention's product (same arguments and layout), on the pool: blocks of keys at a time with
// an online softmax (no T x T scores), vectorized on the active ISA. Differs from the reference
// only in the order of float operations and in exp (within 2 ulp; see x86_float_ops.h); a row
// whose every score is -inf gives zeros. scratch: AttentionScratchBytes(T, ..., threads of pool)
// bytes, any alignment.
void Attention(ThreadPool* pool, const float* q, const float* k_cache, const float* v_cache, int64_t T, int64_t pos,
               int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, bool causal, const float* mask,
               int64_t kv_len, float* out, void* scratch);

}  // namespace cpu
}  // namespace acorn

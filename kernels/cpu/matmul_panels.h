// Private to kernels/cpu: the panel layout of prompt-sized quantized MatMuls (many tokens at once).
//
// Weights stay in the bundle's canonical blocks (zero copy, and what decode streams). A prompt's
// product instead packs the weights, 16 rows at a time, into a panel in per-thread scratch, where
// one 64-byte vector holds 4 consecutive quants of each of the 16 rows: an integer dot-product
// instruction (vpdpbusd) then yields 16 rows' partial sums in 16 lanes, with the activations'
// 4 quants broadcast from memory, and needs no horizontal sums. A panel is packed once and used
// for every token of the prompt, so its cost is one pass over the weights, against T passes of
// arithmetic. Every block type packs into the same panel, so one kernel serves them all:
//
//   value of element k = scale[k / G] * (u[k] - 128) - min[k / G]
//
// with u an unsigned byte (the type's integer quant, moved to an offset of 128), G = 32, or 16
// for the types whose 16-element halves have their own scales (Q2_K, Q3_K, Q6_K), and min present
// only for the types that have one. The activations are packed too, a group of C tokens at a time
// (C is the kernel's token tile), so that every broadcast of a tile comes from one run of memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acorn/dtype.h"
#include "matmul_internal.h"

namespace acorn {
namespace cpu {
namespace internal {

constexpr int kPanelRows = 16;

// Elements per scale in the panel of wtype: 32, or 16 for Q2_K, Q3_K and Q6_K.
int PanelGroup(DType wtype);
// Whether wtype's values have a minimum term (Q4_K, Q5_K, Q2_K, Q4_1, Q5_1).
bool PanelHasMin(DType wtype);

// One thread's packed panel: 16 rows by K.
struct WeightPanel {
  uint8_t* u;    // [K/4][16][4]: u8 quants (value + 128 before scaling), rows past the matrix zero
  float* scale;  // [K/G][16]
  float* min;    // [K/G][16], or null where the type has no minimum
};
// Bytes of one panel of K columns (with room to align it); PanelAt lays it out in p.
size_t PanelBytes(int64_t K, DType wtype);
WeightPanel PanelAt(void* p, int64_t K, DType wtype);
// Packs rows [n, n + rows) (rows <= 16) of a.w into panel; rows after them are zero.
void PackPanel(const MatMulArgs& a, int64_t n, int rows, const WeightPanel& panel);

// Every token's activations, in groups of C tokens (the last group may be narrower, Cg tokens).
// For group gi of Cg tokens, with Q = K/4 quads and S = K/G scale groups:
//   q    + gi*C*Q: [Q][Cg] int32, each the 4 int8 quants of one quad
//   d    + gi*C*S: [S][Cg] the activation scale of the group (its Q8_0 / Q8_K block's)
//   corr + gi*C*S: [S][Cg] -128 * (sum of the group's quants): takes the offset back, exactly
//   dsum + gi*C*S: [S][Cg] what the weights' minimum multiplies: d * sum of the group's quants, or
//                  for Q4_1/Q5_1 the Q8_1 block sum s (for a whole block of 32); null without minimum
struct PanelActivations {
  int64_t T, K;
  int C, G;
  const int32_t* q;
  const float* d;
  const int32_t* corr;
  const float* dsum;
};
size_t PanelActivationBytes(int64_t T, int64_t K, DType wtype, int C);
// Lays out the packed activations in p (aligned) and packs token groups [g0, g1) from a's
// quantized activations (a.xq, a.xd, a.xnsum4, a.xds).
PanelActivations PanelActivationsAt(void* p, const MatMulArgs& a, int C);
void PackActivations(const MatMulArgs& a, const PanelActivations& x, int64_t g0, int64_t g1);

// ---- Weights repacked at load in 16-row panels (layout: cpu_kernels.h) ------------------------
// A panel is a run of units, each the 16 rows' share of one block: 32 columns of q8_0/q4_0, 256 of
// Q4_K. Q4_K's unit: d[16], dmin[16] (fp16), the 8 groups' 6-bit scales sc[8][16] and minimums
// m[8][16] (one byte each), then for each pair of groups (2p, 2p + 1) 8 vectors of 16 rows x 4 bytes
// of the canonical qs (low nibbles group 2p, high nibbles group 2p + 1): 2368 bytes for 16 x 144.
// Q6_K's unit: d[16] (fp16), the 16 sub-block scales sc[16][16] (int8), then the 6-bit quants in
// two planes of 16 rows x 4 bytes per vector: the low nibbles as Q4_K's (pair of groups 2p, 2p + 1:
// 8 vectors), and the top 2 bits of 4 groups 4q..4q + 3 in one byte (bits 2i..2i + 1: group 4q + i;
// 8 vectors per 4 groups): 3360 bytes for 16 x 210. Q5_K's unit: Q4_K's, then the fifth bits as 64
// masks of 64 bits, mask (8 * pair + vector) * 2 + half (half 0: the low nibbles' group, 1: the
// high ones'), bit 4r + i for row r's byte i there: 2880 bytes for 16 x 176.
// The 32-column types share one unit (RowPanelGroupOf): d[16] (fp16); m[16] (fp16) where the type
// has a minimum (Q4_1, Q5_1); for the 5-bit types (Q5_0, Q5_1) the fifth bits as 8 masks of 64
// bits, mask v for quant vector v (bit 4r + i: row r's byte i there, low nibbles for v < 4, high
// ones for v >= 4), so that a masked byte add puts them in place; then the quants, 4 bytes of a row
// at a time (q8_0: 8 vectors; the others: 4 vectors of the canonical nibble bytes, byte j holding
// elements j and j + 16). Each is the canonical size: 16 x 34, 18, 20, 22 and 24 bytes.
struct RowPanelGroup {
  int min_at;    // offset of m[16] in the unit, -1 without
  int masks_at;  // offset of the 5th-bit masks, -1 without
  int quants_at;
  int offset;    // value = d * (q - offset) (+ m); q8_0: the quants are signed (offset 0)
};
constexpr RowPanelGroup RowPanelGroupOf(DType wtype) {
  switch (wtype) {
    case DType::kQ4_0: return {-1, -1, 32, 8};
    case DType::kQ4_1: return {32, -1, 64, 0};
    case DType::kQ5_0: return {-1, 32, 96, 16};
    case DType::kQ5_1: return {32, 64, 128, 0};
    default: return {-1, -1, 32, 0};  // kQ8_0
  }
}
inline int64_t RowPanelUnitElems(DType wtype) {
  return wtype == DType::kQ4_K || wtype == DType::kQ5_K || wtype == DType::kQ6_K ? kQKBlock : kQBlock;
}
inline size_t RowPanelUnitBytes(DType wtype) {
  switch (wtype) {
    case DType::kQ8_0: return 32 + 512;
    case DType::kQ6_K: return 32 + 256 + 4 * 512 + 2 * 512;
    case DType::kQ4_K: return 64 + 256 + 4 * 512;
    case DType::kQ5_K: return 64 + 256 + 4 * 512 + 512;
    default: return static_cast<size_t>(RowPanelGroupOf(wtype).quants_at) + 256;  // q4_0, Q4_1, Q5_0, Q5_1
  }
}
// Panels [p0, p1) of the repacked matrix (panels points at panel 0).
void RepackRowPanels(const uint8_t* w, DType wtype, int64_t K, int64_t N, int64_t p0, int64_t p1, uint8_t* panels);
// The portable product over panels (ISAs without a panel kernel): y for panels [p0, p1).
void RowPanelsPortable(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch);

// ---- f32 weights -----------------------------------------------------------------------------
// The other way round: lanes are tokens. The activations are packed once per call, 16 * kTokenVecs
// tokens at a time, as [K][16 * kTokenVecs] floats (tokens past T zero), and each weight element
// is broadcast from the row as the bundle stores it, so the weights need no packing at all: a
// product of a few hundred tokens would otherwise spend as long packing 32 rows as multiplying them.
constexpr int kTokenVecs = 2;
constexpr int kTokenGroup = 16 * kTokenVecs;

size_t TokenPanelBytes(int64_t T, int64_t K);
float* TokenPanelAt(void* p);
// The packing is the kernel set's (KernelSet::f32_tokens_pack): token groups [g0, g1), group gi
// at x + gi*kTokenGroup*K.

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

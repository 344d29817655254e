// Private to kernels/cpu: the attention kernel, written once over a float vector policy F (see
// x86_float_ops.h) and instantiated by each ISA's file (and with scalars for the portable path).
//
// One work item is one KV head and a block of query tokens: the M = group * tokens query rows that
// read that KV head (grouped-query attention shares each key and value among them). Keys are taken
// kKeys at a time, never a T x T score matrix: scores = Q K^T for the block (K transposed once into
// scratch, so that each score row is a run of vectors over keys, with no horizontal sums), then
// the online softmax (running maximum and sum per row; earlier output rescaled when the maximum
// grows), then O += P V. Per thread the scratch holds that block's Q, K^T, V, scores and O.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#include "attention_internal.h"

namespace acorn {
namespace cpu {
namespace internal {
namespace {

// Local helpers rather than std::min, max, fill and exp: a per-ISA file compiled without
// optimization would emit those as weak symbols built with its ISA's flags, which the linker may
// then pick for another ISA's path (see matmul_tiles.h); these have internal linkage.
inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t MaxI(int64_t a, int64_t b) { return a > b ? a : b; }
inline float MaxF(float a, float b) { return a > b ? a : b; }
inline void Zero(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = 0.0f;
}

template <class F>
struct AttentionKernel {
  using V = typename F::V;
  static constexpr int W = F::kWidth;
  static constexpr int kKeys = kAttentionKeys;  // a multiple of every W
  static constexpr int kRowTile = F::kWidth >= 16 ? 4 : 2;  // rows of a register tile
  static constexpr int kVecTile = 4;                        // vectors of a register tile

  struct Scratch {
    float *q, *kt, *v, *s, *o, *max, *sum, *corr;
    int64_t dp;  // head_dim rounded up to W
  };

  static Scratch Carve(float* p, const AttentionLayout& l) {
    Scratch s;
    s.dp = (l.head_dim + W - 1) / W * W;
    const int64_t rows = (l.rows + kRowTile - 1) / kRowTile * kRowTile;
    s.q = p;
    p += rows * s.dp;
    s.o = p;
    p += rows * s.dp;
    s.s = p;
    p += rows * kKeys;
    s.kt = p;
    p += l.head_dim * kKeys;
    s.v = p;
    p += kKeys * s.dp;
    s.max = p;
    p += rows;
    s.sum = p;
    p += rows;
    s.corr = p;
    return s;
  }

  // S[r][keys] = Q[r] . K^T for rows [m0, m0 + R), key vectors [j0, j0 + NV).
  template <int R, int NV>
  static void Scores(const Scratch& sc, int64_t D, int64_t m0, int64_t j0) {
    V acc[R][NV];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) acc[r][v] = F::Zero();
    for (int64_t d = 0; d < D; ++d) {
      V kt[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) kt[v] = F::Load(sc.kt + d * kKeys + (j0 + v) * W);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const V qb = F::Set1(sc.q[(m0 + r) * sc.dp + d]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = F::Fma(qb, kt[v], acc[r][v]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) F::Store(sc.s + (m0 + r) * kKeys + (j0 + v) * W, acc[r][v]);
  }

  // O[r] = O[r] * corr[r] + sum over keys < nk of P[r][j] * V[j], for rows [m0, m0 + R) and the
  // vectors [c0, c0 + NV) of the head.
  template <int R, int NV>
  static void Accumulate(const Scratch& sc, const float* v_rows, int64_t v_stride, int64_t nk, int64_t m0,
                         int64_t c0) {
    V o[R][NV];
    for (int r = 0; r < R; ++r) {
      const V corr = F::Set1(sc.corr[m0 + r]);
      for (int v = 0; v < NV; ++v) o[r][v] = F::Mul(F::Load(sc.o + (m0 + r) * sc.dp + (c0 + v) * W), corr);
    }
    for (int64_t j = 0; j < nk; ++j) {
      V vv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) vv[v] = F::Load(v_rows + j * v_stride + (c0 + v) * W);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const V p = F::Set1(sc.s[(m0 + r) * kKeys + j]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) o[r][v] = F::Fma(p, vv[v], o[r][v]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) F::Store(sc.o + (m0 + r) * sc.dp + (c0 + v) * W, o[r][v]);
  }

  template <int R>
  static void ScoresRows(const Scratch& sc, int64_t D, int64_t m0) {
    constexpr int kVecs = kKeys / W;
    for (int64_t j0 = 0; j0 < kVecs; j0 += kVecTile) {
      switch (MinI(kVecTile, kVecs - j0)) {
        case 1: Scores<R, 1>(sc, D, m0, j0); break;
        case 2: Scores<R, 2>(sc, D, m0, j0); break;
        case 3: Scores<R, 3>(sc, D, m0, j0); break;
        default: Scores<R, 4>(sc, D, m0, j0); break;
      }
    }
  }

  template <int R>
  static void AccumulateRows(const Scratch& sc, const float* v_rows, int64_t v_stride, int64_t nk, int64_t m0) {
    const int64_t vecs = sc.dp / W;
    for (int64_t c0 = 0; c0 < vecs; c0 += kVecTile) {
      switch (MinI(kVecTile, vecs - c0)) {
        case 1: Accumulate<R, 1>(sc, v_rows, v_stride, nk, m0, c0); break;
        case 2: Accumulate<R, 2>(sc, v_rows, v_stride, nk, m0, c0); break;
        case 3: Accumulate<R, 3>(sc, v_rows, v_stride, nk, m0, c0); break;
        default: Accumulate<R, 4>(sc, v_rows, v_stride, nk, m0, c0); break;
      }
    }
  }

  // One work item: KV head g, query tokens [t0, t0 + tokens).
  static void Item(const AttentionArgs& a, const AttentionLayout& l, int64_t g, int64_t t0, int64_t tokens,
                   float* scratch) {
    const int64_t D = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const int64_t q_row = a.n_heads * D, kv_row = a.n_kv_heads * D;
    const int64_t M = tokens * group;
    const int64_t Mp = (M + kRowTile - 1) / kRowTile * kRowTile;
    const Scratch sc = Carve(scratch, l);

    // Query rows m = token * group + head in group, scaled, zero-padded to dp (and padding rows).
    for (int64_t m = 0; m < Mp; ++m) {
      float* qd = sc.q + m * sc.dp;
      Zero(qd, sc.dp);
      Zero(sc.o + m * sc.dp, sc.dp);
      sc.max[m] = -INFINITY;
      sc.sum[m] = 0.0f;
      if (m >= M) continue;
      const float* qs = a.q + (t0 + m / group) * q_row + (g * group + m % group) * D;
      for (int64_t d = 0; d < D; ++d) qd[d] = qs[d] * a.scale;
    }
    // Keys the last token sees; the causal limit of each row is applied per block.
    const int64_t n_keys = a.causal ? a.pos + t0 + tokens : a.kv_len;
    const bool copy_v = D % W != 0;
    for (int64_t s0 = 0; s0 < n_keys; s0 += kKeys) {
      const int64_t nk = MinI(kKeys, n_keys - s0);
      // K^T for this block; keys past nk are zero (their scores are replaced by -inf below).
      for (int64_t d = 0; d < D; ++d) {
        float* kt = sc.kt + d * kKeys;
        const float* ks = a.k_cache + s0 * kv_row + g * D + d;
        for (int64_t j = 0; j < nk; ++j) kt[j] = ks[j * kv_row];
        for (int64_t j = nk; j < kKeys; ++j) kt[j] = 0.0f;
      }
      const float* v_rows = a.v_cache + s0 * kv_row + g * D;
      int64_t v_stride = kv_row;
      if (copy_v) {  // rows padded to whole vectors
        for (int64_t j = 0; j < nk; ++j) {
          float* vd = sc.v + j * sc.dp;
          std::memcpy(vd, v_rows + j * kv_row, static_cast<size_t>(D) * sizeof(float));
          Zero(vd + D, sc.dp - D);
        }
        v_rows = sc.v;
        v_stride = sc.dp;
      }
      for (int64_t m0 = 0; m0 < Mp; m0 += kRowTile) ScoresRows<kRowTile>(sc, D, m0);
      // Online softmax, row by row.
      for (int64_t m = 0; m < Mp; ++m) {
        float* s = sc.s + m * kKeys;
        const int64_t t = t0 + m / group;
        int64_t limit = m < M ? nk : 0;
        if (a.causal && m < M) limit = MaxI(0, MinI(nk, a.pos + t + 1 - s0));
        if (a.mask && m < M) {
          const float* mk = a.mask + t * a.kv_len + s0;
          for (int64_t j = 0; j < limit; ++j) s[j] += mk[j];
        }
        for (int64_t j = limit; j < kKeys; ++j) s[j] = -INFINITY;
        V mx = F::Set1(-INFINITY);
        for (int j = 0; j < kKeys; j += W) mx = F::Max(mx, F::Load(s + j));
        const float new_max = MaxF(sc.max[m], F::HMax(mx));
        if (new_max == -INFINITY) {  // nothing seen yet: keep O and the sum at zero
          Zero(s, kKeys);
          sc.corr[m] = 1.0f;
          continue;
        }
        const V mv = F::Set1(new_max);
        V sum = F::Zero();
        for (int j = 0; j < kKeys; j += W) {
          const V p = F::Exp(F::Sub(F::Load(s + j), mv));
          F::Store(s + j, p);
          sum = F::Add(sum, p);
        }
        const float corr = expf(sc.max[m] - new_max);  // 0 while the old maximum is -inf
        sc.corr[m] = corr;
        sc.sum[m] = sc.sum[m] * corr + F::HSum(sum);
        sc.max[m] = new_max;
      }
      for (int64_t m0 = 0; m0 < Mp; m0 += kRowTile) AccumulateRows<kRowTile>(sc, v_rows, v_stride, nk, m0);
    }
    for (int64_t m = 0; m < M; ++m) {
      float* out = a.out + (t0 + m / group) * q_row + (g * group + m % group) * D;
      const float inv = sc.sum[m] > 0.0f ? 1.0f / sc.sum[m] : 0.0f;
      for (int64_t d = 0; d < D; ++d) out[d] = sc.o[m * sc.dp + d] * inv;
    }
  }

  static void Run(const AttentionArgs& a, const AttentionLayout& l, int64_t item, float* scratch) {
    const int64_t g = item % a.n_kv_heads;
    const int64_t block = l.BlockOfItem(item / a.n_kv_heads);
    const int64_t t0 = block * l.tokens;
    Item(a, l, g, t0, MinI(l.tokens, a.T - t0), scratch);
  }
};

}  // namespace
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

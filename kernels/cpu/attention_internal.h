// Private to kernels/cpu: the contract between the attention driver (attention.cpp) and the
// per-ISA instantiations of attention_tiles.h.
#pragma once

#include <cstdint>

namespace acorn {
namespace cpu {
namespace internal {

// Keys per block of the attention kernel: a multiple of every vector width.
constexpr int kAttentionKeys = 64;

// What cpu::Attention was called with (as ref::Attention's arguments).
struct AttentionArgs {
  const float* q;
  const float* k_cache;
  const float* v_cache;
  const float* mask;
  float* out;
  int64_t T, pos, n_heads, n_kv_heads, head_dim, kv_len;
  float scale;
  bool causal;
};

// How the work is cut: items of one KV head and `tokens` query tokens (rows = tokens * group
// query rows, about 64 whatever the grouping), blocks of tokens ordered so that threads taking
// every n-th item get as many early (short, under a causal mask) blocks as late ones.
struct AttentionLayout {
  int64_t tokens, rows, head_dim, blocks;

  static AttentionLayout For(int64_t T, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) {
    const int64_t group = n_heads / n_kv_heads;
    AttentionLayout l;
    l.tokens = 64 / group > 1 ? 64 / group : 1;
    if (l.tokens > T) l.tokens = T;
    l.rows = l.tokens * group;
    l.head_dim = head_dim;
    l.blocks = (T + l.tokens - 1) / l.tokens;
    return l;
  }
  // 0, last, 1, last - 1, ...
  int64_t BlockOfItem(int64_t i) const { return i % 2 == 0 ? i / 2 : blocks - 1 - i / 2; }
  // Scratch floats of one thread (AttentionKernel::Carve), for vectors of up to 16 lanes.
  int64_t ScratchFloats() const {
    const int64_t dp = (head_dim + 15) / 16 * 16, rows_p = (rows + 3) / 4 * 4;
    return 2 * rows_p * dp + rows_p * kAttentionKeys + head_dim * kAttentionKeys + kAttentionKeys * dp + 3 * rows_p;
  }
};

using AttentionFn = void (*)(const AttentionArgs& a, const AttentionLayout& l, int64_t item, float* scratch);

#if defined(ACORN_X86_KERNELS)
AttentionFn Avx2Attention();
AttentionFn Avx512Attention();
#endif

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

// The panel layout of prompt-sized quantized MatMuls (matmul_panels.h): packing weights and
// activations into it. Portable code: it is data movement, O(K) per row and O(K) per token, against
// the product's O(T * K) per row; the per-ISA files hold the kernels that read it.
#include "matmul_panels.h"

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace cpu {
namespace internal {

namespace {

constexpr size_t kAlign = 64;
size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
uintptr_t AlignUp(void* p) { return AlignUp(static_cast<size_t>(reinterpret_cast<uintptr_t>(p))); }

size_t Quads(int64_t K) { return static_cast<size_t>(K / 4); }
size_t Groups(int64_t K, DType wtype) { return static_cast<size_t>(K / PanelGroup(wtype)); }

// Where quad q of row r goes in a panel.
inline uint8_t* QuadAt(const WeightPanel& p, int64_t q, int r) { return p.u + (q * kPanelRows + r) * 4; }

// Q8_0: the quants plus 128 (the sign bit flipped), scale the block's.
void PackRowQ8_0(const uint8_t* row, int64_t K, int r, const WeightPanel& p) {
  const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row);
  for (int64_t i = 0; i < K / kQBlock; ++i) {
    for (int q = 0; q < kQBlock / 4; ++q) {
      uint32_t v;
      std::memcpy(&v, b[i].q + 4 * q, 4);
      v ^= 0x80808080u;
      std::memcpy(QuadAt(p, i * (kQBlock / 4) + q, r), &v, 4);
    }
    p.scale[i * kPanelRows + r] = F16ToF32(b[i].scale);
  }
}

// Q4_0: byte j holds element j (low nibble) and j + 16 (high); the value is nibble - 8, so the
// panel byte is nibble + 120.
void PackRowQ4_0(const uint8_t* row, int64_t K, int r, const WeightPanel& p) {
  const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row);
  for (int64_t i = 0; i < K / kQBlock; ++i) {
    uint32_t v[4];
    std::memcpy(v, b[i].q, 16);
    for (int q = 0; q < 4; ++q) {
      // Nibbles plus 120 never carry out of their byte (15 + 120 < 256).
      const uint32_t lo = (v[q] & 0x0f0f0f0fu) + 0x78787878u;
      const uint32_t hi = ((v[q] >> 4) & 0x0f0f0f0fu) + 0x78787878u;
      std::memcpy(QuadAt(p, i * 8 + q, r), &lo, 4);
      std::memcpy(QuadAt(p, i * 8 + 4 + q, r), &hi, 4);
    }
    p.scale[i * kPanelRows + r] = F16ToF32(b[i].scale);
  }
}

// Every other type through ref::QuantGroupOf: u - offset + 128 is within 0..255 for each of them.
void PackRowGroups(DType wtype, const uint8_t* row, int64_t K, int r, const WeightPanel& p) {
  const int G = PanelGroup(wtype);
  for (int64_t g = 0; g < K / kQBlock; ++g) {
    ref::QuantGroup qg;
    ref::QuantGroupOf(wtype, row, g, &qg);
    for (int q = 0; q < kQBlock / 4; ++q) {
      uint8_t* dst = QuadAt(p, g * (kQBlock / 4) + q, r);
      for (int j = 0; j < 4; ++j) dst[j] = static_cast<uint8_t>(qg.u[4 * q + j] - qg.offset + 128);
    }
    for (int h = 0; h < kQBlock / G; ++h) {
      const int64_t s = g * (kQBlock / G) + h;
      p.scale[s * kPanelRows + r] = qg.scale[h];
      if (p.min) p.min[s * kPanelRows + r] = qg.min[h];
    }
  }
}

}  // namespace

int PanelGroup(DType wtype) {
  return wtype == DType::kQ2_K || wtype == DType::kQ3_K || wtype == DType::kQ6_K ? 16 : 32;
}

bool PanelHasMin(DType wtype) {
  return wtype == DType::kQ4_K || wtype == DType::kQ5_K || wtype == DType::kQ2_K || wtype == DType::kQ4_1 ||
         wtype == DType::kQ5_1;
}

size_t PanelBytes(int64_t K, DType wtype) {
  const size_t scales = AlignUp(Groups(K, wtype) * kPanelRows * sizeof(float));
  return kAlign + AlignUp(Quads(K) * kPanelRows * 4) + (PanelHasMin(wtype) ? 2 : 1) * scales;
}

WeightPanel PanelAt(void* p, int64_t K, DType wtype) {
  uintptr_t at = AlignUp(p);
  WeightPanel w;
  w.u = reinterpret_cast<uint8_t*>(at);
  at += AlignUp(Quads(K) * kPanelRows * 4);
  w.scale = reinterpret_cast<float*>(at);
  at += AlignUp(Groups(K, wtype) * kPanelRows * sizeof(float));
  w.min = PanelHasMin(wtype) ? reinterpret_cast<float*>(at) : nullptr;
  return w;
}

void PackPanel(const MatMulArgs& a, int64_t n, int rows, const WeightPanel& panel) {
  for (int r = 0; r < rows; ++r) {
    const uint8_t* row = a.w + (n + r) * a.w_row_bytes;
    switch (a.wtype) {
      case DType::kQ8_0: PackRowQ8_0(row, a.K, r, panel); break;
      case DType::kQ4_0: PackRowQ4_0(row, a.K, r, panel); break;
      default: PackRowGroups(a.wtype, row, a.K, r, panel);
    }
  }
  // Rows past the matrix: value 0 (u = 128, scale 0), so that the kernel needs no row mask until
  // it stores.
  const int64_t S = a.K / PanelGroup(a.wtype);
  for (int r = rows; r < kPanelRows; ++r) {
    for (int64_t q = 0; q < a.K / 4; ++q) std::memset(QuadAt(panel, q, r), 128, 4);
    for (int64_t s = 0; s < S; ++s) {
      panel.scale[s * kPanelRows + r] = 0.0f;
      if (panel.min) panel.min[s * kPanelRows + r] = 0.0f;
    }
  }
}

size_t PanelActivationBytes(int64_t T, int64_t K, DType wtype, int C) {
  (void)C;  // the packed layout holds T tokens whatever the grouping
  const size_t t = static_cast<size_t>(T);
  return kAlign + AlignUp(t * Quads(K) * 4) + 3 * AlignUp(t * Groups(K, wtype) * 4);
}

PanelActivations PanelActivationsAt(void* p, const MatMulArgs& a, int C) {
  const size_t t = static_cast<size_t>(a.T);
  PanelActivations x;
  x.T = a.T;
  x.K = a.K;
  x.C = C;
  x.G = PanelGroup(a.wtype);
  const size_t groups = t * Groups(a.K, a.wtype);
  uintptr_t at = AlignUp(p);
  x.q = reinterpret_cast<const int32_t*>(at);
  at += AlignUp(t * Quads(a.K) * 4);
  x.d = reinterpret_cast<const float*>(at);
  at += AlignUp(groups * 4);
  x.corr = reinterpret_cast<const int32_t*>(at);
  at += AlignUp(groups * 4);
  x.dsum = PanelHasMin(a.wtype) ? reinterpret_cast<const float*>(at) : nullptr;
  return x;
}

void PackActivations(const MatMulArgs& a, const PanelActivations& x, int64_t g0, int64_t g1) {
  const int64_t K = a.K, nb = K / kQBlock, Q = K / 4, S = K / x.G, quads_per_group = x.G / 4;
  const bool q8_1 = ref::TakesQ8_1Activations(a.wtype);
  // The pointers are const for the kernels that read them; this is where they are written.
  int32_t* q = const_cast<int32_t*>(x.q);
  float* d = const_cast<float*>(x.d);
  int32_t* corr = const_cast<int32_t*>(x.corr);
  float* dsum = const_cast<float*>(x.dsum);
  for (int64_t gi = g0; gi < g1; ++gi) {
    const int64_t t0 = gi * x.C;
    const int64_t cg = a.T - t0 < x.C ? a.T - t0 : x.C;
    int32_t* qg = q + t0 * Q;
    for (int64_t c = 0; c < cg; ++c) {
      const int8_t* xq = a.xq + (t0 + c) * K;
      for (int64_t i = 0; i < Q; ++i) std::memcpy(qg + i * cg + c, xq + 4 * i, 4);
      const int32_t* nsum4 = a.xnsum4 + (t0 + c) * Q;
      for (int64_t s = 0; s < S; ++s) {
        int32_t nsum = 0;  // minus the sum of the group's quants
        for (int64_t i = 0; i < quads_per_group; ++i) nsum += nsum4[s * quads_per_group + i];
        const int64_t b = s * x.G / kQBlock;
        const float xd = a.xd[(t0 + c) * nb + b];
        const int64_t at = t0 * S + s * cg + c;
        d[at] = xd;
        corr[at] = 128 * nsum;
        if (dsum) dsum[at] = q8_1 ? a.xds[(t0 + c) * nb + b] : xd * static_cast<float>(-nsum);
      }
    }
  }
}

namespace {

// Q4_K and Q5_K: unit (super-block) s of panel p; see RowPanelUnitBytes.
template <class Block>
void RepackUnitQ4KQ5K(const uint8_t* w, int64_t K, int64_t N, int64_t p, int64_t s, uint8_t* u) {
  constexpr bool kQ5 = std::is_same<Block, BlockQ5_K>::value;
  const size_t row_bytes = static_cast<size_t>(K / kQKBlock) * sizeof(Block);
  uint64_t masks[64] = {};
  for (int r = 0; r < kPanelRows; ++r) {
    const int64_t n = p * kPanelRows + r;
    Block b;
    if (n < N) {
      std::memcpy(&b, w + static_cast<size_t>(n) * row_bytes + static_cast<size_t>(s) * sizeof(Block), sizeof b);
    } else {
      std::memset(&b, 0, sizeof b);  // zero rows: d = dmin = 0
    }
    std::memcpy(u + 2 * r, &b.d, 2);
    std::memcpy(u + 32 + 2 * r, &b.dmin, 2);
    for (int g = 0; g < 8; ++g) ref::ScaleMinK4(g, b.scales, u + 64 + g * 16 + r, u + 192 + g * 16 + r);
    for (int pair = 0; pair < 4; ++pair) {
      for (int j = 0; j < 8; ++j) std::memcpy(u + 320 + pair * 512 + j * 64 + 4 * r, b.qs + 32 * pair + 4 * j, 4);
    }
    if (kQ5) {  // element l of group g: bit g of qh[l]; byte 4j + i of a pair holds element 4j + i of both
      const uint8_t* qh = reinterpret_cast<const uint8_t*>(&b) + offsetof(BlockQ5_K, qh);
      for (int pair = 0; pair < 4; ++pair) {
        for (int j = 0; j < 8; ++j) {
          for (int h = 0; h < 2; ++h) {
            for (int i = 0; i < 4; ++i) {
              masks[(8 * pair + j) * 2 + h] |= static_cast<uint64_t>((qh[4 * j + i] >> (2 * pair + h)) & 1) << (4 * r + i);
            }
          }
        }
      }
    }
  }
  if (kQ5) std::memcpy(u + 2368, masks, sizeof masks);
}

// Q6_K: the 6-bit quants as ref::QuantGroupOf unpacks them, into the two planes.
void RepackUnitQ6K(const uint8_t* w, int64_t K, int64_t N, int64_t p, int64_t s, uint8_t* u) {
  const size_t row_bytes = static_cast<size_t>(K / kQKBlock) * sizeof(BlockQ6_K);
  std::memset(u, 0, RowPanelUnitBytes(DType::kQ6_K));  // zero rows stay zero: d = 0
  for (int r = 0; r < kPanelRows; ++r) {
    const int64_t n = p * kPanelRows + r;
    if (n >= N) continue;
    const uint8_t* row = w + static_cast<size_t>(n) * row_bytes;
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(row) + s;
    std::memcpy(u + 2 * r, &b->d, 2);
    for (int i = 0; i < 16; ++i) u[32 + i * 16 + r] = static_cast<uint8_t>(b->scales[i]);
    for (int g = 0; g < 8; ++g) {
      ref::QuantGroup qg;
      ref::QuantGroupOf(DType::kQ6_K, row, s * 8 + g, &qg);
      for (int e = 0; e < kQBlock; ++e) {
        const int j = e / 4, byte = 4 * r + e % 4;
        u[288 + (g / 2) * 512 + j * 64 + byte] |= static_cast<uint8_t>((qg.u[e] & 0x0f) << (4 * (g % 2)));
        u[2336 + (g / 4) * 512 + j * 64 + byte] |= static_cast<uint8_t>((qg.u[e] >> 4) << (2 * (g % 4)));
      }
    }
  }
}

}  // namespace

void RepackRowPanels(const uint8_t* w, DType wtype, int64_t K, int64_t N, int64_t p0, int64_t p1, uint8_t* panels) {
  const size_t unit_bytes = RowPanelUnitBytes(wtype);
  const int64_t S = K / RowPanelUnitElems(wtype);
  if (wtype == DType::kQ4_K || wtype == DType::kQ5_K || wtype == DType::kQ6_K) {
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t s = 0; s < S; ++s) {
        uint8_t* u = panels + (p * S + s) * unit_bytes;
        if (wtype == DType::kQ4_K) {
          RepackUnitQ4KQ5K<BlockQ4_K>(w, K, N, p, s, u);
        } else if (wtype == DType::kQ5_K) {
          RepackUnitQ4KQ5K<BlockQ5_K>(w, K, N, p, s, u);
        } else {
          RepackUnitQ6K(w, K, N, p, s, u);
        }
      }
    }
    return;
  }
  // The 32-column types: see RowPanelGroup. Every canonical block leads with its fp16 d, then m
  // (Q4_1, Q5_1), then qh (Q5_0, Q5_1), then the quants.
  const RowPanelGroup lay = RowPanelGroupOf(wtype);
  const bool q8 = wtype == DType::kQ8_0;
  const size_t block_bytes = GetDTypeInfo(wtype).block_bytes;
  const size_t block_qh = lay.min_at >= 0 ? 4 : 2, block_qs = q8 ? 2 : block_qh + (lay.masks_at >= 0 ? 4 : 0);
  const size_t row_bytes = static_cast<size_t>(S) * block_bytes;
  const int quads = q8 ? kQBlock / 4 : kQBlock / 8;  // 4-byte runs of one row in a block
  for (int64_t p = p0; p < p1; ++p) {
    for (int64_t s = 0; s < S; ++s) {
      uint8_t* g = panels + (p * S + s) * unit_bytes;
      std::memset(g, 0, unit_bytes);  // zero rows past N: d = m = 0, quants 0
      uint64_t masks[8] = {};
      for (int r = 0; r < kPanelRows && p * kPanelRows + r < N; ++r) {
        const int64_t n = p * kPanelRows + r;
        const uint8_t* block = w + static_cast<size_t>(n) * row_bytes + static_cast<size_t>(s) * block_bytes;
        std::memcpy(g + 2 * r, block, 2);
        if (lay.min_at >= 0) std::memcpy(g + lay.min_at + 2 * r, block + 2, 2);
        for (int j = 0; j < quads; ++j) std::memcpy(g + lay.quants_at + j * 64 + 4 * r, block + block_qs + 4 * j, 4);
        if (lay.masks_at >= 0) {
          uint32_t qh;
          std::memcpy(&qh, block + block_qh, 4);
          for (int e = 0; e < kQBlock; ++e) {  // element e: byte e % 16 of the row, low nibble if e < 16
            const int b = e % 16;
            masks[(e / 16) * 4 + b / 4] |= static_cast<uint64_t>((qh >> e) & 1u) << (4 * r + b % 4);
          }
        }
      }
      if (lay.masks_at >= 0) std::memcpy(g + lay.masks_at, masks, sizeof masks);
    }
  }
}

namespace {

// Row r's group g (32 elements) of a stored panel: the integer quants (offset removed: signed for
// q8_0/q4_0/Q5_0/Q6_K; 0..15 for Q4_K/Q4_1, 0..31 for Q5_K/Q5_1), the scales of its two halves and
// the minimum (value = scale[e / 16] * q - min; min = -m for Q4_1/Q5_1).
void StoredGroup(const MatMulArgs& a, const uint8_t* panel, int r, int64_t g, int32_t* q, float* scale, float* min) {
  if (a.wtype == DType::kQ6_K) {
    const uint8_t* u = panel + (g / 8) * RowPanelUnitBytes(a.wtype);
    const int gi = static_cast<int>(g % 8);
    uint16_t d16;
    std::memcpy(&d16, u + 2 * r, 2);
    for (int h = 0; h < 2; ++h) scale[h] = F16ToF32(d16) * static_cast<float>(static_cast<int8_t>(u[32 + (2 * gi + h) * 16 + r]));
    *min = 0.0f;
    for (int e = 0; e < kQBlock; ++e) {
      const int j = e / 4, byte = 4 * r + e % 4;
      const int low = (u[288 + (gi / 2) * 512 + j * 64 + byte] >> (4 * (gi % 2))) & 0x0f;
      const int high = (u[2336 + (gi / 4) * 512 + j * 64 + byte] >> (2 * (gi % 4))) & 3;
      q[e] = (low | high << 4) - 32;
    }
    return;
  }
  if (a.wtype == DType::kQ4_K || a.wtype == DType::kQ5_K) {
    const uint8_t* u = panel + (g / 8) * RowPanelUnitBytes(a.wtype);
    const int gi = static_cast<int>(g % 8);
    uint16_t d16, m16;
    std::memcpy(&d16, u + 2 * r, 2);
    std::memcpy(&m16, u + 32 + 2 * r, 2);
    scale[0] = scale[1] = F16ToF32(d16) * u[64 + gi * 16 + r];
    *min = F16ToF32(m16) * u[192 + gi * 16 + r];
    for (int e = 0; e < kQBlock; ++e) {
      const uint8_t v = u[320 + (gi / 2) * 512 + (e / 4) * 64 + 4 * r + e % 4];
      q[e] = gi % 2 == 0 ? (v & 0x0f) : (v >> 4);
      if (a.wtype == DType::kQ5_K) {
        uint64_t mask;
        std::memcpy(&mask, u + 2368 + 8 * ((8 * (gi / 2) + e / 4) * 2 + gi % 2), 8);
        q[e] |= static_cast<int32_t>((mask >> (4 * r + e % 4)) & 1) << 4;
      }
    }
    return;
  }
  const uint8_t* u = panel + g * RowPanelUnitBytes(a.wtype);
  const RowPanelGroup lay = RowPanelGroupOf(a.wtype);
  uint16_t d16;
  std::memcpy(&d16, u + 2 * r, 2);
  scale[0] = scale[1] = F16ToF32(d16);
  *min = 0.0f;
  if (lay.min_at >= 0) {
    uint16_t m16;
    std::memcpy(&m16, u + lay.min_at + 2 * r, 2);
    *min = -F16ToF32(m16);  // value = d * q + m
  }
  for (int e = 0; e < kQBlock; ++e) {
    if (a.wtype == DType::kQ8_0) {
      q[e] = static_cast<int8_t>(u[lay.quants_at + (e / 4) * 64 + 4 * r + e % 4]);
      continue;
    }
    // Byte b holds elements b (low nibble) and b + 16 (high); the fifth bit in mask (e / 16) * 4 + b / 4.
    const int b = e % 16, v = (e / 16) * 4 + b / 4, bit = 4 * r + b % 4;
    const uint8_t byte = u[lay.quants_at + (b / 4) * 64 + 4 * r + b % 4];
    int32_t qe = e < 16 ? (byte & 0x0f) : (byte >> 4);
    if (lay.masks_at >= 0) {
      uint64_t mask;
      std::memcpy(&mask, u + lay.masks_at + 8 * v, 8);
      qe |= static_cast<int32_t>((mask >> bit) & 1u) << 4;
    }
    q[e] = qe - lay.offset;
  }
}

}  // namespace

void RowPanelsPortable(const MatMulArgs& a, const PanelActivations& x, int64_t p0, int64_t p1, uint8_t* scratch) {
  (void)x;  // reads the row-major quantized activations in a
  (void)scratch;
  const int64_t S = a.K / kQBlock;
  const bool q8_1 = ref::TakesQ8_1Activations(a.wtype);
  const size_t panel_bytes = static_cast<size_t>(a.K / RowPanelUnitElems(a.wtype)) * RowPanelUnitBytes(a.wtype);
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t* panel = a.w + p * panel_bytes;
    for (int r = 0; r < kPanelRows && p * kPanelRows + r < a.N; ++r) {
      const int64_t n = p * kPanelRows + r;
      for (int64_t t = 0; t < a.T; ++t) {
        float acc = 0.0f;
        for (int64_t g = 0; g < S; ++g) {
          int32_t q[kQBlock];
          float scale[2], min;
          StoredGroup(a, panel, r, g, q, scale, &min);
          const int8_t* xb = a.xq + t * a.K + g * kQBlock;
          int32_t isum[2], xsum = 0;
          for (int h = 0; h < 2; ++h) {  // a local sum per half vectorizes (see RowsGroups)
            int32_t is = 0;
            for (int e = 16 * h; e < 16 * h + 16; ++e) {
              is += q[e] * xb[e];
              xsum += xb[e];
            }
            isum[h] = is;
          }
          const float dx = a.xd[t * S + g];
          // Q4_1/Q5_1: the minimum against Q8_1's block sum (ref::MatMulQ8Activations).
          const float min_term = q8_1 ? min * a.xds[t * S + g] : static_cast<float>(xsum) * (min * dx);
          acc += static_cast<float>(isum[0]) * (scale[0] * dx) + static_cast<float>(isum[1]) * (scale[1] * dx) -
                 min_term;
        }
        a.y[t * a.N + n] = acc + (a.bias ? a.bias[n] : 0.0f);
      }
    }
  }
}

size_t TokenPanelBytes(int64_t T, int64_t K) {
  const size_t groups = static_cast<size_t>((T + kTokenGroup - 1) / kTokenGroup);
  return kAlign + AlignUp(groups * kTokenGroup * static_cast<size_t>(K) * sizeof(float));
}

float* TokenPanelAt(void* p) { return reinterpret_cast<float*>(AlignUp(p)); }

}  // namespace internal
}  // namespace cpu
}  // namespace acorn

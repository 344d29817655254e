// Private to kernels/cpu, for tests only: the AMX tile instructions matmul_amx.cpp and
// matmul_amx_bf16.cpp use, in
// plain C++, so that a CPU without AMX (CI's, this project's development machines) runs the AMX
// kernels' own code (tile configuration, loads, multiplies and stores as the kernels issue them)
// and the bit-for-bit test against the AVX-512 kernels checks its indexing. Built only into the
// `acorn_kernels_cpu_amx_emulated` library (ACORN_AMX_EMULATION), never into the runtime; the real
// instructions are tested where the CPU has them (the GPU machine's).
//
// Semantics as the Intel SDM gives them (palette 1: 8 tiles of up to 16 rows of 64 bytes):
// loads fill rows [0, rows) with colsb bytes each and zero the rest of the tile; stores write rows
// [0, rows), colsb bytes each; TDPBSSD adds, for every C row m and int32 column n, the signed
// products of A row m's 4-byte group k with B row k's bytes 4n..4n+3, k over A's colsb / 4;
// TDPBF16PS adds, for every C row m and f32 column n, A row m's bf16 pair k times B row k's pair n,
// the even element's product first, each add rounded to f32 (products of bf16 values are exact).
// The hardware also flushes denormal inputs and results to zero; the tests' values stay normal.
#pragma once

#include <cstdint>
#include <cstring>

namespace acorn {
namespace cpu {
namespace internal {
namespace amx_emulation {

struct Tiles {
  uint16_t colsb[8];
  uint8_t rows[8];
  alignas(64) uint8_t data[8][16 * 64];
};

// Tile state is per thread, as the hardware's.
inline Tiles& State() {
  static thread_local Tiles tiles;
  return tiles;
}

inline void LoadConfig(const void* config) {
  const uint8_t* c = static_cast<const uint8_t*>(config);  // palette, start row, 14 reserved bytes
  Tiles& s = State();
  for (int t = 0; t < 8; ++t) {
    std::memcpy(&s.colsb[t], c + 16 + 2 * t, 2);
    s.rows[t] = c[48 + t];
    std::memset(s.data[t], 0, sizeof s.data[t]);
  }
}

inline void Load(int t, const void* base, long stride) {
  Tiles& s = State();
  std::memset(s.data[t], 0, sizeof s.data[t]);
  for (int r = 0; r < s.rows[t]; ++r) std::memcpy(s.data[t] + 64 * r, static_cast<const uint8_t*>(base) + r * stride, s.colsb[t]);
}

inline void Store(int t, void* base, long stride) {
  const Tiles& s = State();
  for (int r = 0; r < s.rows[t]; ++r) std::memcpy(static_cast<uint8_t*>(base) + r * stride, s.data[t] + 64 * r, s.colsb[t]);
}

inline void Zero(int t) { std::memset(State().data[t], 0, sizeof State().data[t]); }

inline void DotBssd(int c, int a, int b) {
  Tiles& s = State();
  for (int m = 0; m < s.rows[c]; ++m) {
    for (int n = 0; n < s.colsb[c] / 4; ++n) {
      int32_t acc;
      std::memcpy(&acc, s.data[c] + 64 * m + 4 * n, 4);
      for (int k = 0; k < s.colsb[a] / 4; ++k) {
        for (int i = 0; i < 4; ++i) {
          acc += static_cast<int8_t>(s.data[a][64 * m + 4 * k + i]) * static_cast<int8_t>(s.data[b][64 * k + 4 * n + i]);
        }
      }
      std::memcpy(s.data[c] + 64 * m + 4 * n, &acc, 4);
    }
  }
}

inline void DotBf16ps(int c, int a, int b) {
  Tiles& s = State();
  for (int m = 0; m < s.rows[c]; ++m) {
    for (int n = 0; n < s.colsb[c] / 4; ++n) {
      float acc;
      std::memcpy(&acc, s.data[c] + 64 * m + 4 * n, 4);
      for (int k = 0; k < s.colsb[a] / 4; ++k) {
        for (int i = 0; i < 2; ++i) {
          uint16_t xa, xb;
          std::memcpy(&xa, s.data[a] + 64 * m + 4 * k + 2 * i, 2);
          std::memcpy(&xb, s.data[b] + 64 * k + 4 * n + 2 * i, 2);
          const uint32_t ua = static_cast<uint32_t>(xa) << 16, ub = static_cast<uint32_t>(xb) << 16;
          float fa, fb;
          std::memcpy(&fa, &ua, 4);
          std::memcpy(&fb, &ub, 4);
          acc += fa * fb;
        }
      }
      std::memcpy(s.data[c] + 64 * m + 4 * n, &acc, 4);
    }
  }
}

inline void Release() {
  Tiles& s = State();
  std::memset(&s, 0, sizeof s);
}

}  // namespace amx_emulation
}  // namespace internal
}  // namespace cpu
}  // namespace acorn

// The intrinsics' names, over the compiler's own (immintrin.h defines them as macros or functions).
#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbssd
#undef _tile_dpbf16ps
#define _tile_loadconfig(config) ::acorn::cpu::internal::amx_emulation::LoadConfig(config)
#define _tile_release() ::acorn::cpu::internal::amx_emulation::Release()
#define _tile_loadd(t, base, stride) ::acorn::cpu::internal::amx_emulation::Load(t, base, stride)
#define _tile_stored(t, base, stride) ::acorn::cpu::internal::amx_emulation::Store(t, base, stride)
#define _tile_zero(t) ::acorn::cpu::internal::amx_emulation::Zero(t)
#define _tile_dpbssd(c, a, b) ::acorn::cpu::internal::amx_emulation::DotBssd(c, a, b)
#define _tile_dpbf16ps(c, a, b) ::acorn::cpu::internal::amx_emulation::DotBf16ps(c, a, b)

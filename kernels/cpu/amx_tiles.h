// Private to kernels/cpu: what the AMX kernel files (matmul_amx.cpp: int8, matmul_amx_bf16.cpp:
// bf16) share: the intrinsics (or, in the tests' build, their emulation) and the tile
// configuration's memory layout. Included only by files compiled with -mamx-tile.
#pragma once

#if defined(ACORN_X86_KERNELS)
// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined operands as uninitialized
// (GCC bug 105593, fixed in 13); nothing in these files reads an uninitialized value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(ACORN_AMX_EMULATION)
#include "amx_emulation.h"  // tests on CPUs without AMX: the tile instructions in C++
#endif

#include <cstdint>
#include <cstring>

namespace acorn {
namespace cpu {
namespace internal {

// LDTILECFG's 64-byte operand, palette 1: rows and bytes per row of each of the 8 tiles.
struct alignas(64) TileConfig {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// A palette-1 configuration with every tile unused (0 rows), for the caller to fill.
inline TileConfig PaletteOne() {
  TileConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  return cfg;
}

}  // namespace internal
}  // namespace cpu
}  // namespace acorn
#endif

// Segment compression: the single place that talks to zstd, for the loader (decompress once at load)
// and the writer (compress when asked). A build without ACORN_ZSTD refuses compressed segments with
// a message that says so.
#pragma once

#include <cstdint>
#include <vector>

#include "acorn/status.h"

namespace acorn {

// Decompresses `size` stored bytes into a new AlignedAlloc'd buffer of exactly `expected` bytes
// (free with platform::AlignedFree). Fails unless the frame decodes to exactly `expected` bytes.
Status DecompressSegment(const uint8_t* data, uint64_t size, uint64_t expected, void** out);

// Compresses `size` bytes at `level` into `out`.
Status CompressSegment(const uint8_t* data, uint64_t size, int level, std::vector<uint8_t>* out);

}  // namespace acorn

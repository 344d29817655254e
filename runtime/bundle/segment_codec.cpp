#include "bundle/segment_codec.h"

#include "acorn/platform.h"
#include "core/limits.h"

#ifdef ACORN_HAVE_ZSTD
#include <zstd.h>
#endif

namespace acorn {

namespace {
// A larger claim than limits::kMaxZstdRatio is a corrupt header (or a decompression bomb), refused
// before anything is allocated for it.
using limits::kMaxZstdRatio;
}  // namespace

#ifdef ACORN_HAVE_ZSTD

Status DecompressSegment(const uint8_t* data, uint64_t size, uint64_t expected, void** out) {
  *out = nullptr;
  if (expected == 0 || size == 0) return ACORN_ERROR(kMalformed, "empty zstd segment");
  if (expected / kMaxZstdRatio > size) {
    return ACORN_ERROR(kMalformed, "zstd segment claims %llu bytes from %llu stored: corrupt header",
                       static_cast<unsigned long long>(expected), static_cast<unsigned long long>(size));
  }
  const unsigned long long frame = ZSTD_getFrameContentSize(data, size);
  if (frame == ZSTD_CONTENTSIZE_ERROR) return ACORN_ERROR(kMalformed, "zstd data is corrupt (no valid frame header)");
  if (frame != ZSTD_CONTENTSIZE_UNKNOWN && frame != expected) {
    return ACORN_ERROR(kMalformed, "zstd frame holds %llu bytes but the segment declares %llu", frame,
                       static_cast<unsigned long long>(expected));
  }
  const uint64_t physical = platform::PhysicalMemoryBytes();
  if (physical > 0 && expected > physical) {
    return ACORN_ERROR(kOutOfMemory, "zstd segment decompresses to %llu bytes, more than this machine's %llu bytes of "
                       "memory", static_cast<unsigned long long>(expected), static_cast<unsigned long long>(physical));
  }
  void* buffer = platform::AlignedAlloc(expected, 4096);
  if (buffer == nullptr) {
    return ACORN_ERROR(kOutOfMemory, "cannot allocate %llu bytes to decompress", static_cast<unsigned long long>(expected));
  }
  const size_t n = ZSTD_decompress(buffer, expected, data, size);
  if (ZSTD_isError(n) || n != expected) {
    platform::AlignedFree(buffer);
    return ACORN_ERROR(kMalformed, "zstd data is corrupt: %s",
                       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "decoded size differs from the declared size");
  }
  *out = buffer;
  return Status::Ok();
}

Status CompressSegment(const uint8_t* data, uint64_t size, int level, std::vector<uint8_t>* out) {
  out->resize(ZSTD_compressBound(size));
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  if (ctx == nullptr) return ACORN_ERROR(kOutOfMemory, "cannot create a zstd context");
  // The frame records its content size (checked against the bundle at load) and a checksum, so that
  // a corrupted segment is refused instead of decoding into wrong weights.
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1);
  const size_t n = ZSTD_compress2(ctx, out->data(), out->size(), data, size);
  ZSTD_freeCCtx(ctx);
  if (ZSTD_isError(n)) return ACORN_ERROR(kInternal, "zstd compression failed: %s", ZSTD_getErrorName(n));
  out->resize(n);
  return Status::Ok();
}

#else

Status DecompressSegment(const uint8_t*, uint64_t, uint64_t, void** out) {
  *out = nullptr;
  return ACORN_ERROR(kUnsupported, "zstd-compressed segment, but this build has no zstd (ACORN_ZSTD=OFF); "
                     "convert without --compress");
}

Status CompressSegment(const uint8_t*, uint64_t, int, std::vector<uint8_t>*) {
  return ACORN_ERROR(kUnsupported, "this build has no zstd (ACORN_ZSTD=OFF)");
}

#endif

}  // namespace acorn

// Bare-metal implementation of the platform seam: no file system, no threads, no clock unless the
// application provides one. Bundles come from a caller buffer (weights in flash); the arena comes
// from caller memory; logs go to the sink the application installs with SetLogSink.
#include <malloc.h>

#include <cstdlib>

#include "acorn/platform.h"

namespace acorn {
namespace platform {

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), mapped_(other.mapped_) {
  other.data_ = nullptr;
  other.size_ = 0;
}
MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  data_ = other.data_;
  size_ = other.size_;
  mapped_ = other.mapped_;
  other.data_ = nullptr;
  other.size_ = 0;
  return *this;
}
MappedFile::~MappedFile() {}
void MappedFile::Release() {}

Result<MappedFile> MapFile(const char* path) {
  return ACORN_ERROR(kUnsupported, "%s: this build has no file system; load the bundle from a buffer", path);
}
Result<MappedFile> ReadFile(const char* path) { return MapFile(path); }

// memalign: what newlib (nano too) and other embedded C libraries provide; free() releases it.
void* AlignedAlloc(size_t size, size_t alignment) { return memalign(alignment, size); }
void AlignedFree(void* ptr) { std::free(ptr); }
void* LargeAlloc(size_t size) { return AlignedAlloc(size, 64); }
void LargeFree(void* ptr, size_t) { AlignedFree(ptr); }
uint64_t NowNanos() { return 0; }
int64_t WallClockSeconds() { return 0; }
int HardwareThreads() { return 1; }
Status StartThread(void (*)(void*), void*, Thread*) {
  return ACORN_ERROR(kUnsupported, "this build has no threads; run with one thread");
}
void JoinThread(Thread*) {}
void YieldThread() {}
void ParkWhileEqual(const std::atomic<uint32_t>*, uint32_t) {}
void UnparkAll() {}
uint64_t PhysicalMemoryBytes() { return 0; }
uint64_t PeakRssBytes() { return 0; }
Result<void*> LoadSymbol(const char* library, const char*) {
  return ACORN_ERROR(kUnsupported, "this build loads no shared libraries (%s); link the backend statically", library);
}
void DefaultLogSink(LogLevel, const char*, void*) {}

}  // namespace platform
}  // namespace acorn

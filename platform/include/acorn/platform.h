// The platform seam: everything acorn needs from an operating system, and nothing more. The runtime
// calls only these functions; platform/posix implements them for Linux, macOS and Android, and
// platform/baremetal for targets with no file system and no threads (the application hands over
// memory and a log function). CMake picks one implementation; there are no weak symbols.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "acorn/status.h"

namespace acorn {
namespace platform {

// A read-only view of a whole file. On posix it is an mmap of the file, so constant tensors can be
// used in place. Moving transfers ownership; the destructor unmaps.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  friend Result<MappedFile> MapFile(const char* path);
  friend Result<MappedFile> ReadFile(const char* path);
  void Release();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // false: heap copy (read fallback)
};

// Maps `path` read-only. Errors name the path and the reason (missing, not a regular file, ...).
Result<MappedFile> MapFile(const char* path);
// Reads `path` into aligned heap memory: the fallback where mapping is unavailable.
Result<MappedFile> ReadFile(const char* path);

// Aligned allocation; nullptr when out of memory. alignment is a power of two, at least 64 is typical.
void* AlignedAlloc(size_t size, size_t alignment);
void AlignedFree(void* ptr);
// A large buffer (weights repacked at load): whole pages, 64-byte aligned at least, backed by huge
// pages where the system offers them (fewer page faults while it is first written); nullptr when
// out of memory. LargeFree takes the size given to LargeAlloc.
void* LargeAlloc(size_t size);
void LargeFree(void* ptr, size_t size);

// Monotonic clock in nanoseconds.
uint64_t NowNanos();

// The calendar time in seconds since 1970 (UTC), 0 where the platform has no clock (chat templates
// that print today's date then print 1 January 1970).
int64_t WallClockSeconds();

// Number of hardware threads usable by this process (1 where there are no threads).
int HardwareThreads();

// A thread of the platform. StartThread runs fn(arg) on a new thread; it fails (kUnsupported where
// the platform has no threads, kOutOfMemory where the system refuses another) instead of aborting,
// so that a caller can report the error or run on fewer threads. Every started thread is joined.
struct Thread {
  void* handle = nullptr;
};
Status StartThread(void (*fn)(void* arg), void* arg, Thread* thread);
void JoinThread(Thread* thread);

// Lets another thread run on this core (a step of a spin wait). Nothing where there are no threads.
void YieldThread();

// Where idle threads sleep (the thread pool's workers between steps). ParkWhileEqual blocks while
// *word == expected and may return early (callers check again); UnparkAll wakes every parked thread.
// A waker that changes *word and then calls UnparkAll never loses a sleeper: the check and the
// sleep are atomic with respect to UnparkAll. Platforms without threads return at once.
void ParkWhileEqual(const std::atomic<uint32_t>* word, uint32_t expected);
void UnparkAll();

// Physical memory of the machine in bytes, 0 where unknown. Allocations larger than this are
// refused up front: with overcommit they would "succeed" and the process would be killed when the
// memory is first touched.
uint64_t PhysicalMemoryBytes();

// Peak resident set size of this process in bytes, 0 where unknown.
uint64_t PeakRssBytes();

// The address of `symbol` in the shared library `library`, loaded by the system's search rules
// (or found already loaded); an error saying why not otherwise, kUnsupported where the platform
// loads no libraries. The library stays loaded for the life of the process. For optional backends
// (libacorn_cuda) that the CPU-only library must not link.
Result<void*> LoadSymbol(const char* library, const char* symbol);

}  // namespace platform

// The one logging call. Levels below the threshold are dropped; the sink defaults to stderr on posix
// and to nothing on baremetal.
enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
using LogSink = void (*)(LogLevel level, const char* message, void* user);
void SetLogSink(LogSink sink, void* user);
void SetLogLevel(LogLevel level);
void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace acorn

// POSIX implementation of the platform seam (Linux, macOS, Android).
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "acorn/platform.h"

namespace acorn {
namespace platform {

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), mapped_(other.mapped_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    mapped_ = other.mapped_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { Release(); }

void MappedFile::Release() {
  if (data_ == nullptr) return;
  if (mapped_) {
    munmap(const_cast<uint8_t*>(data_), size_);
  } else {
    AlignedFree(const_cast<uint8_t*>(data_));
  }
  data_ = nullptr;
  size_ = 0;
}

namespace {
// Opens a regular file and returns its size; the error names the path and what to check.
Result<int> OpenRegular(const char* path, size_t* size) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It changes
  // nothing for the regular files that get past the check below.
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return ACORN_ERROR(kNotFound, "%s: no such file", path);
    return ACORN_ERROR(kIo, "%s: cannot open: %s", path, std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return ACORN_ERROR(kIo, "%s: cannot stat: %s", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return ACORN_ERROR(kIo, "%s: not a regular file (a directory, pipe or device); give the path of a model file", path);
  }
  *size = static_cast<size_t>(st.st_size);
  return fd;
}
}  // namespace

Result<MappedFile> MapFile(const char* path) {
  size_t size = 0;
  ACORN_ASSIGN_OR_RETURN(int fd, OpenRegular(path, &size));
  MappedFile file;
  if (size == 0) {
    close(fd);
    return ACORN_ERROR(kMalformed, "%s: file is empty", path);
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) return ACORN_ERROR(kIo, "%s: cannot map %zu bytes: %s", path, size, std::strerror(err));
  file.data_ = static_cast<const uint8_t*>(p);
  file.size_ = size;
  file.mapped_ = true;
  return file;
}

Result<MappedFile> ReadFile(const char* path) {
  size_t size = 0;
  ACORN_ASSIGN_OR_RETURN(int fd, OpenRegular(path, &size));
  if (size == 0) {
    close(fd);
    return ACORN_ERROR(kMalformed, "%s: file is empty", path);
  }
  uint8_t* buffer = static_cast<uint8_t*>(AlignedAlloc(size, 4096));
  if (buffer == nullptr) {
    close(fd);
    return ACORN_ERROR(kOutOfMemory, "%s: cannot allocate %zu bytes to read it", path, size);
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      AlignedFree(buffer);
      return ACORN_ERROR(kIo, "%s: read failed at byte %zu: %s", path, done, n == 0 ? "file shrank" : std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  MappedFile file;
  file.data_ = buffer;
  file.size_ = size;
  file.mapped_ = false;
  return file;
}

void* AlignedAlloc(size_t size, size_t alignment) {
  if (size == 0) size = alignment;
  void* p = nullptr;
  if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size) != 0) return nullptr;
  return p;
}

void AlignedFree(void* ptr) { std::free(ptr); }

void* LargeAlloc(size_t size) {
  if (size == 0) size = 1;
  // Large pages need 2 MiB-aligned addresses: map 2 MiB more and give back the unaligned ends, so
  // that LargeFree(p, size) unmaps exactly what is left.
  constexpr size_t kLargePage = size_t{2} << 20;
  const size_t padded = size >= kLargePage ? size + kLargePage : size;
  if (padded < size) return nullptr;  // overflow
  void* p = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (padded != size) {
    const uintptr_t raw = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = (raw + kLargePage - 1) & ~(uintptr_t{kLargePage} - 1);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t end = (aligned + size + page - 1) / page * page;
    if (aligned > raw) munmap(p, aligned - raw);
    if (raw + padded > end) munmap(reinterpret_cast<void*>(end), raw + padded - end);
    p = reinterpret_cast<void*>(aligned);
  }
#if defined(MADV_HUGEPAGE)
  madvise(p, size, MADV_HUGEPAGE);  // advice only: a refusal leaves ordinary pages
#endif
  return p;
}

void LargeFree(void* ptr, size_t size) {
  if (ptr != nullptr) munmap(ptr, size == 0 ? 1 : size);
}

uint64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int64_t WallClockSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

int HardwareThreads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {
struct ThreadStart {
  void (*fn)(void*);
  void* arg;
};
void* ThreadMain(void* p) {
  ThreadStart start = *static_cast<ThreadStart*>(p);
  std::free(p);
  start.fn(start.arg);
  return nullptr;
}
}  // namespace

Status StartThread(void (*fn)(void* arg), void* arg, Thread* thread) {
  // pthread_t is an integer on Linux and a pointer on macOS: keep it in heap memory either way.
  auto* id = static_cast<pthread_t*>(std::malloc(sizeof(pthread_t)));
  auto* start = static_cast<ThreadStart*>(std::malloc(sizeof(ThreadStart)));
  if (id == nullptr || start == nullptr) {
    std::free(id);
    std::free(start);
    return ACORN_ERROR(kOutOfMemory, "cannot start a thread: out of memory");
  }
  *start = ThreadStart{fn, arg};
  const int err = pthread_create(id, nullptr, ThreadMain, start);
  if (err != 0) {
    std::free(id);
    std::free(start);
    return ACORN_ERROR(kOutOfMemory, "cannot start a thread: %s", std::strerror(err));
  }
  thread->handle = id;
  return Status::Ok();
}

void JoinThread(Thread* thread) {
  if (thread->handle == nullptr) return;
  auto* id = static_cast<pthread_t*>(thread->handle);
  pthread_join(*id, nullptr);
  std::free(id);
  thread->handle = nullptr;
}

void YieldThread() { std::this_thread::yield(); }

namespace {
// One parking place for the process: parked threads are few (idle pool workers) and a spurious
// wake only costs a recheck, so one mutex and condition variable serve every pool.
struct Parking {
  std::mutex mu;
  std::condition_variable cv;
};
Parking& TheParking() {
  static Parking parking;
  return parking;
}
}  // namespace

void ParkWhileEqual(const std::atomic<uint32_t>* word, uint32_t expected) {
  Parking& p = TheParking();
  std::unique_lock<std::mutex> lock(p.mu);
  while (word->load(std::memory_order_seq_cst) == expected) p.cv.wait(lock);
}

void UnparkAll() {
  Parking& p = TheParking();
  // Taking the lock orders this wake after a sleeper's check: a thread between its check and its
  // wait still holds the lock.
  { std::lock_guard<std::mutex> lock(p.mu); }
  p.cv.notify_all();
}

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

Result<void*> LoadSymbol(const char* library, const char* symbol) {
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return ACORN_ERROR(kUnsupported, "cannot load %s: %s", library, why != nullptr ? why : "unknown reason");
  }
  dlerror();
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    const char* why = dlerror();
    return ACORN_ERROR(kUnsupported, "%s has no %s: %s", library, symbol, why != nullptr ? why : "null symbol");
  }
  return address;
}

uint64_t PeakRssBytes() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
#ifdef __APPLE__
  return static_cast<uint64_t>(usage.ru_maxrss);
#else
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024u;
#endif
}

void DefaultLogSink(LogLevel level, const char* message, void*) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  std::fprintf(stderr, "acorn %s: %s\n", kNames[static_cast<int>(level)], message);
}

}  // namespace platform
}  // namespace acorn

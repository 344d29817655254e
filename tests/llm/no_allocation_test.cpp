// After a session is created, its steps allocate nothing: prefill and decode (Session::Forward) on
// the default model, on one thread and on several, in the caller's arena and in one the session
// allocated. Every allocation in this binary is counted: operator new is replaced here, and the C
// allocator's entry points are wrapped at link time (-Wl,--wrap, tests/llm/CMakeLists.txt) for all
// of acorn's code linked into it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "acorn/model.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* __real_malloc(size_t n);
void* __real_calloc(size_t n, size_t size);
void* __real_realloc(void* p, size_t n);
void* __real_aligned_alloc(size_t alignment, size_t n);
int __real_posix_memalign(void** p, size_t alignment, size_t n);
void* __wrap_malloc(size_t n) {
  Count();
  return __real_malloc(n);
}
void* __wrap_calloc(size_t n, size_t size) {
  Count();
  return __real_calloc(n, size);
}
void* __wrap_realloc(void* p, size_t n) {
  Count();
  return __real_realloc(p, n);
}
void* __wrap_aligned_alloc(size_t alignment, size_t n) {
  Count();
  return __real_aligned_alloc(alignment, n);
}
int __wrap_posix_memalign(void** p, size_t alignment, size_t n) {
  Count();
  return __real_posix_memalign(p, alignment, n);
}
}

// The replacements pair malloc with free by design; GCC cannot see that __real_malloc is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  Count();
  if (void* p = __real_malloc(n > 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace acorn {
namespace {

struct CountedRegion {
  CountedRegion() {
    g_allocations = 0;
    g_counting = true;
  }
  ~CountedRegion() { g_counting = false; }
  long count() const { return g_allocations.load(); }
};

void ExpectStepsAllocateNothing(int threads, bool caller_arena) {
  SCOPED_TRACE(::testing::Message() << "threads=" << threads << " caller_arena=" << caller_arena);
  auto model = Model::Load(ACORN_MODELS_DIR "/acorn-chat-mini.acorn");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  SessionOptions so;
  so.threads = threads;
  std::vector<uint8_t> memory;
  if (caller_arena) {
    const uint64_t need = Session::ArenaBytes(**model, threads);
    memory.resize(need + 64);
    so.arena = memory.data() + (64 - reinterpret_cast<uintptr_t>(memory.data()) % 64) % 64;
    so.arena_bytes = need;
  }
  auto session = Session::Create(*model, so);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const std::vector<int32_t> prompt = {1, 17, 23, 99, 5, 640, 12, 7, 300, 41, 2, 9};
  std::vector<float> logits(static_cast<size_t>((*model)->vocab_size()));
  std::vector<float> all(prompt.size() * logits.size());
  long allocations = 0;
  {
    CountedRegion counted;
    // Prefill (last row only, then every row), then decode one token at a time.
    Status st = (*session)->Forward(prompt.data(), static_cast<int64_t>(prompt.size()), logits.data(), false);
    if (st.ok()) st = (*session)->Forward(prompt.data(), static_cast<int64_t>(prompt.size()), all.data(), true);
    for (int i = 0; st.ok() && i < 16; ++i) {
      const int32_t token = static_cast<int32_t>(i * 37 % 500 + 3);
      st = (*session)->Forward(&token, 1, logits.data(), false);
    }
    allocations = counted.count();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_EQ(allocations, 0) << "steps allocated";
}

// The counter sees what it must: an allocation in a counted region is counted.
TEST(NoAllocation, TheCounterCounts) {
  long n = 0;
  {
    CountedRegion counted;
    std::string* s = new std::string(100, 'x');
    void* p = std::malloc(10);
    n = counted.count();
    std::free(p);
    delete s;
  }
  EXPECT_GE(n, 2);
}

TEST(NoAllocation, StepsOnOneThread) { ExpectStepsAllocateNothing(1, false); }
TEST(NoAllocation, StepsOnThreeThreadsInTheCallersArena) { ExpectStepsAllocateNothing(3, true); }
TEST(NoAllocation, StepsOnOneThreadInTheCallersArena) { ExpectStepsAllocateNothing(1, true); }

}  // namespace
}  // namespace acorn

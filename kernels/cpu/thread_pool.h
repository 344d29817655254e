// ThreadPool: a small persistent pool that splits a loop of n items into one contiguous range per
// thread. Kernels call it many times per token, so a call allocates nothing and wakes workers
// that are still spinning without a system call; workers that have waited long sleep (parked
// through platform/), so an idle pool costs no CPU.
//
// The calling thread takes part (range 0): a pool of one runs everything inline and starts no
// thread, so it works on platforms without threads. One ParallelFor runs at a time; concurrent
// callers are serialized. Workers are started, and sleep, through platform/ (StartThread,
// ParkWhileEqual), so that the pool itself needs nothing from the C++ thread library and builds for
// firmware; Create reports a refusal (too many threads, no threads on this platform) as a Status.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "acorn/platform.h"
#include "acorn/status.h"

namespace acorn {
namespace cpu {

class ThreadPool {
 public:
  // n_threads counts the caller: 1..limits::kMaxThreads.
  static Result<std::unique_ptr<ThreadPool>> Create(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(ctx, begin, end) on disjoint ranges that cover [0, n), one per thread (empty ranges
  // are skipped), and returns when all have finished.
  using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
  void ParallelFor(int64_t n, RangeFn fn, void* ctx);

  // Same, for any callable f(int64_t begin, int64_t end); f is referenced, never copied.
  template <typename F>
  void ParallelFor(int64_t n, F& f) {
    ParallelFor(n, [](void* ctx, int64_t b, int64_t e) { (*static_cast<F*>(ctx))(b, e); }, &f);
  }

 private:
  explicit ThreadPool(int n_threads) : n_threads_(n_threads) {}
  struct WorkerArg {
    ThreadPool* pool;
    int index;
  };
  static void WorkerMain(void* arg);
  void WorkerLoop(int index);
  void RunRange(int index);
  void StopWorkers();

  int n_threads_;
  std::vector<WorkerArg> worker_args_;
  std::vector<platform::Thread> workers_;
  std::atomic<bool> busy_{false};  // serializes ParallelFor callers

  // The job being run; written before generation_ is bumped (release), read after (acquire).
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0;

  // 32 bits: the word workers park on (platform::ParkWhileEqual), and lock-free on every target.
  // Workers only compare it for equality with the last value they saw, and a pool waits for every
  // worker at each call, so wrapping around is harmless.
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  // Workers parked or about to park. Sequentially consistent with generation_: a caller that bumps
  // the generation and then sees no sleeper knows that every would-be sleeper will see the bump.
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};  // set before the last generation bump
};

// Runs fn on pool when there is one, inline otherwise: kernels take a nullable pool.
template <typename F>
inline void ParallelFor(ThreadPool* pool, int64_t n, F& f) {
  if (n <= 0) return;
  if (pool && pool->size() > 1 && n > 1) {
    pool->ParallelFor(n, f);
  } else {
    f(int64_t{0}, n);
  }
}

}  // namespace cpu
}  // namespace acorn

#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace acorn {
namespace cpu {

namespace {
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// One step of a spin wait. Yielding now and then lets a thread that shares our core run: with
// more threads than cores (other processes, tests), pure spinning would hold the core that the
// thread we wait for needs until the scheduler's next tick.
inline void SpinStep(int i) {
  if ((i & 15) == 15) {
    std::this_thread::yield();
  } else {
    CpuRelax();
  }
}

// Spin long enough to cover the gap between two kernels of one step (some tens of
// microseconds), short enough that an idle pool soon stops burning a core.
constexpr int kSpinIterations = 1 << 12;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunRange(int index) {
  const int64_t begin = n_ * index / n_threads_;
  const int64_t end = n_ * (index + 1) / n_threads_;
  if (begin < end) fn_(ctx_, begin, end);
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 0; gen == seen && i < kSpinIterations; ++i) {
      SpinStep(i);
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      ++sleepers_;
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      --sleepers_;
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    RunRange(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::ParallelFor(int64_t n, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  if (n_threads_ == 1) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  fn_ = fn;
  ctx_ = ctx;
  n_ = n;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  bool wake;
  {
    // Bumping under the lock closes the window between a worker's last check and its wait.
    std::lock_guard<std::mutex> lock(sleep_mu_);
    generation_.fetch_add(1, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) wake_.notify_all();
  RunRange(0);
  // Workers finish within the kernel's time: spin rather than sleep.
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) SpinStep(i);
}

}  // namespace cpu
}  // namespace acorn

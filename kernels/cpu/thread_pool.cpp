#include "thread_pool.h"

#include <cinttypes>

#include "core/limits.h"

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
    platform::YieldThread();
  } else {
    CpuRelax();
  }
}

// Spin long enough to cover the gap between two kernels of one step (some tens of
// microseconds), short enough that an idle pool soon stops burning a core.
constexpr int kSpinIterations = 1 << 12;
}  // namespace

Result<std::unique_ptr<ThreadPool>> ThreadPool::Create(int n_threads) {
  if (n_threads < 1 || n_threads > static_cast<int>(limits::kMaxThreads)) {
    return ACORN_ERROR(kInvalidArgument, "%d threads asked for: a pool takes 1..%" PRIu32, n_threads, limits::kMaxThreads);
  }
  std::unique_ptr<ThreadPool> pool(new ThreadPool(n_threads));
  // Arguments first, all of them, so that the addresses the workers hold never move.
  pool->worker_args_.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) pool->worker_args_.push_back(WorkerArg{pool.get(), i});
  pool->workers_.reserve(static_cast<size_t>(n_threads - 1));
  for (WorkerArg& arg : pool->worker_args_) {
    platform::Thread t;
    Status st = platform::StartThread(&ThreadPool::WorkerMain, &arg, &t);
    if (!st.ok()) {
      pool->StopWorkers();
      return Status(st.code(), StrFormat("thread pool of %d threads: started %zu, then: %s", n_threads,
                                         pool->workers_.size() + 1, st.message().c_str()));
    }
    pool->workers_.push_back(t);
  }
  return pool;
}

void ThreadPool::WorkerMain(void* arg) {
  const WorkerArg* a = static_cast<const WorkerArg*>(arg);
  a->pool->WorkerLoop(a->index);
}

void ThreadPool::StopWorkers() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  platform::UnparkAll();
  for (platform::Thread& t : workers_) platform::JoinThread(&t);
  workers_.clear();
}

ThreadPool::~ThreadPool() { StopWorkers(); }

void ThreadPool::RunRange(int index) {
  const int64_t begin = n_ * index / n_threads_;
  const int64_t end = n_ * (index + 1) / n_threads_;
  if (begin < end) fn_(ctx_, begin, end);
}

void ThreadPool::WorkerLoop(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 0; gen == seen && i < kSpinIterations; ++i) {
      SpinStep(i);
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      // Announce the sleep before the last check (inside ParkWhileEqual); the caller bumps the
      // generation before it looks for sleepers. Then look again: parking may end early.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      platform::ParkWhileEqual(&generation_, seen);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      continue;
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
  for (int i = 0; busy_.exchange(true, std::memory_order_acquire); ++i) SpinStep(i);
  fn_ = fn;
  ctx_ = ctx;
  n_ = n;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) platform::UnparkAll();
  RunRange(0);
  // Workers finish within the kernel's time: spin rather than sleep.
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) SpinStep(i);
  busy_.store(false, std::memory_order_release);
}

}  // namespace cpu
}  // namespace acorn

// ThreadPool: ranges cover [0, n) exactly once, for any n and thread count, call after call.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "thread_pool.h"

namespace acorn {
namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    cpu::ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      auto fn = [&](int64_t b, int64_t e) {
        EXPECT_LT(b, e);
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      };
      pool.ParallelFor(n, fn);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPool, ManyCallsInARow) {
  cpu::ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  auto fn = [&](int64_t b, int64_t e) { total.fetch_add(e - b); };
  for (int i = 0; i < 20000; ++i) pool.ParallelFor(7, fn);
  EXPECT_EQ(total.load(), 7 * 20000);
}

TEST(ThreadPool, ZeroItemsAndNullPool) {
  cpu::ThreadPool pool(2);
  int calls = 0;
  auto fn = [&](int64_t, int64_t) { ++calls; };
  pool.ParallelFor(0, fn);
  EXPECT_EQ(calls, 0);
  cpu::ParallelFor(nullptr, 5, fn);  // inline, one range
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPool, StartsAndStopsIdle) {
  for (int i = 0; i < 50; ++i) cpu::ThreadPool pool(4);
}

}  // namespace
}  // namespace acorn

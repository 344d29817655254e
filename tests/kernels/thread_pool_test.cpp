// ThreadPool: ranges cover [0, n) exactly once, for any n and thread count, call after call.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/limits.h"
#include "thread_pool.h"

namespace acorn {
namespace {

std::unique_ptr<cpu::ThreadPool> MakePool(int threads) {
  auto made = cpu::ThreadPool::Create(threads);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(made).value() : nullptr;
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    auto made = MakePool(threads);
    ASSERT_NE(made, nullptr);
    cpu::ThreadPool& pool = *made;
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
  auto made = MakePool(3);
  ASSERT_NE(made, nullptr);
  cpu::ThreadPool& pool = *made;
  std::atomic<int64_t> total{0};
  auto fn = [&](int64_t b, int64_t e) { total.fetch_add(e - b); };
  for (int i = 0; i < 20000; ++i) pool.ParallelFor(7, fn);
  EXPECT_EQ(total.load(), 7 * 20000);
}

TEST(ThreadPool, ZeroItemsAndNullPool) {
  auto made = MakePool(2);
  ASSERT_NE(made, nullptr);
  cpu::ThreadPool& pool = *made;
  int calls = 0;
  auto fn = [&](int64_t, int64_t) { ++calls; };
  pool.ParallelFor(0, fn);
  EXPECT_EQ(calls, 0);
  cpu::ParallelFor(nullptr, 5, fn);  // inline, one range
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPool, StartsAndStopsIdle) {
  for (int i = 0; i < 50; ++i) EXPECT_NE(MakePool(4), nullptr);
}

// A thread count nobody can start is an error the caller can report, not std::system_error.
TEST(ThreadPool, RefusesCountsOutsideTheLimit) {
  for (int threads : {0, -3, static_cast<int>(limits::kMaxThreads) + 1, 1 << 30}) {
    auto made = cpu::ThreadPool::Create(threads);
    ASSERT_FALSE(made.ok()) << threads;
    EXPECT_EQ(made.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(made.status().message().find("threads"), std::string::npos) << made.status().message();
  }
}

}  // namespace
}  // namespace acorn

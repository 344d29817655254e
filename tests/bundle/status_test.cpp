// Result<T>::value() on an error: debug builds abort there and print the Status, so that a caller
// that forgot to check ok() fails at the misuse and not later on garbage.
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "acorn/status.h"

namespace acorn {
namespace {

Result<std::string> Missing() { return ACORN_ERROR(kNotFound, "tensor 'wq' is not in the bundle"); }

TEST(Result, ValueOfAValue) {
  Result<std::string> r = std::string("wq");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "wq");
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(std::move(r).value(), "wq");
}

TEST(Result, ValueOfAnErrorAbortsInDebugBuilds) {
  Result<std::string> r = Missing();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
#ifdef NDEBUG
  GTEST_SKIP() << "release build: value() is unchecked there";
#else
  const char* expected = "value\\(\\) called on an error Result \\(not found: tensor 'wq' is not in the bundle\\)";
  EXPECT_DEATH((void)r.value(), expected);
  EXPECT_DEATH((void)r->size(), expected);
  EXPECT_DEATH((void)static_cast<const Result<std::string>&>(r).value(), expected);
  EXPECT_DEATH((void)Missing().value(), expected);
#endif
}

}  // namespace
}  // namespace acorn

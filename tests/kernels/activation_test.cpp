// cpu::Gelu and cpu::SwiGlu against the reference on every ISA path this CPU runs, over a sweep of
// arguments that covers erf's and exp's whole useful range (and past exp's overflow), with lengths
// that leave vector tails. Bounds: relative to the value, a few ulp plus erf's 1.5e-7.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "test_util.h"

namespace acorn {
namespace {

using cpu::Isa;

class ActivationTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!cpu::IsaSupported(GetParam())) GTEST_SKIP() << cpu::IsaName(GetParam()) << " not supported here";
    ASSERT_TRUE(cpu::ForceIsa(GetParam()));
  }
  void TearDown() override { cpu::ForceIsa(cpu::BestIsa()); }
};

std::vector<float> Sweep() {
  std::vector<float> x;
  for (float v = -100.0f; v <= 100.0f; v += 0.0371f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, 89.0f, -89.0f, 1e6f, -1e6f}) x.push_back(v);
  x.resize(x.size() - x.size() % 16 + 13);  // a tail for every vector width
  return x;
}

TEST_P(ActivationTest, GeluMatchesReference) {
  const std::vector<float> x = Sweep();
  std::vector<float> want(x.size()), got(x.size(), NAN);
  ref::Gelu(x.data(), static_cast<int64_t>(x.size()), want.data());
  cpu::Gelu(x.data(), static_cast<int64_t>(x.size()), got.data());
  for (size_t i = 0; i < x.size(); ++i) {
    // erf's absolute error, carried by 0.5 * x, plus float rounding of the value.
    ASSERT_NEAR(got[i], want[i], 1e-7 * std::fabs(x[i]) + 4e-7 * std::fabs(want[i]) + 1e-37) << "x=" << x[i];
  }
}

TEST_P(ActivationTest, SwiGluMatchesReference) {
  const std::vector<float> g = Sweep();
  const std::vector<float> up = test::RandomFloats(g.size(), 3);
  std::vector<float> want(g.size()), got(g.size(), NAN);
  ref::SwiGlu(g.data(), up.data(), static_cast<int64_t>(g.size()), want.data());
  cpu::SwiGlu(g.data(), up.data(), static_cast<int64_t>(g.size()), got.data());
  for (size_t i = 0; i < g.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 4e-7 * std::fabs(want[i]) + 1e-37) << "g=" << g[i];
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, ActivationTest, ::testing::ValuesIn(cpu::kAllIsas),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(cpu::IsaName(info.param)); });

}  // namespace
}  // namespace acorn

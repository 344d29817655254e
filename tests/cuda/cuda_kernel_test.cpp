// Every CUDA kernel against the reference kernels on random inputs, odd sizes and tails included.
// Outputs are poisoned (NaN) before each launch, so an element a kernel fails to write fails the
// comparison. Skipped, saying so, where there is no CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../kernels/test_util.h"
#include "cuda/launchers.h"
#include "cuda_test_util.h"
#include "reference_kernels.h"

namespace acorn {
namespace {

using test::DeviceBuffer;

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    ACORN_SKIP_WITHOUT_GPU();
    Status st = cuda::PrepareKernels();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  cudaStream_t stream_ = nullptr;  // the legacy default stream: every launch is ordered
};

// Weights the integer kernels read with quantized activations; q8_0/q4_0 also come split.
bool Quantized(DType t) { return cuda::ActQuantFor(t) != cuda::ActQuant::kNone; }
bool Splits(DType t) { return t == DType::kQ8_0 || t == DType::kQ4_0; }
// Elements per block (256 for the K-quants and IQ4_XS): matrix widths must be a multiple.
int64_t BlockElems(DType t) { return GetDTypeInfo(t).block_elems; }

const DType kBlockTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K,
                             DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS};
std::vector<DType> EveryWeightType() {
  std::vector<DType> all = {DType::kF32, DType::kF16, DType::kBF16};
  for (DType t : kBlockTypes) all.push_back(t);
  return all;
}
std::string TypeParamName(const ::testing::TestParamInfo<DType>& i) { return test::TypeName(i.param); }

// The device's and the reference's choice of activations agree for every dtype (no GPU needed).
TEST(CudaActivations, FormatFollowsTheReference) {
  for (int raw = 0; raw < kDTypeCount; ++raw) {
    const DType t = static_cast<DType>(raw);
    const bool block = GetDTypeInfo(t).quantized;
    const cuda::ActQuant want =
        !block ? cuda::ActQuant::kNone : (ref::TakesQ8KActivations(t) ? cuda::ActQuant::kQ8_K : cuda::ActQuant::kQ8_0);
    EXPECT_EQ(static_cast<int>(cuda::ActQuantFor(t)), static_cast<int>(want)) << DTypeName(t);
  }
}

// Sum over k of |x[t,k] * w[n,k]| with dequantized weights: the scale of any summation's rounding.
std::vector<double> AbsSums(const std::vector<float>& x, const std::vector<uint8_t>& w, DType wt, int64_t T, int64_t K,
                            int64_t N) {
  std::vector<double> out(static_cast<size_t>(T * N));
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    ref::DequantizeRow(wt, w.data() + n * test::WeightRowBytes(wt, K), row.data(), K);
    for (int64_t t = 0; t < T; ++t) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += std::fabs(static_cast<double>(x[t * K + k]) * row[k]);
      out[t * N + n] = s;
    }
  }
  return out;
}

// ---- Quantization -------------------------------------------------------------------------------------

// A Q8Rows buffer copied back from the device, with its arrays at the same offsets.
struct HostQ8Rows {
  HostQ8Rows(const DeviceBuffer& buf, const cuda::Q8Rows& q) : raw(buf.Read<uint8_t>()) {
    auto at = [&](const void* p) { return raw.data() + (static_cast<const uint8_t*>(p) - buf.as<uint8_t>()); };
    qs = reinterpret_cast<const int8_t*>(at(q.qs));
    d = reinterpret_cast<const float*>(at(q.d));
    sum = reinterpret_cast<const int32_t*>(at(q.sum));
    s = reinterpret_cast<const float*>(at(q.s));
  }
  std::vector<uint8_t> raw;
  const int8_t* qs;
  const float* d;
  const int32_t* sum;
  const float* s;
};

TEST_F(CudaKernels, QuantizeRowsEqualsReferenceBitForBit) {
  const int64_t rows = 3, K = 32 * 9;
  auto x = test::RandomFloats(static_cast<size_t>(rows * K), 7, 3.0f);
  const float ties[6] = {127.0f, 2.5f, -3.5f, 0.5f, -0.5f, -126.5f};
  for (int j = 0; j < 6; ++j) x[j] = ties[j];
  for (int j = 32; j < 64; ++j) x[j] = 0.0f;  // a zero block: scale 0, no NaN
  DeviceBuffer dx(x), dq(cuda::Q8RowsBytes(rows, K));
  const cuda::Q8Rows q = cuda::Q8RowsAt(dq.as<void>(), rows, K);
  ASSERT_TRUE(cuda::LaunchQuantizeRows(stream_, cuda::ActQuant::kQ8_0, dx.as<float>(), rows, K, q).ok());
  ASSERT_EQ(test::Sync(), "");
  const HostQ8Rows h(dq, q);
  const int8_t* qs = h.qs;
  const float *d = h.d, *q8_1 = h.s;
  const int32_t* sum = h.sum;
  std::vector<BlockQ8_0> want(static_cast<size_t>(rows * K / 32));
  for (int64_t r = 0; r < rows; ++r) ref::QuantizeRowQ8_0(x.data() + r * K, want.data() + r * K / 32, K);
  for (size_t b = 0; b < want.size(); ++b) {
    ASSERT_EQ(d[b], F16ToF32(want[b].scale)) << "block " << b;
    int s = 0;
    for (int j = 0; j < 32; ++j) {
      ASSERT_EQ(qs[b * 32 + j], want[b].q[j]) << "block " << b << " element " << j;
      s += want[b].q[j];
    }
    ASSERT_EQ(sum[b], s) << "block " << b;
    ASSERT_EQ(q8_1[b], ref::Q8_1BlockSum(x.data() + b * 32, want[b].q)) << "block " << b;
  }
}

TEST_F(CudaKernels, QuantizeRowsQ8KEqualsReferenceBitForBit) {
  const int64_t rows = 2, K = 256 * 5;
  auto x = test::RandomFloats(static_cast<size_t>(rows * K), 8, 3.0f);
  // Block 0: the largest magnitude twice, negative first (the first one sets the sign); block 1:
  // zeros; block 2: a NaN; block 3: values on rounding ties of the scale.
  x[7] = -9.0f;
  x[200] = 9.0f;
  for (int j = 256; j < 512; ++j) x[j] = 0.0f;
  x[600] = std::nanf("");
  for (int j = 768; j < 1024; ++j) x[j] = 0.5f * static_cast<float>((j % 9) - 4);
  x[768] = 127.0f;
  DeviceBuffer dx(x), dq(cuda::Q8RowsBytes(rows, K));
  const cuda::Q8Rows q = cuda::Q8RowsAt(dq.as<void>(), rows, K);
  ASSERT_TRUE(cuda::LaunchQuantizeRows(stream_, cuda::ActQuant::kQ8_K, dx.as<float>(), rows, K, q).ok());
  ASSERT_EQ(test::Sync(), "");
  const HostQ8Rows h(dq, q);
  const int8_t* qs = h.qs;
  const float* d = h.d;
  const int32_t* sum = h.sum;
  std::vector<int8_t> want_q(static_cast<size_t>(rows * K));
  std::vector<float> want_d(static_cast<size_t>(rows * K / 256));
  for (int64_t r = 0; r < rows; ++r) {
    ref::QuantizeRowQ8_K(x.data() + r * K, want_q.data() + r * K, want_d.data() + r * K / 256, K);
  }
  for (int64_t b = 0; b < rows * K / 32; ++b) {
    const float wd = want_d[b / 8];
    if (std::isnan(wd)) {
      ASSERT_TRUE(std::isnan(d[b])) << "block " << b;
    } else {
      ASSERT_EQ(d[b], wd) << "block " << b;
    }
    int s = 0;
    for (int j = 0; j < 32; ++j) {
      ASSERT_EQ(qs[b * 32 + j], want_q[b * 32 + j]) << "block " << b << " element " << j;
      s += want_q[b * 32 + j];
    }
    ASSERT_EQ(sum[b], s) << "block " << b;
  }
  EXPECT_FALSE(cuda::LaunchQuantizeRows(stream_, cuda::ActQuant::kQ8_K, dx.as<float>(), 1, 96, q).ok());
}

// ---- Matrix x vector (T <= kSmallRows) ---------------------------------------------------------------------

struct GemvCase {
  int64_t T, K, N;
};

// Widths of 1, 3 and 8 blocks (32 or 256 elements), tails of rows and tokens.
std::vector<GemvCase> GemvCases(DType wt) {
  const bool quantized = Quantized(wt);
  const int64_t be = std::max<int64_t>(BlockElems(wt), 32);
  std::vector<GemvCase> cases;
  for (int64_t T : {1, 2, 5, 8})
    for (int64_t N : {1, 3, 31, 129})
      for (int64_t K : {be, 3 * be, 8 * be}) cases.push_back({T, K, N});
  cases.push_back({1, 4096, 67});
  cases.push_back({3, 2048, 16});
  if (!quantized) {
    for (int64_t K : {1, 7, 33, 100}) cases.push_back({3, K, 13});
  }
  return cases;
}

class CudaGemv : public CudaKernels, public ::testing::WithParamInterface<DType> {};

TEST_P(CudaGemv, MatchesReference) {
  const DType wt = GetParam();
  const bool quant = Quantized(wt);
  uint32_t seed = 1000;
  for (const GemvCase& c : GemvCases(wt)) {
    for (bool extras : {false, true}) {  // bias and residual
      SCOPED_TRACE(::testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " extras=" << extras);
      const auto x = test::RandomFloats(static_cast<size_t>(c.T * c.K), ++seed);
      const auto wf = test::RandomFloats(static_cast<size_t>(c.N * c.K), ++seed, 0.5f);
      const auto w = test::EncodeRows(wf, c.N, c.K, wt);
      const auto bias = test::RandomFloats(static_cast<size_t>(c.N), ++seed);
      const auto res = test::RandomFloats(static_cast<size_t>(c.T * c.N), ++seed);
      std::vector<float> want(static_cast<size_t>(c.T * c.N)), abs_q(want.size());
      if (quant) {
        ref::MatMulQ8Activations(x.data(), c.T, c.K, w.data(), wt, c.N, extras ? bias.data() : nullptr, want.data(),
                                 abs_q.data());
      } else {
        ref::MatMul(x.data(), c.T, c.K, w.data(), wt, c.N, extras ? bias.data() : nullptr, want.data());
      }
      const auto abs_sum = AbsSums(x, w, wt, c.T, c.K, c.N);
      DeviceBuffer dx(x), dres(res), dbias(bias), dq(quant ? cuda::Q8RowsBytes(c.T, c.K) : 1);
      std::vector<std::vector<float>> outs;
      for (WeightLayout layout : {WeightLayout::kCanonical, WeightLayout::kSplitBlocks}) {
        if (layout == WeightLayout::kSplitBlocks && !Splits(wt)) continue;
        DeviceBuffer dw(layout == WeightLayout::kSplitBlocks ? test::SplitBlocks(w, wt, c.N, c.K) : w);
        DeviceBuffer dy(want.size() * sizeof(float));
        dy.Poison();
        cuda::LinearArgs a;
        a.w[0] = test::View(dw, wt, c.N, c.K, layout);
        a.o[0].bias = extras ? dbias.as<float>() : nullptr;
        a.o[0].residual = extras ? dres.as<float>() : nullptr;
        a.o[0].out = dy.as<float>();
        a.x = dx.as<float>();
        a.T = c.T;
        a.K = c.K;
        if (quant) {
          a.xq = cuda::Q8RowsAt(dq.as<void>(), c.T, c.K);
          ASSERT_TRUE(cuda::LaunchQuantizeRows(stream_, cuda::ActQuantFor(wt), a.x, c.T, c.K, a.xq).ok());
        }
        Status st = cuda::LaunchGemv(stream_, a);
        ASSERT_TRUE(st.ok()) << st.ToString();
        ASSERT_EQ(test::Sync(), "");
        outs.push_back(dy.Read<float>());
      }
      for (size_t i = 0; i < want.size(); ++i) {
        const float expect = want[i] + (extras ? res[i] : 0.0f);
        const double tol = 4e-6 * (quant ? abs_q[i] : abs_sum[i]) + 2e-7 * (std::fabs(expect) + 1.0);
        ASSERT_NEAR(outs[0][i], expect, tol) << "element " << i;
        if (outs.size() == 2) {
          ASSERT_EQ(outs[1][i], outs[0][i]) << "split layout differs at " << i;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaGemv, ::testing::ValuesIn(EveryWeightType()), TypeParamName);

TEST_F(CudaKernels, GemvGroupsAndSwiGlu) {
  for (DType wt : {DType::kQ4_0, DType::kF16, DType::kQ4_K, DType::kQ5_1}) {
    SCOPED_TRACE(test::TypeName(wt));
    const int64_t K = 512, T = 3;
    const int64_t rows[3] = {5, 64, 3};
    const auto x = test::RandomFloats(static_cast<size_t>(T * K), 11);
    DeviceBuffer dx(x), dq(cuda::Q8RowsBytes(T, K));
    cuda::LinearArgs a;
    a.x = dx.as<float>();
    a.T = T;
    a.K = K;
    if (Quantized(wt)) {
      a.xq = cuda::Q8RowsAt(dq.as<void>(), T, K);
      ASSERT_TRUE(cuda::LaunchQuantizeRows(stream_, cuda::ActQuantFor(wt), a.x, T, K, a.xq).ok());
    }
    std::vector<std::vector<uint8_t>> w(3);
    std::vector<std::unique_ptr<DeviceBuffer>> dw, dy;
    for (int m = 0; m < 3; ++m) {
      w[m] = test::EncodeRows(test::RandomFloats(static_cast<size_t>(rows[m] * K), 20 + m, 0.5f), rows[m], K, wt);
      dw.emplace_back(new DeviceBuffer(w[m]));
      dy.emplace_back(new DeviceBuffer(static_cast<size_t>(T * rows[m]) * sizeof(float)));
      dy[m]->Poison();
      a.w[m] = test::View(*dw[m], wt, rows[m], K, WeightLayout::kCanonical);
      a.o[m].out = dy[m]->as<float>();
    }
    a.n = 3;
    ASSERT_TRUE(cuda::LaunchGemv(stream_, a).ok());
    ASSERT_EQ(test::Sync(), "");
    std::vector<std::vector<float>> single(3);
    for (int m = 0; m < 3; ++m) {
      // The same product alone: a group computes each matrix exactly as a single launch would.
      cuda::LinearArgs one = a;
      one.n = 1;
      one.w[0] = a.w[m];
      DeviceBuffer y(static_cast<size_t>(T * rows[m]) * sizeof(float));
      one.o[0].out = y.as<float>();
      ASSERT_TRUE(cuda::LaunchGemv(stream_, one).ok());
      ASSERT_EQ(test::Sync(), "");
      EXPECT_EQ(dy[m]->Read<float>(), y.Read<float>()) << "matrix " << m;
      single[m] = y.Read<float>();
    }
    // Gate/up with SwiGLU: out = silu(gate) * up, from two matrices of equal rows.
    cuda::LinearArgs g = a;
    g.n = 2;
    g.swiglu = true;
    g.w[0] = a.w[1];
    g.w[1] = a.w[1];
    DeviceBuffer up(w[1]);
    g.w[1].data = up.as<uint8_t>();
    DeviceBuffer out(static_cast<size_t>(T * rows[1]) * sizeof(float));
    out.Poison();
    g.o[0].out = out.as<float>();
    ASSERT_TRUE(cuda::LaunchGemv(stream_, g).ok());
    ASSERT_EQ(test::Sync(), "");
    const auto got = out.Read<float>();
    for (size_t i = 0; i < got.size(); ++i) {
      const float v = single[1][i];
      ASSERT_NEAR(got[i], v / (1.0f + std::exp(-v)) * v, 1e-5f * (1.0f + std::fabs(v * v))) << i;
    }
  }
}

// ---- Matrix products of many rows ------------------------------------------------------------------------

struct GemmCase {
  int64_t T, K, N;
};

class CudaGemm : public CudaKernels, public ::testing::WithParamInterface<DType> {};

TEST_P(CudaGemm, TensorCoresAndSimtMatchReference) {
  const DType wt = GetParam();
  const bool quant = Quantized(wt);
  std::vector<GemmCase> cases;
  if (BlockElems(wt) < 256) cases = {{9, 64, 1}, {37, 96, 123}, {130, 256, 300}, {64, 1024, 128}, {200, 64, 257}};
  if (BlockElems(wt) == 256) cases = {{9, 256, 1}, {37, 768, 123}, {130, 256, 300}, {64, 1024, 128}, {200, 512, 257}};
  if (!quant) cases.push_back({17, 40, 33});
  if (wt == DType::kF32 || wt == DType::kBF16) cases.push_back({11, 37, 5});
  uint32_t seed = 3000;
  for (const GemmCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N);
    const auto x = test::RandomFloats(static_cast<size_t>(c.T * c.K), ++seed);
    const auto w = test::EncodeRows(test::RandomFloats(static_cast<size_t>(c.N * c.K), ++seed, 0.5f), c.N, c.K, wt);
    const auto bias = test::RandomFloats(static_cast<size_t>(c.N), ++seed);
    const auto res = test::RandomFloats(static_cast<size_t>(c.T * c.N), ++seed);
    std::vector<float> want(static_cast<size_t>(c.T * c.N));
    ref::MatMul(x.data(), c.T, c.K, w.data(), wt, c.N, bias.data(), want.data());
    const auto abs_sum = AbsSums(x, w, wt, c.T, c.K, c.N);
    DeviceBuffer dx(x), dbias(bias), dres(res), dw(w);
    cuda::LinearOut o;
    o.bias = dbias.as<float>();
    o.residual = dres.as<float>();
    DeviceBuffer dy(want.size() * sizeof(float));
    o.out = dy.as<float>();
    const cuda::WeightView view = test::View(dw, wt, c.N, c.K, WeightLayout::kCanonical);
    // SIMT: fp32 throughout.
    dy.Poison();
    ASSERT_TRUE(cuda::LaunchGemmSimt(stream_, dx.as<float>(), c.T, c.K, view, o).ok());
    ASSERT_EQ(test::Sync(), "");
    const auto simt = dy.Read<float>();
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(simt[i], want[i] + res[i], 4e-6 * abs_sum[i] + 2e-7 * (std::fabs(want[i] + res[i]) + 1.0)) << i;
    }
    if (!cuda::TensorCoreGemmSupports(view, c.K)) continue;
    // Tensor cores: fp16 operands (activations and dequantized weights each rounded once, relative
    // error 2^-11), fp32 sums; canonical and split weights give the same bits.
    std::vector<std::vector<float>> tc;
    for (WeightLayout layout : {WeightLayout::kCanonical, WeightLayout::kSplitBlocks}) {
      if (layout == WeightLayout::kSplitBlocks && !Splits(wt)) continue;
      DeviceBuffer dws(layout == WeightLayout::kSplitBlocks ? test::SplitBlocks(w, wt, c.N, c.K) : w);
      dy.Poison();
      Status st = cuda::LaunchGemmTensorCore(stream_, dx.as<float>(), c.T, c.K, test::View(dws, wt, c.N, c.K, layout), o);
      ASSERT_TRUE(st.ok()) << st.ToString();
      ASSERT_EQ(test::Sync(), "");
      tc.push_back(dy.Read<float>());
    }
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(tc[0][i], want[i] + res[i], 2e-3 * abs_sum[i] + 1e-5) << i;
      if (tc.size() == 2) {
        ASSERT_EQ(tc[1][i], tc[0][i]) << "split layout differs at " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaGemm, ::testing::ValuesIn(EveryWeightType()), TypeParamName);

// ---- Row-wise and element-wise ------------------------------------------------------------------------------

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float rel, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], rel * (1.0f + std::fabs(want[i]))) << what << " at " << i;
  }
}

TEST_F(CudaKernels, NormsMatchReference) {
  for (int64_t H : {1, 33, 64, 1000, 4096, 10016}) {
    SCOPED_TRACE(::testing::Message() << "H=" << H);
    const int64_t T = 5;
    const auto x = test::RandomFloats(static_cast<size_t>(T * H), 40 + H, 2.0f);
    const auto w = test::RandomFloats(static_cast<size_t>(H), 41 + H);
    const auto b = test::RandomFloats(static_cast<size_t>(H), 42 + H);
    DeviceBuffer dx(x), dw(w), db(b), dy(x.size() * sizeof(float)), dq(cuda::Q8RowsBytes(T, std::max<int64_t>(H, 32)));
    std::vector<float> want(x.size());

    ref::RmsNorm(x.data(), w.data(), T, H, 1e-5f, want.data());
    dy.Poison();
    const bool quant = H % 32 == 0;
    const cuda::Q8Rows q = cuda::Q8RowsAt(dq.as<void>(), T, std::max<int64_t>(H, 32));
    ASSERT_TRUE(cuda::LaunchRmsNorm(stream_, dx.as<float>(), dw.as<float>(), T, H, 1e-5f, dy.as<float>(),
                                    quant ? &q : nullptr).ok());
    ASSERT_EQ(test::Sync(), "");
    const auto got = dy.Read<float>();
    ExpectNear(got, want, 1e-5f, "rms norm");
    if (quant) {
      // The quantized copy is exactly the reference quantization of the float output.
      std::vector<BlockQ8_0> blocks(static_cast<size_t>(T * H / 32));
      for (int64_t t = 0; t < T; ++t) ref::QuantizeRowQ8_0(got.data() + t * H, blocks.data() + t * H / 32, H);
      const auto raw = dq.Read<uint8_t>();
      const auto* qs = reinterpret_cast<const int8_t*>(raw.data());
      const auto* d = reinterpret_cast<const float*>(raw.data() + (reinterpret_cast<const uint8_t*>(q.d) - dq.as<uint8_t>()));
      for (size_t i = 0; i < blocks.size(); ++i) {
        ASSERT_EQ(d[i], F16ToF32(blocks[i].scale)) << i;
        for (int j = 0; j < 32; ++j) ASSERT_EQ(qs[i * 32 + j], blocks[i].q[j]) << i;
      }
    }

    ref::LayerNorm(x.data(), w.data(), b.data(), T, H, 1e-5f, want.data());
    dy.Poison();
    ASSERT_TRUE(cuda::LaunchLayerNorm(stream_, dx.as<float>(), dw.as<float>(), db.as<float>(), T, H, 1e-5f,
                                      dy.as<float>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dy.Read<float>(), want, 2e-5f, "layer norm");

    ref::Softmax(x.data(), T, H, want.data());
    dy.Poison();
    ASSERT_TRUE(cuda::LaunchSoftmax(stream_, dx.as<float>(), T, H, dy.as<float>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dy.Read<float>(), want, 1e-5f, "softmax");

    ref::L2NormalizeRows(x.data(), T, H, 1e-12f, want.data());
    dy.Poison();
    ASSERT_TRUE(cuda::LaunchL2Normalize(stream_, dx.as<float>(), T, H, 1e-12f, dy.as<float>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dy.Read<float>(), want, 1e-5f, "l2 normalize");
  }
}

TEST_F(CudaKernels, ElementwiseAndPoolMatchReference) {
  const int64_t n = 1000 * 3 + 7;
  const auto a = test::RandomFloats(static_cast<size_t>(n), 50, 3.0f);
  const auto b = test::RandomFloats(static_cast<size_t>(n), 51);
  DeviceBuffer da(a), db(b), dy(a.size() * sizeof(float));
  std::vector<float> want(a.size());
  struct Kind {
    cuda::Elementwise kind;
    const char* name;
  };
  for (Kind k : {Kind{cuda::Elementwise::kAdd, "add"}, Kind{cuda::Elementwise::kMul, "mul"},
                 Kind{cuda::Elementwise::kSwiGlu, "swiglu"}, Kind{cuda::Elementwise::kGelu, "gelu"},
                 Kind{cuda::Elementwise::kTanh, "tanh"}}) {
    switch (k.kind) {
      case cuda::Elementwise::kAdd: ref::Add(a.data(), b.data(), n, want.data()); break;
      case cuda::Elementwise::kMul: ref::Mul(a.data(), b.data(), n, want.data()); break;
      case cuda::Elementwise::kSwiGlu: ref::SwiGlu(a.data(), b.data(), n, want.data()); break;
      case cuda::Elementwise::kGelu: ref::Gelu(a.data(), n, want.data()); break;
      case cuda::Elementwise::kTanh: ref::Tanh(a.data(), n, want.data()); break;
    }
    dy.Poison();
    ASSERT_TRUE(cuda::LaunchElementwise(stream_, k.kind, da.as<float>(), db.as<float>(), n, dy.as<float>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dy.Read<float>(), want, 1e-6f, k.name);
  }
  // Pooling over [T, H] rows, mean with a mask, first and last row.
  const int64_t T = 7, H = 129;
  const auto x = test::RandomFloats(static_cast<size_t>(T * H), 52);
  const std::vector<float> mask = {1, 1, 0, 1, 0, 1, 1};
  DeviceBuffer dx(x), dm(mask), dp(static_cast<size_t>(H) * sizeof(float));
  std::vector<float> pw(static_cast<size_t>(H));
  ref::Pool(ref::PoolKind::kMean, x.data(), T, H, mask.data(), pw.data());
  dp.Poison();
  ASSERT_TRUE(cuda::LaunchPool(stream_, 0, dx.as<float>(), T, H, dm.as<float>(), dp.as<float>()).ok());
  ASSERT_EQ(test::Sync(), "");
  ExpectNear(dp.Read<float>(), pw, 1e-6f, "mean pool");
  ASSERT_TRUE(cuda::LaunchPool(stream_, 2, dx.as<float>(), T, H, nullptr, dp.as<float>()).ok());
  ASSERT_EQ(test::Sync(), "");
  EXPECT_EQ(dp.Read<float>(), std::vector<float>(x.end() - H, x.end()));
}

TEST_F(CudaKernels, EmbeddingEqualsReferenceInEveryDtypeAndLayout) {
  const int64_t V = 37, H = 512;
  const std::vector<int32_t> ids = {0, 36, 5, 5, 17};
  const auto table_f = test::RandomFloats(static_cast<size_t>(V * H), 60);
  DeviceBuffer dids(ids);
  for (DType t : EveryWeightType()) {
    const auto table = test::EncodeRows(table_f, V, H, t);
    std::vector<float> want(ids.size() * H);
    ASSERT_TRUE(ref::Embedding(table.data(), t, V, H, ids.data(), static_cast<int64_t>(ids.size()), want.data()).ok());
    for (WeightLayout layout : {WeightLayout::kCanonical, WeightLayout::kSplitBlocks}) {
      if (layout == WeightLayout::kSplitBlocks && !Splits(t)) continue;
      DeviceBuffer dt(layout == WeightLayout::kSplitBlocks ? test::SplitBlocks(table, t, V, H) : table);
      DeviceBuffer dy(want.size() * sizeof(float));
      dy.Poison();
      ASSERT_TRUE(cuda::LaunchEmbedding(stream_, test::View(dt, t, V, H, layout), dids.as<int32_t>(),
                                        static_cast<int64_t>(ids.size()), dy.as<float>()).ok());
      ASSERT_EQ(test::Sync(), "");
      EXPECT_EQ(dy.Read<float>(), want) << test::TypeName(t);
    }
  }
}

// ---- Positions and attention --------------------------------------------------------------------------------

cuda::RopeParams Params(int64_t heads, int64_t hd, bool half, float factor, const std::vector<float>& inv_freq) {
  cuda::RopeParams p;
  p.n_heads = heads;
  p.head_dim = hd;
  p.half_style = half;
  p.attention_factor = factor;
  for (size_t i = 0; i < inv_freq.size(); ++i) p.inv_freq[i] = inv_freq[i];
  return p;
}

std::vector<float> Frequencies(int64_t hd, double theta) {
  std::vector<float> f(static_cast<size_t>(hd / 2));
  for (int64_t i = 0; i < hd / 2; ++i) f[i] = static_cast<float>(1.0 / std::pow(theta, 2.0 * i / hd));
  return f;
}

TEST_F(CudaKernels, RopeAndCacheWritesMatchReference) {
  const int64_t T = 6, heads = 4, kv_heads = 2, hd = 16, cache_rows = 40, pos = 9;
  const std::vector<int32_t> positions = {9, 10, 11, 12, 13, 100000};
  DeviceBuffer dpos_ids(positions), dstep(std::vector<int64_t>{pos});
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "half" : "interleaved");
    const auto fq = Frequencies(hd, 10000.0);
    const auto q = test::RandomFloats(static_cast<size_t>(T * heads * hd), 70);
    const auto k = test::RandomFloats(static_cast<size_t>(T * kv_heads * hd), 71);
    const auto v = test::RandomFloats(static_cast<size_t>(T * kv_heads * hd), 72);
    std::vector<float> want_q(q.size()), want_k(k.size());
    ref::Rope(q.data(), T, heads, hd, positions.data(), fq.data(), 1.25f, half, want_q.data());
    ref::Rope(k.data(), T, kv_heads, hd, positions.data(), fq.data(), 1.25f, half, want_k.data());
    DeviceBuffer dq(q), dk(k), dv(v), dqo(q.size() * sizeof(float)), dko(k.size() * sizeof(float));
    DeviceBuffer kc(static_cast<size_t>(cache_rows * kv_heads * hd) * sizeof(float));
    DeviceBuffer vc(static_cast<size_t>(cache_rows * kv_heads * hd) * sizeof(float));
    const cuda::RopeParams pq = Params(heads, hd, half, 1.25f, fq), pk = Params(kv_heads, hd, half, 1.25f, fq);
    // The plain op, also writing the rotated rows into a cache at the device position.
    dqo.Poison();
    kc.Poison();
    ASSERT_TRUE(cuda::LaunchRope(stream_, dq.as<float>(), T, dpos_ids.as<int32_t>(), pq, dqo.as<float>(), nullptr,
                                 dstep.as<int64_t>()).ok());
    ASSERT_TRUE(cuda::LaunchRope(stream_, dk.as<float>(), T, dpos_ids.as<int32_t>(), pk, dko.as<float>(), kc.as<float>(),
                                 dstep.as<int64_t>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dqo.Read<float>(), want_q, 2e-6f, "rope q");
    ExpectNear(dko.Read<float>(), want_k, 2e-6f, "rope k");
    const auto cache = kc.Read<float>();
    const int64_t w = kv_heads * hd;
    ExpectNear(std::vector<float>(cache.begin() + pos * w, cache.begin() + (pos + T) * w), want_k, 2e-6f, "k cache");
    // The fused step: q rotated, k rotated into the cache, v copied into the cache.
    dqo.Poison();
    kc.Poison();
    vc.Poison();
    ASSERT_TRUE(cuda::LaunchRopeKv(stream_, dq.as<float>(), dk.as<float>(), dv.as<float>(), T, dpos_ids.as<int32_t>(),
                                   pq, pk, dqo.as<float>(), nullptr, kc.as<float>(), vc.as<float>(),
                                   dstep.as<int64_t>()).ok());
    ASSERT_EQ(test::Sync(), "");
    ExpectNear(dqo.Read<float>(), want_q, 2e-6f, "fused rope q");
    const auto kc2 = kc.Read<float>(), vc2 = vc.Read<float>();
    ExpectNear(std::vector<float>(kc2.begin() + pos * w, kc2.begin() + (pos + T) * w), want_k, 2e-6f, "fused k cache");
    EXPECT_EQ(std::vector<float>(vc2.begin() + pos * w, vc2.begin() + (pos + T) * w), v);
    // The plain cache write.
    kc.Poison();
    vc.Poison();
    ASSERT_TRUE(cuda::LaunchKvWrite(stream_, dk.as<float>(), dv.as<float>(), T, w, kc.as<float>(), vc.as<float>(),
                                    dstep.as<int64_t>()).ok());
    ASSERT_EQ(test::Sync(), "");
    const auto kc3 = kc.Read<float>();
    EXPECT_EQ(std::vector<float>(kc3.begin() + pos * w, kc3.begin() + (pos + T) * w), k);
  }
}

struct AttnCase {
  int64_t T, pos, heads, kv_heads, hd, cache_rows;
  bool causal, masked;
};

TEST_F(CudaKernels, AttentionDecodeAndFlashMatchReference) {
  const AttnCase cases[] = {
      {1, 0, 1, 1, 4, 8, true, false},       {1, 9, 4, 2, 8, 64, true, false},     {5, 0, 4, 4, 16, 16, true, false},
      {3, 70, 8, 2, 64, 300, true, false},   {8, 500, 4, 1, 128, 1000, true, false}, {7, 0, 4, 2, 8, 7, false, true},
      {1, 4000, 2, 2, 64, 5000, true, false}, {17, 3, 2, 1, 33, 64, true, false},    {40, 0, 4, 2, 64, 40, false, true},
      {100, 28, 8, 2, 128, 200, true, false}, {33, 200, 2, 2, 256, 300, true, true}, {12, 5, 3, 1, 80, 20, true, false},
      {3, 10, 2, 1, 33, 64, true, true},
  };
  uint32_t seed = 900;
  for (const AttnCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "T=" << c.T << " pos=" << c.pos << " heads=" << c.heads << "/" << c.kv_heads
                                      << " hd=" << c.hd << " cache=" << c.cache_rows << " causal=" << c.causal
                                      << " masked=" << c.masked);
    const int64_t kv_len = c.pos + c.T, kv_w = c.kv_heads * c.hd;
    const auto q = test::RandomFloats(static_cast<size_t>(c.T * c.heads * c.hd), ++seed);
    auto kcache = test::RandomFloats(static_cast<size_t>(c.cache_rows * kv_w), ++seed);
    auto vcache = test::RandomFloats(static_cast<size_t>(c.cache_rows * kv_w), ++seed);
    std::vector<float> mask;
    if (c.masked) {
      mask = test::RandomFloats(static_cast<size_t>(c.T * kv_len), ++seed);
      for (int64_t t = 0; t < c.T; ++t) {
        for (int64_t j = 0; j < kv_len; ++j) {
          if ((t + j) % 3 == 1 && j != t) mask[t * kv_len + j] = -INFINITY;  // hidden keys, never a whole row
        }
      }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
    std::vector<float> want(q.size()), scratch(static_cast<size_t>(kv_len));
    ref::Attention(q.data(), kcache.data(), vcache.data(), c.T, c.pos, c.heads, c.kv_heads, c.hd, scale, c.causal,
                   c.masked ? mask.data() : nullptr, kv_len, want.data(), scratch.data());
    DeviceBuffer dq(q), dk(kcache), dv(vcache), dstep(std::vector<int64_t>{c.pos}), dy(q.size() * sizeof(float));
    DeviceBuffer dmask(c.masked ? mask : std::vector<float>(1));
    DeviceBuffer dscratch(cuda::AttentionScratchBytes(c.heads, c.hd, c.cache_rows));
    DeviceBuffer dout_q(cuda::Q8RowsBytes(cuda::kSmallRows, c.heads * c.hd));
    cuda::AttentionArgs a;
    a.q = dq.as<float>();
    a.k_cache = dk.as<float>();
    a.v_cache = dv.as<float>();
    a.mask = c.masked ? dmask.as<float>() : nullptr;
    a.out = dy.as<float>();
    a.T = c.T;
    a.n_heads = c.heads;
    a.n_kv_heads = c.kv_heads;
    a.head_dim = c.hd;
    a.cache_rows = c.cache_rows;
    a.scale = scale;
    a.causal = c.causal;
    a.device_pos = dstep.as<int64_t>();
    a.scratch = dscratch.as<float>();
    for (bool flash : {false, true}) {
      if (!flash && c.T > cuda::kSmallRows) continue;
      SCOPED_TRACE(flash ? "flash" : "decode");
      cuda::AttentionArgs run = a;
      const bool quant_out = !flash && c.hd % 32 == 0;
      if (quant_out) run.out_q = cuda::Q8RowsAt(dout_q.as<void>(), cuda::kSmallRows, c.heads * c.hd);
      dy.Poison();
      Status st = flash ? cuda::LaunchAttentionFlash(stream_, run) : cuda::LaunchAttentionDecode(stream_, run);
      ASSERT_TRUE(st.ok()) << st.ToString();
      ASSERT_EQ(test::Sync(), "");
      const auto got = dy.Read<float>();
      // Convex combinations of values of size ~1: absolute float tolerance.
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 3e-5f) << i;
      if (quant_out) {
        const int64_t K = c.heads * c.hd;
        std::vector<BlockQ8_0> blocks(static_cast<size_t>(c.T * K / 32));
        for (int64_t t = 0; t < c.T; ++t) ref::QuantizeRowQ8_0(got.data() + t * K, blocks.data() + t * K / 32, K);
        const auto raw = dout_q.Read<int8_t>();
        for (size_t b = 0; b < blocks.size(); ++b) {
          for (int j = 0; j < 32; ++j) ASSERT_EQ(raw[b * 32 + j], blocks[b].q[j]) << "quantized output, block " << b;
        }
      }
    }
  }
}

TEST_F(CudaKernels, UnsupportedShapesAreRefusedNotRun) {
  cuda::AttentionArgs a;
  a.T = 1;
  a.n_heads = 2;
  a.n_kv_heads = 2;
  a.head_dim = 512;  // beyond kMaxHeadDim
  Status st = cuda::LaunchAttention(stream_, a);
  EXPECT_EQ(st.code(), ErrorCode::kUnsupported) << st.ToString();
  cuda::LinearArgs l;
  l.n = 1;
  l.T = cuda::kSmallRows + 1;
  EXPECT_FALSE(cuda::LaunchGemv(stream_, l).ok());
}

}  // namespace
}  // namespace acorn

// Every kernel-table entry against the reference entry, called the way the binder calls it (in the
// spirit of ggml's test-backend-ops). For each non-reference entry of BuiltinKernels(): write
// one-op bundles with odd shapes (rows 1, 3, 7, 33; inner sizes that are odd multiples of the
// 32-element block for quantized weights; head layouts the entry's `supports` accepts) in every
// weight dtype the entry takes, load them with acorn::Bundle, and run the op from the loaded
// bundle's OpDesc through an OpCall built as Session builds it (scratch from the entry's ScratchFn,
// pools of 1 and 3 threads), next to FindKernel(..., kReference) on the same inputs.
//
// A new table entry needs nothing here unless its op kind is new: then Cases() must learn to build
// that kind, and until it does the walk fails for it rather than skipping it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn_generated.h"
#include "bundle_writer.h"
#include "graph/op_info.h"
#include "interpreter/op_shapes.h"
#include "kernel_table.h"
#include "test_util.h"
#include "thread_pool.h"

namespace acorn {
namespace {

using fb::OpKind;

constexpr int64_t T = kTokensDim;
// Rows per step the bundles are planned for, and the KV cache rows (>= the attention steps' sum).
constexpr uint32_t kMaxRows = 33;
constexpr uint32_t kContext = 48;
const int64_t kRowCounts[] = {1, 3, 7, 33};

// ---- Aligned memory: what the session's arena and the mapped file give kernels -----------------

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;

Buffer AlignedBuffer(size_t bytes, size_t alignment) {
  const size_t n = (bytes + alignment - 1) / alignment * alignment;
  return Buffer(static_cast<uint8_t*>(std::aligned_alloc(alignment, n == 0 ? alignment : n)));
}

template <typename T2>
T2 Check(Result<T2> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();  // a broken builder here is a bug of this file
  return std::move(r).value();
}
void Check(const Status& s) {
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) std::abort();
}

// ---- One-op bundles ----------------------------------------------------------------------------

// What an op input must hold so that every kernel accepts it.
enum class Fill {
  kNormal,         // floats ~ N(0, 1)
  kIds,            // i32 in [0, id_bound): embedding rows
  kPositions,      // i32 in [0, 4096): rope positions (large angles included)
  kMask01,         // 0 or 1: a padding mask
  kAttentionMask,  // additive scores, a few -inf, never a whole row
};

struct Step {
  int64_t rows, pos;
};

struct Case {
  std::string label;
  std::vector<uint8_t> file;
  std::vector<Fill> fills;  // per op input (constants and state are filled at build / start)
  int32_t id_bound = 0;
  std::vector<Step> steps;
};

// Steps of a stateless op: each row count once.
std::vector<Step> RowSteps(int64_t min_rows = 1) {
  std::vector<Step> steps;
  for (int64_t r : kRowCounts) {
    if (r >= min_rows) steps.push_back({r, 0});
  }
  return steps;
}

class OneOp {
 public:
  explicit OneOp(std::string label) : label_(std::move(label)) { w_.SetLimits(kMaxRows, kContext); }

  uint32_t Constant(const std::string& name, DType dtype, int64_t rows, int64_t cols) {
    const auto f = test::RandomFloats(static_cast<size_t>(rows * cols), ++seed_, 0.5f);
    return Check(w_.AddConstant(name, dtype, {rows, cols}, test::EncodeRows(f, rows, cols, dtype)));
  }
  uint32_t Vector(const std::string& name, int64_t n) {
    const auto f = test::RandomFloats(static_cast<size_t>(n), ++seed_, 0.5f);
    return Check(w_.AddConstant(name, DType::kF32, {n}, test::EncodeRows(f, 1, n, DType::kF32)));
  }
  uint32_t Tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape, Storage storage,
                  Fill fill = Fill::kNormal) {
    const uint32_t t = Check(w_.AddTensor(name, dtype, shape, storage));
    pending_fills_.push_back({t, fill});
    return t;
  }

  Case Finish(OpKind kind, const std::vector<uint32_t>& inputs, uint32_t out, const OpAttributes& attrs,
              std::vector<Step> steps, int32_t id_bound = 0) {
    Check(w_.AddOp(kind, inputs, {out}, attrs, "op"));
    Case c;
    c.label = label_;
    c.file = Check(w_.WriteToMemory());
    for (uint32_t in : inputs) {
      Fill f = Fill::kNormal;
      for (const auto& p : pending_fills_) {
        if (p.first == in) f = p.second;
      }
      c.fills.push_back(f);
    }
    c.id_bound = id_bound;
    c.steps = std::move(steps);
    return c;
  }

 private:
  std::string label_;
  BundleWriter w_;
  uint32_t seed_ = 1000;
  std::vector<std::pair<uint32_t, Fill>> pending_fills_;
};

std::string Str(const char* what, int64_t v) { return std::string(what) + std::to_string(v); }

// Weight dtypes an entry takes: its own, or every one the reference dequantizes.
std::vector<DType> WeightDTypes(const KernelEntry& e) {
  if (WeightInput(e.op_kind) < 0) return {DType::kF32};  // no weights: dtype plays no part
  if (e.weight_dtype != kAnyDType) return {static_cast<DType>(e.weight_dtype)};
  return {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1};
}

bool Quantized(DType d) { return GetDTypeInfo(d).quantized; }

// One-op bundles of `kind` with weights in `wtype`. Empty means this file cannot build the kind:
// the caller fails.
std::vector<Case> Cases(OpKind kind, DType wtype) {
  std::vector<Case> cases;
  const std::string dt = DTypeName(wtype);
  switch (kind) {
    case OpKind::Embedding: {
      // Rows of a quantized table are whole blocks: 3 and 5 blocks; float tables any width.
      const int64_t widths[2] = {Quantized(wtype) ? 96 : 33, Quantized(wtype) ? 160 : 7};
      for (int64_t H : widths) {
        OneOp b("embedding_" + dt + Str("_H", H));
        const int64_t V = 37;
        const uint32_t table = b.Constant("table", wtype, V, H);
        const uint32_t ids = b.Tensor("ids", DType::kI32, {T}, Storage::kInput, Fill::kIds);
        const uint32_t out = b.Tensor("out", DType::kF32, {T, H}, Storage::kOutput);
        cases.push_back(b.Finish(kind, {table, ids}, out, OpAttributes(), RowSteps(), static_cast<int32_t>(V)));
      }
      return cases;
    }
    case OpKind::RmsNorm:
    case OpKind::LayerNorm:
      // 161 columns: 33 rows reach the threaded path of the CPU kernels (rows * cols >= 4096).
      for (int64_t H : {7, 161}) {
        OneOp b(std::string(OpKindName(static_cast<uint16_t>(kind))) + Str("_H", H));
        const uint32_t x = b.Tensor("x", DType::kF32, {T, H}, Storage::kInput);
        std::vector<uint32_t> in = {x, b.Vector("weight", H)};
        if (kind == OpKind::LayerNorm) in.push_back(b.Vector("bias", H));
        const uint32_t out = b.Tensor("out", DType::kF32, {T, H}, Storage::kOutput);
        OpAttributes a;
        a.epsilon = H == 7 ? 1e-6f : 1e-5f;
        cases.push_back(b.Finish(kind, in, out, a, RowSteps()));
      }
      return cases;
    case OpKind::MatMul: {
      struct KN {
        int64_t K, N;
        bool bias;
      };
      // K: odd multiples of the block for quantized weights (256-value super-blocks for the
      // K-quants), odd sizes (vector tails) for float.
      const int64_t block = GetDTypeInfo(wtype).block_elems;
      const std::vector<KN> shapes = block > kQBlock ? std::vector<KN>{{256, 31, false}, {768, 67, true}, {256, 1, true}}
                                     : Quantized(wtype) ? std::vector<KN>{{96, 31, false}, {160, 67, true}, {32, 1, true}}
                                                        : std::vector<KN>{{33, 31, false}, {96, 67, true}, {1, 5, true}};
      for (const KN& s : shapes) {
        OneOp b("matmul_" + dt + Str("_K", s.K) + Str("_N", s.N) + (s.bias ? "_bias" : ""));
        const uint32_t x = b.Tensor("x", DType::kF32, {T, s.K}, Storage::kInput);
        std::vector<uint32_t> in = {x, b.Constant("w", wtype, s.N, s.K)};
        if (s.bias) in.push_back(b.Vector("bias", s.N));
        const uint32_t out = b.Tensor("out", DType::kF32, {T, s.N}, Storage::kOutput);
        cases.push_back(b.Finish(kind, in, out, OpAttributes(), RowSteps()));
      }
      return cases;
    }
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::SwiGlu:
    case OpKind::Gelu:
    case OpKind::Tanh:
    case OpKind::Softmax:
    case OpKind::L2Normalize: {
      const int n_in = kind == OpKind::Add || kind == OpKind::Mul || kind == OpKind::SwiGlu ? 2 : 1;
      // 513 columns: 33 rows pass the CPU kernels' threshold for threads (16384 elements), in
      // chunks of 1024 that end mid-row.
      for (int64_t W : {7, 513}) {
        OneOp b(std::string(OpKindName(static_cast<uint16_t>(kind))) + Str("_W", W));
        std::vector<uint32_t> in;
        for (int i = 0; i < n_in; ++i) in.push_back(b.Tensor(Str("x", i), DType::kF32, {T, W}, Storage::kInput));
        const uint32_t out = b.Tensor("out", DType::kF32, {T, W}, Storage::kOutput);
        cases.push_back(b.Finish(kind, in, out, OpAttributes(), RowSteps()));
      }
      return cases;
    }
    case OpKind::Rope: {
      struct R {
        uint32_t heads, head_dim;
        RopeStyle style;
        bool scaled;  // explicit (llama3-style) frequencies and an attention factor
      };
      for (const R& r : {R{3, 6, RopeStyle::kHalf, false}, R{5, 34, RopeStyle::kInterleaved, false},
                         R{1, 130, RopeStyle::kHalf, true}}) {
        OneOp b(Str("rope_heads", r.heads) + Str("_hd", r.head_dim) +
                (r.style == RopeStyle::kHalf ? "_half" : "_interleaved") + (r.scaled ? "_scaled" : ""));
        const int64_t W = static_cast<int64_t>(r.heads) * r.head_dim;
        const uint32_t x = b.Tensor("x", DType::kF32, {T, W}, Storage::kInput);
        const uint32_t positions = b.Tensor("positions", DType::kI32, {T}, Storage::kInput, Fill::kPositions);
        const uint32_t out = b.Tensor("out", DType::kF32, {T, W}, Storage::kOutput);
        OpAttributes a;
        a.n_heads = r.heads;
        a.head_dim = r.head_dim;
        a.rope_style = r.style;
        a.rope_theta = 500000.0f;
        if (r.scaled) {
          for (uint32_t i = 0; i < r.head_dim / 2; ++i) a.rope_inv_freq.push_back(1.0f / (1.0f + 0.37f * i));
          a.rope_attention_factor = 1.25f;
        }
        cases.push_back(b.Finish(kind, {x, positions}, out, a, RowSteps()));
      }
      return cases;
    }
    case OpKind::Attention: {
      struct A {
        uint32_t heads, kv_heads, head_dim;
        bool causal, mask;
      };
      // Grouped and not, a head size that is no multiple of 8 (vector tails), with and without
      // an additive mask; each runs a prefill, decode steps and a long step into a used cache.
      for (const A& c : {A{4, 2, 8, true, false}, A{6, 3, 33, true, true}, A{3, 1, 5, false, true},
                         A{2, 2, 64, true, false}, A{1, 1, 128, false, false}}) {
        OneOp b(Str("attention_heads", c.heads) + Str("_kv", c.kv_heads) + Str("_hd", c.head_dim) +
                (c.causal ? "_causal" : "_full") + (c.mask ? "_mask" : ""));
        const int64_t qw = static_cast<int64_t>(c.heads) * c.head_dim;
        const int64_t kvw = static_cast<int64_t>(c.kv_heads) * c.head_dim;
        std::vector<uint32_t> in = {b.Tensor("q", DType::kF32, {T, qw}, Storage::kInput),
                                    b.Tensor("k", DType::kF32, {T, kvw}, Storage::kInput),
                                    b.Tensor("v", DType::kF32, {T, kvw}, Storage::kInput),
                                    b.Tensor("k_cache", DType::kF32, {kContext, kvw}, Storage::kState),
                                    b.Tensor("v_cache", DType::kF32, {kContext, kvw}, Storage::kState)};
        if (c.mask) in.push_back(b.Tensor("mask", DType::kF32, {T, kContext}, Storage::kInput, Fill::kAttentionMask));
        const uint32_t out = b.Tensor("out", DType::kF32, {T, qw}, Storage::kOutput);
        OpAttributes a;
        a.n_heads = c.heads;
        a.n_kv_heads = c.kv_heads;
        a.head_dim = c.head_dim;
        a.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
        a.causal = c.causal;
        // 7 + 1 + 3 + 33 = 44 rows of the 48-row cache; the first step starts at 2 so that it
        // reads rows the op did not write (a cache from an earlier turn).
        cases.push_back(b.Finish(kind, in, out, a, {{7, 2}, {1, 9}, {3, 10}, {33, 13}}));
      }
      return cases;
    }
    case OpKind::Pool:
      for (PoolMode mode : {PoolMode::kMean, PoolMode::kFirst, PoolMode::kLast}) {
        for (bool masked : {false, true}) {
          if (masked && mode != PoolMode::kMean) continue;
          OneOp b(Str("pool_mode", static_cast<int>(mode)) + (masked ? "_mask" : ""));
          const int64_t H = 37;
          std::vector<uint32_t> in = {b.Tensor("x", DType::kF32, {T, H}, Storage::kInput)};
          if (masked) in.push_back(b.Tensor("mask", DType::kF32, {T}, Storage::kInput, Fill::kMask01));
          const uint32_t out = b.Tensor("out", DType::kF32, {1, H}, Storage::kOutput);
          OpAttributes a;
          a.pool_mode = mode;
          cases.push_back(b.Finish(kind, in, out, a, RowSteps()));
        }
      }
      return cases;
    case OpKind::Copy: {
      struct C {
        int64_t begin, count;
      };
      for (const C& r : {C{0, 0}, C{-1, 1}, C{1, 2}}) {
        OneOp b(Str("copy_begin", r.begin) + Str("_count", r.count));
        const int64_t W = 19;
        const uint32_t x = b.Tensor("x", DType::kF32, {T, W}, Storage::kInput);
        const std::vector<int64_t> out_shape = r.count == 0 ? std::vector<int64_t>{T, W} : std::vector<int64_t>{r.count, W};
        const uint32_t out = b.Tensor("out", DType::kF32, out_shape, Storage::kOutput);
        OpAttributes a;
        a.row_begin = r.begin;
        a.row_count = r.count;
        // A range needs the rows it names.
        cases.push_back(b.Finish(kind, {x}, out, a, RowSteps(r.begin >= 0 ? r.begin + r.count : -r.begin)));
      }
      return cases;
    }
  }
  return cases;  // a kind added to the schema after this switch: no builder
}

// ---- Running one op as the session does ---------------------------------------------------------

// The non-constant tensors of one bundle, in memory aligned as the arena aligns them.
struct Tensors {
  std::vector<Buffer> owned;
  std::vector<void*> data;

  explicit Tensors(const Bundle& bundle) {
    for (const TensorDesc& t : bundle.tensors()) {
      if (t.storage == Storage::kConstant) {
        owned.emplace_back();
        data.push_back(const_cast<uint8_t*>(t.data));
      } else {
        owned.push_back(AlignedBuffer(t.max_bytes, 64));
        data.push_back(owned.back().get());
      }
    }
  }
};

void ResolveDims(TensorArg* t, int64_t rows) {
  for (int i = 0; i < t->desc->rank; ++i) t->dims[i] = t->desc->Dim(i, rows);
}

// The OpCall Session::Create and Session::RunHostOps build for this op and step.
OpCall MakeCall(const Bundle& bundle, const OpDesc& op, const Tensors& tensors, KernelResources* res, Step step) {
  OpCall call;
  call.op = &op;
  call.res = res;
  call.n_in = static_cast<int>(op.inputs.size());
  for (int k = 0; k < call.n_in; ++k) {
    call.in[k].data = tensors.data[op.inputs[k]];
    call.in[k].desc = &bundle.tensors()[op.inputs[k]];
    ResolveDims(&call.in[k], step.rows);
  }
  call.out.data = tensors.data[op.outputs[0]];
  call.out.desc = &bundle.tensors()[op.outputs[0]];
  ResolveDims(&call.out, step.rows);
  call.n_tokens = step.rows;
  call.pos = step.pos;
  return call;
}

// Fills the bytes `t` holds at `rows` rows.
void FillTensor(const TensorDesc& t, int64_t rows, Fill fill, int32_t id_bound, std::mt19937* rng, void* dst) {
  const uint64_t n = t.Elements(rows);
  if (t.dtype == DType::kI32) {
    int32_t* p = static_cast<int32_t*>(dst);
    std::uniform_int_distribution<int32_t> dist(0, fill == Fill::kIds ? id_bound - 1 : 4095);
    for (uint64_t i = 0; i < n; ++i) p[i] = dist(*rng);
    return;
  }
  float* p = static_cast<float*>(dst);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (uint64_t i = 0; i < n; ++i) {
    switch (fill) {
      case Fill::kMask01: p[i] = (*rng)() % 4 == 0 ? 0.0f : 1.0f; break;
      // Every fifth score hidden: rows of 2 or more keys always keep one (a row hidden whole
      // gives NaN), and every step here reads at least 3 keys per row.
      case Fill::kAttentionMask: p[i] = (i % 5 == 3) ? -INFINITY : normal(*rng); break;
      default: p[i] = normal(*rng); break;
    }
  }
  if (fill == Fill::kMask01 && n > 0) p[0] = 1.0f;  // at least one row counts
}

// ---- Tolerances, per op and backend ----------------------------------------------------------------

// The allowed |got - want| of each output element; 0 means the same bits.
std::vector<double> Allowed(const KernelEntry& e, const OpCall& call, uint64_t n_out) {
  const OpKind kind = static_cast<OpKind>(e.op_kind);
  const bool cpu = e.backend == Backend::kCpu;
  switch (kind) {
    case OpKind::MatMul: {
      // Reference: dequantized weights, double accumulation. The CPU kernel adds in float in
      // another order: rounding relative to sum |x*w| (4e-6: a few ulps times sqrt(K) in the
      // worst lane). Quantized weights: the kernels round x to Q8_0 first (half a step of
      // amax(x)/127 per element), which ||x|| * ||w|| bounds with room to spare. CUDA may round x
      // to half precision on tensor cores: 2^-10 of sum |x*w|.
      const TensorArg& x = call.in[0];
      const TensorArg& w = call.in[1];
      const int64_t rows = x.Rows(), K = x.Cols(), N = w.dims[0];
      const float* bias = call.n_in == 3 ? static_cast<const float*>(call.in[2].data) : nullptr;
      const DType wt = w.desc->dtype;
      const size_t row_bytes = test::WeightRowBytes(wt, K);
      std::vector<double> allowed(n_out);
      std::vector<float> wrow(static_cast<size_t>(K));
      for (int64_t n = 0; n < N; ++n) {
        ref::DequantizeRow(wt, static_cast<const uint8_t*>(w.data) + n * row_bytes, wrow.data(), K);
        double w2 = 0;
        for (float v : wrow) w2 += static_cast<double>(v) * v;
        for (int64_t t = 0; t < rows; ++t) {
          const float* xr = static_cast<const float*>(x.data) + t * K;
          double abs_sum = 0, x2 = 0;
          for (int64_t k = 0; k < K; ++k) {
            abs_sum += std::fabs(static_cast<double>(xr[k]) * wrow[k]);
            x2 += static_cast<double>(xr[k]) * xr[k];
          }
          const double bias_ulp = bias ? 2e-7 * std::fabs(bias[n]) : 0.0;
          double a = (cpu ? 4e-6 : 1e-3) * abs_sum;
          if (Quantized(wt)) a = 0.01 * std::sqrt(x2 * w2);
          allowed[static_cast<size_t>(t * N + n)] = a + bias_ulp + 1e-6;
        }
      }
      return allowed;
    }
    case OpKind::Attention:
      // Outputs are convex combinations of v rows (|v| ~ 1); the kernels sum dot products and
      // the softmax in another order than the reference: absolute float rounding.
      return std::vector<double>(n_out, cpu ? 2e-5 : 1e-4);
    case OpKind::Gelu:
    case OpKind::SwiGlu:
      // The CPU computes these with its own vector erf and exp (a few ulp; tests/kernels/
      // activation_test.cpp bounds them per element), as other backends do.
      return std::vector<double>(n_out, 1e-5);
    case OpKind::Embedding:
    case OpKind::Copy:
      // Dequantizing or moving a row is exact on every backend.
      return std::vector<double>(n_out, 0.0);
    default:
      // The CPU entries of row-wise and element-wise ops run the reference kernel on ranges of
      // rows or elements: the same arithmetic, the same bits. Other backends have their own exp,
      // erf and reductions: a few ulps of values ~ 1.
      return std::vector<double>(n_out, cpu ? 0.0 : 1e-5);
  }
}

::testing::AssertionResult SameFloats(const char* what, const float* got, const float* want, uint64_t n,
                                      const std::vector<double>& allowed) {
  for (uint64_t i = 0; i < n; ++i) {
    const double bound = allowed.empty() ? 0.0 : allowed[i];
    const bool ok = bound == 0.0 ? std::memcmp(&got[i], &want[i], sizeof(float)) == 0
                                 : std::fabs(static_cast<double>(got[i]) - want[i]) <= bound;
    if (!ok) {
      return ::testing::AssertionFailure() << what << "[" << i << "] = " << got[i] << ", reference " << want[i]
                                           << (bound == 0.0 ? " (must be bit-identical)" : ", allowed ")
                                           << (bound == 0.0 ? "" : std::to_string(bound));
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- The walk ----------------------------------------------------------------------------------

std::vector<int> EntriesToWalk() {
  std::vector<int> idx;
  const Span<const KernelEntry> table = BuiltinKernels();
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].backend != Backend::kReference) idx.push_back(static_cast<int>(i));
  }
  return idx;
}

std::string EntryName(int index) {
  const KernelEntry& e = BuiltinKernels()[index];
  return std::string(OpKindName(e.op_kind)) + "_" +
         (e.weight_dtype == kAnyDType ? "any" : DTypeName(static_cast<DType>(e.weight_dtype))) + "_" +
         BackendName(e.backend) + "_" + std::to_string(index);
}

class KernelTableWalk : public ::testing::TestWithParam<int> {};

TEST_P(KernelTableWalk, MatchesReferenceThroughTheBinderPath) {
  const KernelEntry& entry = BuiltinKernels()[GetParam()];
  if (entry.backend != Backend::kCpu) {
    // Only the host runs here: a device entry needs the accelerator's memory, weight layout and
    // queue (tests/cuda checks those kernels against the reference on a GPU).
    GTEST_SKIP() << BackendName(entry.backend) << " entries run on device memory, which this host walk does not set up";
  }
  ASSERT_NE(entry.fn, nullptr);
  int ran = 0;
  for (DType wtype : WeightDTypes(entry)) {
    const std::vector<Case> cases = Cases(static_cast<OpKind>(entry.op_kind), wtype);
    ASSERT_FALSE(cases.empty()) << "no shape builder for op kind " << OpKindName(entry.op_kind)
                                << ": teach Cases() in " << __FILE__ << " to build it";
    for (const Case& c : cases) {
      SCOPED_TRACE(c.label);
      Buffer file = AlignedBuffer(c.file.size(), kSegmentAlignment);
      std::memcpy(file.get(), c.file.data(), c.file.size());
      auto loaded = Bundle::FromBuffer(file.get(), c.file.size());
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      const Bundle& bundle = *loaded.value();
      ASSERT_EQ(bundle.ops().size(), 1u);
      const OpDesc& op = bundle.ops()[0];
      // What Model::Bind checks before it looks the op up.
      const Status shapes = CheckOpShapes(bundle, op);
      ASSERT_TRUE(shapes.ok()) << shapes.ToString();
      if (entry.supports != nullptr && !entry.supports(bundle, op)) continue;
      // The binder reaches this entry for this op: an entry shadowed by an earlier one is dead.
      ASSERT_EQ(FindKernel(bundle, op, entry.backend, {}), &entry) << "FindKernel binds another entry to this op";
      const KernelEntry* reference = FindKernel(bundle, op, Backend::kReference, {});
      ASSERT_NE(reference, nullptr) << "no reference kernel for " << OpKindName(op.kind);

      for (int threads : {1, 3}) {
        SCOPED_TRACE(::testing::Message() << "threads=" << threads);
        auto made = cpu::ThreadPool::Create(threads);
        ASSERT_TRUE(made.ok()) << made.status().ToString();
        cpu::ThreadPool& pool = **made;
        KernelResources res[2];  // [0] the entry's, [1] the reference's
        Buffer scratch[2];
        const KernelEntry* fns[2] = {&entry, reference};
        for (int s = 0; s < 2; ++s) {
          res[s].pool = &pool;
          res[s].threads = pool.size();
          res[s].scratch_bytes = fns[s]->scratch ? fns[s]->scratch(bundle, op, res[s].threads) : 0;
          scratch[s] = AlignedBuffer(res[s].scratch_bytes, 64);
          res[s].scratch = res[s].scratch_bytes > 0 ? scratch[s].get() : nullptr;
        }
        Tensors got(bundle), want(bundle);
        std::mt19937 rng(static_cast<uint32_t>(GetParam() * 7919 + threads));
        // State (the KV cache) starts as an earlier turn left it: the same bytes on both sides.
        for (size_t t = 0; t < bundle.tensors().size(); ++t) {
          const TensorDesc& d = bundle.tensors()[t];
          if (d.storage != Storage::kState) continue;
          FillTensor(d, bundle.max_tokens(), Fill::kNormal, 0, &rng, got.data[t]);
          std::memcpy(want.data[t], got.data[t], d.max_bytes);
        }
        for (const Step& step : c.steps) {
          SCOPED_TRACE(::testing::Message() << "rows=" << step.rows << " pos=" << step.pos);
          for (size_t k = 0; k < op.inputs.size(); ++k) {
            const TensorDesc& d = bundle.tensors()[op.inputs[k]];
            if (d.storage == Storage::kConstant || d.storage == Storage::kState) continue;
            FillTensor(d, step.rows, c.fills[k], c.id_bound, &rng, got.data[op.inputs[k]]);
            std::memcpy(want.data[op.inputs[k]], got.data[op.inputs[k]], d.Elements(step.rows) * 4);
          }
          const TensorDesc& out = bundle.tensors()[op.outputs[0]];
          // A kernel that leaves part of its output unwritten shows as NaN.
          std::fill_n(static_cast<float*>(got.data[op.outputs[0]]), out.max_bytes / 4, NAN);
          std::fill_n(static_cast<float*>(want.data[op.outputs[0]]), out.max_bytes / 4, 0.0f);

          const OpCall call = MakeCall(bundle, op, got, &res[0], step);
          const Status st = entry.fn(call);
          ASSERT_TRUE(st.ok()) << st.ToString();
          const OpCall ref_call = MakeCall(bundle, op, want, &res[1], step);
          const Status ref_st = reference->fn(ref_call);
          ASSERT_TRUE(ref_st.ok()) << ref_st.ToString();

          const uint64_t n_out = out.Elements(step.rows);
          ASSERT_TRUE(SameFloats("out", static_cast<const float*>(call.out.data), static_cast<const float*>(ref_call.out.data),
                                 n_out, Allowed(entry, call, n_out)));
          // Whatever the op keeps (the KV cache) must match too: later steps read it.
          for (size_t t = 0; t < bundle.tensors().size(); ++t) {
            const TensorDesc& d = bundle.tensors()[t];
            if (d.storage != Storage::kState) continue;
            ASSERT_TRUE(SameFloats(d.name, static_cast<const float*>(got.data[t]), static_cast<const float*>(want.data[t]),
                                   d.max_bytes / 4, {}));
          }
        }
        ++ran;
      }
    }
  }
  EXPECT_GT(ran, 0) << "no case of " << OpKindName(entry.op_kind) << " passed the entry's supports fn: add shapes it takes";
}

INSTANTIATE_TEST_SUITE_P(BuiltinKernels, KernelTableWalk, ::testing::ValuesIn(EntriesToWalk()),
                         [](const ::testing::TestParamInfo<int>& info) { return EntryName(info.param); });

// Binding falls back to the reference for every op, and the walk above needs a shape builder for
// every kind: a kind added to the schema must come with both. The builders' bundles must pass
// what the binder checks, also for kinds that only another build's backends (CUDA) implement.
TEST(KernelTable, EveryOpKindHasAReferenceEntryAndAShapeBuilder) {
  for (int kind = 0; kind <= static_cast<int>(OpKind::MAX); ++kind) {
    SCOPED_TRACE(OpKindName(static_cast<uint16_t>(kind)));
    bool has_reference = false;
    for (const KernelEntry& e : BuiltinKernels()) {
      has_reference |= e.op_kind == kind && e.backend == Backend::kReference && e.fn != nullptr;
    }
    EXPECT_TRUE(has_reference);
    const std::vector<Case> cases = Cases(static_cast<OpKind>(kind), DType::kF32);
    EXPECT_FALSE(cases.empty()) << "no shape builder in " << __FILE__;
    for (const Case& c : cases) {
      auto loaded = Bundle::FromBuffer(c.file.data(), c.file.size());
      ASSERT_TRUE(loaded.ok()) << c.label << ": " << loaded.status().ToString();
      const Status shapes = CheckOpShapes(*loaded.value(), loaded.value()->ops()[0]);
      EXPECT_TRUE(shapes.ok()) << c.label << ": " << shapes.ToString();
    }
  }
}

}  // namespace
}  // namespace acorn

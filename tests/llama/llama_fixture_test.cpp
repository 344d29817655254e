// LLaMA-family checkpoints made by transformers (random weights, several configurations), converted
// with acorn-convert and run by the interpreter, against transformers' own logits and greedy ids.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "acorn/model.h"
#include "acorn_generated.h"
#include "interpreter/bound_graph.h"
#include "bundle_writer.h"
#include "cpu_kernels.h"
#include "model_test_util.h"
#include "npy.h"

namespace acorn {
namespace model_test {
namespace {

class LlamaFixture : public FixtureTest {
 protected:
  void SetUp() override {
    LoadFixture();
    ASSERT_FALSE(ref_.empty());
  }
};

TEST_P(LlamaFixture, F32MatchesTransformers) {
  const std::string bundle = Convert(GetParam(), "f32");
  for (Backend backend : {Backend::kCpu, Backend::kReference}) {
    ModelRun r = RunModel(bundle, prompt_, static_cast<int>(greedy_.size()), backend, 2);
    ASSERT_EQ(r.vocab, vocab_);
    const double rel = RelMaxDiff(r.logits, ref_);
    EXPECT_LE(rel, 1e-4) << BackendName(backend) << ": max |diff| / max |logit| = " << rel;
    EXPECT_EQ(r.greedy, greedy_) << BackendName(backend);
  }
}

TEST_P(LlamaFixture, ChunkedPrefillAndThreadsAgree) {
  // Steps of 3 tokens and of 8 tokens, 1 and 3 threads: same logits (up to float reordering).
  const std::string a = Convert(GetParam(), "f32", 3);
  ModelRun one = RunModel(a, prompt_, 0, Backend::kCpu, 1);
  ModelRun three = RunModel(Convert(GetParam(), "f32", 8), prompt_, 0, Backend::kCpu, 3);
  EXPECT_LE(RelMaxDiff(one.logits, ref_), 1e-4);
  EXPECT_LE(RelMaxDiff(three.logits, one.logits), 1e-5);
}

TEST_P(LlamaFixture, LastRowStepMatchesTheFullStep) {
  // Forward without all positions runs the row-wise tail (last MLP, final norm, LM head) on the last
  // row only: same logits for that row, up to the float reordering of a one-row product.
  auto model = Model::Load(Convert(GetParam(), "f32").c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_LT((*model)->bound().tail_begin, static_cast<int>((*model)->bound().ops.size()));
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const int64_t n = static_cast<int64_t>(prompt_.size());
  std::vector<float> all(static_cast<size_t>(n * vocab_)), last(static_cast<size_t>(vocab_));
  ASSERT_TRUE((*session)->Forward(prompt_.data(), n, all.data(), true).ok());
  (*session)->Reset();
  ASSERT_TRUE((*session)->Forward(prompt_.data(), n, last.data(), false).ok());
  EXPECT_LE(RelMaxDiff(last, std::vector<float>(all.end() - vocab_, all.end())), 1e-5);
}

// Quantized weights. The reference kernels multiply by exactly the dequantized weights (and match
// transformers to 1e-4 on float weights, above), so the reference backend run on the same bundle is
// the dequantized-weight reference. The optimized CPU kernels differ from it only by quantizing
// activations to int8 blocks (as llama.cpp does): that bound is tight. Against the float model the
// bound is loose for q4_0: these random-weight models amplify weight noise strongly (docs/ACCURACY.md).
struct QuantBound {
  const char* dtype;
  double min_cosine_vs_dequantized;
  double max_rel_vs_dequantized;
  double min_cosine_vs_float;
};

TEST_P(LlamaFixture, QuantizedWithinBounds) {
  for (const QuantBound& q : {QuantBound{"f16", 0.999999, 1e-5, 0.9999}, QuantBound{"q8_0", 0.99, 0.25, 0.99},
                              QuantBound{"q4_0", 0.99, 0.25, 0.25}}) {
    const std::string bundle = Convert(GetParam(), q.dtype);
    ModelRun dequantized = RunModel(bundle, prompt_, 0, Backend::kReference, 1);
    ModelRun fast = RunModel(bundle, prompt_, 0, Backend::kCpu, 2);
    const double cos_deq = MinRowCosine(fast.logits, dequantized.logits, vocab_);
    const double rel = RelMaxDiff(fast.logits, dequantized.logits);
    const double cos = MinRowCosine(fast.logits, ref_, vocab_);
    std::printf("[ measured ] %s %s: vs dequantized: min cosine %.6f, max rel %.2e; vs float: min cosine %.6f\n",
                GetParam(), q.dtype, cos_deq, rel, cos);
    EXPECT_GE(cos_deq, q.min_cosine_vs_dequantized) << q.dtype;
    EXPECT_LE(rel, q.max_rel_vs_dequantized) << q.dtype;
    EXPECT_GE(cos, q.min_cosine_vs_float) << q.dtype;
  }
}

// Where the CPU repacks matrices at load (16-row panels, cpu::MatMulRepacks), a model gives the
// logits it gives reading the bundle in place (ModelOptions::cpu_repack = false): the kernels do
// the same integer products and differ only in the order of float additions.
TEST_P(LlamaFixture, RepackedWeightsGiveTheLogitsOfMappedOnes) {
  const std::pair<const char*, DType> types[] = {{"q8_0", DType::kQ8_0}, {"q4_0", DType::kQ4_0}, {"q4_1", DType::kQ4_1},
                                                 {"q5_0", DType::kQ5_0}, {"q5_1", DType::kQ5_1}};
  for (const auto& [dtype, type] : types) {
    const std::string bundle = Convert(GetParam(), dtype);
    ModelOptions repacked, in_place;
    in_place.cpu_repack = false;
    auto model = Model::Load(bundle.c_str(), repacked);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    int panels = 0;
    for (const BoundOp& b : (*model)->bound().ops) {
      if (b.weight_layout != WeightLayout::kRowPanels16) continue;
      ++panels;
      // Every copy in the one allocation (large pages for the small matrices too), at a page.
      const LargeBuffer& all = *(*model)->bound().repacked.front();
      const uint8_t* p = static_cast<const uint8_t*>(b.weights);
      EXPECT_TRUE(p >= static_cast<const uint8_t*>(all.data) && p < static_cast<const uint8_t*>(all.data) + all.size);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
    }
    EXPECT_EQ(panels > 0, cpu::MatMulRepacks(type)) << dtype;
    EXPECT_EQ((*model)->bound().repacked.size(), panels > 0 ? 1u : 0u) << dtype;
    ModelRun a = RunModel(bundle, prompt_, 0, repacked, 2);
    ModelRun b = RunModel(bundle, prompt_, 0, in_place, 3);
    // Float rounding apart, but these random-weight models amplify it layer after layer (an
    // activation that lands on the other side of a rounding step to int8 moves the next layer).
    EXPECT_GE(MinRowCosine(a.logits, b.logits, vocab_), 0.9999) << dtype;
    EXPECT_LE(RelMaxDiff(a.logits, b.logits), 0.02) << dtype;
  }
}

// ModelOptions::cpu_bf16_products: where the tile unit multiplies bf16 (cpu::IsaHasBf16Tiles),
// every f32/f16 matrix of a CPU product is copied into bf16 panels and the logits stay within bf16
// rounding of the f32 ones; elsewhere nothing is copied and the logits are the f32 ones exactly,
// and then the same bf16 products run through the portable path (cpu::EmulateBf16Products), so
// that the runtime's side of them is tested on every CPU.
TEST_P(LlamaFixture, Bf16ProductsWhereTheTileUnitHasThem) {
  const bool tiles = cpu::IsaHasBf16Tiles(cpu::ActiveIsa());
  for (bool emulate : {false, true}) {
    if (emulate && tiles) break;
    cpu::EmulateBf16Products(emulate);
    for (const char* dtype : {"f32", "f16"}) {
      SCOPED_TRACE(::testing::Message() << dtype << (emulate ? ", portable path" : ""));
      const std::string bundle = Convert(GetParam(), dtype);
      ModelOptions bf16, f32;
      bf16.cpu_bf16_products = true;
      auto model = Model::Load(bundle.c_str(), bf16);
      ASSERT_TRUE(model.ok()) << model.status().ToString();
      int products = 0, copied = 0;
      for (const BoundOp& b : (*model)->bound().ops) {
        if (b.op->kind != static_cast<uint16_t>(fb::OpKind::MatMul)) continue;
        ++products;
        copied += b.weight_layout == WeightLayout::kBf16Panels16;
      }
      EXPECT_GT(products, 0);
      const bool bf16_runs = tiles || emulate;
      EXPECT_EQ(copied, bf16_runs ? products : 0);
      ModelRun a = RunModel(bundle, prompt_, 0, bf16, 2);
      ModelRun b = RunModel(bundle, prompt_, 0, f32, 2);
      if (!bf16_runs) {
        EXPECT_EQ(a.logits, b.logits);
        continue;
      }
      std::printf("[ bf16     ] %s %s%s: min row cosine %.6f, max rel %.2e against f32 products\n", GetParam(), dtype,
                  emulate ? " (portable path)" : "", MinRowCosine(a.logits, b.logits, vocab_),
                  RelMaxDiff(a.logits, b.logits));
      EXPECT_GE(MinRowCosine(a.logits, b.logits, vocab_), 0.999);
      EXPECT_NE(a.logits, b.logits) << "the bf16 products ran";
    }
  }
  cpu::EmulateBf16Products(false);
}

// SessionOptions::profile: every op the host ran, by name with the layer folded, its time per
// step and share; the report covers the steps since the last call, and is empty without profiling.
TEST(HostProfile, ReportsEveryOpOfTheStepsSinceTheLastCall) {
  const std::string bundle = Convert(kFixtures[0], "q8_0");
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (bool profile : {false, true}) {
    SessionOptions so;
    so.threads = 2;
    so.profile = profile;
    auto session = Session::Create(*model, so);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    Session& s = **session;
    const int32_t prompt[3] = {1, 2, 3};
    ASSERT_TRUE(s.Forward(prompt, 3, nullptr, false).ok());
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(s.Forward(&prompt[i], 1, nullptr, false).ok());
    const std::string report = s.HostProfile();
    if (!profile) {
      EXPECT_EQ(report, "");
      continue;
    }
    EXPECT_NE(report.find("host op profile over 3 steps"), std::string::npos) << report;
    EXPECT_NE(report.find("| blk.N.attn_q | MatMul | q8_0 | "), std::string::npos) << report;
    EXPECT_NE(report.find("| blk.N.attention | Attention | - | "), std::string::npos) << report;
    EXPECT_EQ(report.find("blk.0."), std::string::npos) << report;
    // Shares add up to the whole (each printed to 0.1 %).
    double shares = 0;
    int lines = 0;
    for (size_t at = report.find(" %"); at != std::string::npos; at = report.find(" %", at + 1)) {
      const size_t bar = report.rfind("| ", at);
      shares += std::stod(report.substr(bar + 2, at - bar - 2));
      ++lines;
    }
    EXPECT_GT(lines, 5);
    EXPECT_NEAR(shares, 100.0, 0.05 * lines + 0.01) << report;
    EXPECT_EQ(s.HostProfile(), "");  // nothing ran since
    ASSERT_TRUE(s.Forward(prompt, 1, nullptr, false).ok());
    EXPECT_NE(s.HostProfile().find("host op profile over 1 steps"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LlamaFixture, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

TEST(LlamaLongPrompt, ChunkedPrefillOf300Tokens) {
  const std::string dir = FixtureDir("tiny_mqa_big_context");
  const std::vector<int32_t> prompt = Ids(ReadJson(dir + "/long_prompt.json")["tokens"]);
  auto expected = ReadNpy(dir + "/long_logits.npy");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ModelRun r = RunModel(Convert("tiny_mqa_big_context", "f32", 16, 512), prompt, 0, Backend::kCpu, 2);
  const std::vector<float> last(r.logits.end() - r.vocab, r.logits.end());
  EXPECT_LE(RelMaxDiff(last, expected->data), 1e-4);
}

// The CPU backend's row-wise kernels (norms, RoPE, residual adds) run the reference kernels on each
// thread's rows: with the matrix products, attention and SwiGLU (its vector exp: see
// tests/kernels/activation_test.cpp) on the reference kernels too (their CPU kernels hidden), a
// long prompt on 3 threads gives the reference backend's logits bit for bit.
TEST(LlamaCpuRowOps, EqualTheReferenceBitForBit) {
  const std::string dir = FixtureDir("tiny_mqa_big_context");
  const std::vector<int32_t> prompt = Ids(ReadJson(dir + "/long_prompt.json")["tokens"]);
  const std::string bundle = Convert("tiny_mqa_big_context", "f32", 512, 512);
  ModelOptions mo;
  mo.backends = {Backend::kCpu};
  mo.custom_kernels = {
      KernelEntry{static_cast<uint16_t>(fb::OpKind::MatMul), kAnyDType, Backend::kCpu, nullptr, nullptr},
      KernelEntry{static_cast<uint16_t>(fb::OpKind::Attention), kAnyDType, Backend::kCpu, nullptr, nullptr},
      KernelEntry{static_cast<uint16_t>(fb::OpKind::SwiGlu), kAnyDType, Backend::kCpu, nullptr, nullptr}};
  auto model = Model::Load(bundle.c_str(), mo);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int cpu_ops = 0;
  for (const BoundOp& b : (*model)->bound().ops) cpu_ops += b.kernel->backend == Backend::kCpu;
  EXPECT_GT(cpu_ops, 0);
  ModelRun cpu = RunModel(bundle, prompt, 0, mo, 3);
  ModelRun ref = RunModel(bundle, prompt, 0, Backend::kReference, 1);
  EXPECT_EQ(cpu.logits, ref.logits);
}

TEST(LlamaContext, PositionBeyondContextIsRefused) {
  const std::string bundle = Convert("mha_untied", "f32", 4, 8);
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  std::vector<int32_t> ids(9, 1);
  std::vector<float> logits(static_cast<size_t>((*model)->vocab_size()));
  Status st = (*session)->Forward(ids.data(), 9, logits.data(), false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange);
  EXPECT_NE(st.message().find("context of 8"), std::string::npos) << st.message();
  EXPECT_EQ((*session)->position(), 0) << "a refused prompt leaves the session unchanged";
  ASSERT_TRUE((*session)->Forward(ids.data(), 8, logits.data(), false).ok());
  st = (*session)->Forward(ids.data(), 1, logits.data(), false);
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange) << st.ToString();
  (*session)->Reset();
  EXPECT_TRUE((*session)->Forward(ids.data(), 1, logits.data(), false).ok());
}

TEST(LlamaSession, CallerArenaTooSmallIsRefused) {
  auto model = Model::Load(Convert("mha_untied", "f32").c_str());
  ASSERT_TRUE(model.ok());
  alignas(64) static uint8_t small[1024];
  SessionOptions so;
  so.arena = small;
  so.arena_bytes = sizeof small;
  auto session = Session::Create(*model, so);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kOutOfMemory);
  EXPECT_NE(session.status().message().find("too small"), std::string::npos);
  EXPECT_NE(session.status().message().find("Session::ArenaBytes"), std::string::npos);
  // Enough caller memory works: the planned tensors and, after them, the kernels' scratch.
  so.threads = 2;
  const uint64_t need = Session::ArenaBytes(**model, so.threads);
  EXPECT_GT(need, (*model)->plan().arena_bytes) << "attention has scratch: it must be counted";
  std::vector<uint8_t> memory(need + 64);
  so.arena = memory.data() + (64 - reinterpret_cast<uintptr_t>(memory.data()) % 64) % 64;
  so.arena_bytes = need - 1;
  EXPECT_FALSE(Session::Create(*model, so).ok()) << "one byte short of ArenaBytes was taken";
  so.arena_bytes = need;
  auto ok = Session::Create(*model, so);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
}

// A step that fails part-way through a prompt (here an id outside the vocabulary in its second chunk)
// once left the position advanced past the first chunk.
TEST(LlamaSession, FailedForwardLeavesThePositionUnchanged) {
  const std::string bundle = Convert("mha_untied", "f32", 4, 32);
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const int32_t vocab = static_cast<int32_t>((*model)->vocab_size());
  std::vector<float> logits(static_cast<size_t>(vocab));
  ASSERT_TRUE((*session)->Forward(std::vector<int32_t>{1, 2}.data(), 2, logits.data(), false).ok());
  std::vector<int32_t> ids = {3, 4, 5, 6, 7, vocab + 5};
  Status st = (*session)->Forward(ids.data(), static_cast<int64_t>(ids.size()), logits.data(), false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange) << st.ToString();
  EXPECT_EQ((*session)->position(), 2) << "a failed Forward must leave the position where it was";
  // And the session goes on as if the failed call had never happened.
  ids.back() = 8;
  ASSERT_TRUE((*session)->Forward(ids.data(), static_cast<int64_t>(ids.size()), logits.data(), false).ok());
  auto fresh = Session::Create(*model);
  ASSERT_TRUE(fresh.ok());
  std::vector<float> want(static_cast<size_t>(vocab));
  std::vector<int32_t> all = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE((*fresh)->Forward(all.data(), 8, want.data(), false).ok());
  EXPECT_EQ(logits, want);
}

// Asking for more threads than a pool may start was a std::system_error abort.
TEST(LlamaSession, AbsurdThreadCountIsAnError) {
  auto model = Model::Load(Convert("mha_untied", "f32").c_str());
  ASSERT_TRUE(model.ok());
  SessionOptions so;
  so.threads = 1 << 24;
  auto session = Session::Create(*model, so);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(session.status().message().find("threads"), std::string::npos) << session.status().message();
}

// A mapped bundle whose FlatBuffer (op attributes, names, shapes) is overwritten in place while a
// session runs: steps read only weights from the mapping, so they go on, with the same logits. This
// crashed when kernels read op attributes from the mapping at every step.
TEST(LlamaSession, HeaderRewrittenInPlaceWhileMappedDoesNotCrash) {
  const std::string bundle = Convert("mha_untied", "f32", 4, 32);
  const std::string copy = ::testing::TempDir() + "/rewritten_in_place.acorn";
  ASSERT_EQ(RunCommand("cp '" + bundle + "' '" + copy + "'"), 0);
  auto model = Model::Load(copy.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_TRUE((*model)->bundle().is_mapped());
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const size_t vocab = static_cast<size_t>((*model)->vocab_size());
  std::vector<float> before(vocab), after(vocab);
  const std::vector<int32_t> ids = {1, 2, 3};
  ASSERT_TRUE((*session)->Forward(ids.data(), 3, before.data(), false).ok());
  {
    // Overwrite the whole FlatBuffer (everything before the first segment) with 0xff bytes.
    const uint64_t header = (*model)->bundle().segments().at(0).file_offset;
    FILE* f = std::fopen(copy.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::vector<uint8_t> junk(static_cast<size_t>(header), 0xff);
    ASSERT_EQ(std::fwrite(junk.data(), 1, junk.size(), f), junk.size());
    std::fclose(f);
  }
  (*session)->Reset();
  ASSERT_TRUE((*session)->Forward(ids.data(), 3, after.data(), false).ok());
  EXPECT_EQ(before, after);
  std::remove(copy.c_str());
}

// An arena larger than the machine's memory is refused when the session is created. With memory
// overcommit the allocation itself would "succeed" and the process be killed at the first touch.
TEST(LlamaSession, ArenaLargerThanMemoryIsRefused) {
  BundleWriter w;
  w.SetLimits(4, 1u << 20);
  auto x = w.AddTensor("x", DType::kF32, {kTokensDim, 8}, Storage::kInput);
  auto out = w.AddTensor("out", DType::kF32, {kTokensDim, 8}, Storage::kOutput);
  // 2^20 rows of 2^22 floats: 16 TiB of state, within what a bundle may declare.
  auto big = w.AddTensor("cache", DType::kF32, {int64_t{1} << 20, int64_t{1} << 22}, Storage::kState);
  ASSERT_TRUE(x.ok() && out.ok() && big.ok());
  ASSERT_TRUE(w.AddOp(fb::OpKind::Add, {*x, *x}, {*out}).ok());
  auto bytes = w.WriteToMemory();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto bundle = Bundle::FromBuffer(bytes->data(), bytes->size());
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  auto model = Model::FromBundle(std::move(bundle).value());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = Session::Create(*model);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kOutOfMemory);
  EXPECT_NE(session.status().message().find("memory"), std::string::npos) << session.status().message();
}

TEST(LlamaRunTool, WritesNpyAndGreedy) {
  const std::string dir = FixtureDir("mha_untied");
  const std::vector<int32_t> prompt = Ids(ReadJson(dir + "/prompt.json")["tokens"]);
  const std::vector<int32_t> greedy = Ids(ReadJson(dir + "/greedy.json")["greedy"]);
  std::string ids;
  for (int32_t t : prompt) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const std::string npy = ::testing::TempDir() + "/run_tool_logits.npy";
  const std::string out = ::testing::TempDir() + "/run_tool_out.txt";
  const std::string cmd = std::string(ACORN_RUN_BIN) + " --model " + Convert("mha_untied", "f32") + " --tokens " + ids +
                          " --logits-out " + npy + " --greedy " + std::to_string(greedy.size()) + " --threads 2 > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  std::string want;
  for (int32_t t : greedy) want += (want.empty() ? "" : ",") + std::to_string(t);
  EXPECT_EQ(line, want);
  auto logits = ReadNpy(npy);
  ASSERT_TRUE(logits.ok());
  ASSERT_EQ(logits->shape.size(), 2u);
  EXPECT_EQ(logits->shape[0], static_cast<int64_t>(prompt.size()));
  auto ref = ReadNpy(dir + "/logits.npy");
  EXPECT_LE(RelMaxDiff(logits->data, ref->data), 1e-4);
}

}  // namespace
}  // namespace model_test
}  // namespace acorn

// GGUF files made from the transformers fixtures (scripts/gguf/make_gguf_fixtures.py), converted by
// acorn-convert: float files reproduce transformers' logits, quantized files arrive byte for byte,
// metadata, chat template and tokenizer come along, and unsupported tensor types are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/model.h"
#include "acorn/tokenizer.h"
#include "gguf_reader.h"
#include "gguf_test_util.h"
#include "gguf_weights.h"
#include "model_test_util.h"
#include "npy.h"
#include "quant_presets.h"
#include "reference_kernels.h"
#include "tokenizer/tokenizer_bundle.h"

namespace acorn {
namespace {

using gguf_test::Convert;
using gguf_test::GgufFixture;
using gguf_test::LlamaFixture;

// Converts a fixture once per (file, extra flags); the bundle lands in the test temp dir.
std::string ConvertFixture(const std::string& gguf, const std::string& extra = "") {
  static std::map<std::string, std::string> cache;
  const std::string key = gguf + "|" + extra;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::string tag = extra;
  std::replace_if(tag.begin(), tag.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  const std::string out = ::testing::TempDir() + "/gguf_" + gguf + tag + ".acorn";
  auto r = Convert(GgufFixture(gguf), out, "--max-tokens 8 " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  cache[key] = out;
  return out;
}

using model_test::MinRowCosine;
using model_test::ModelRun;
using model_test::RelMaxDiff;

ModelRun RunModel(const std::string& bundle, const std::vector<int32_t>& prompt, Backend backend, int greedy = 0) {
  return model_test::RunModel(bundle, prompt, greedy, backend);
}

using model_test::LoadReference;
using model_test::Reference;

// Float GGUFs (weights exact: F32, and BF16 of a bf16 checkpoint) give transformers' logits.
TEST(GgufConvert, FloatFilesMatchTransformers) {
  const std::pair<const char*, const char*> cases[] = {{"mha_untied.f32.gguf", "mha_untied"},
                                                       {"gqa_tied_llama3.f32.gguf", "gqa_tied_llama3"},
                                                       {"gqa_tied_llama3.bf16.gguf", "gqa_tied_llama3"}};
  for (const auto& c : cases) {
    const Reference ref = LoadReference(c.second);
    ASSERT_FALSE(ref.prompt.empty());
    const std::string bundle = ConvertFixture(c.first);
    for (Backend backend : {Backend::kCpu, Backend::kReference}) {
      ModelRun r = RunModel(bundle, ref.prompt, backend, static_cast<int>(ref.greedy.size()));
      const double rel = RelMaxDiff(r.logits, ref.logits);
      EXPECT_LE(rel, 1e-4) << c.first << " on " << BackendName(backend) << ": max |diff| / max |logit| = " << rel;
      EXPECT_EQ(r.greedy, ref.greedy) << c.first << " on " << BackendName(backend);
    }
  }
}

TEST(GgufConvert, F16FileStaysF16AndIsClose) {
  const std::string bundle = ConvertFixture("mha_untied.f16.gguf");
  auto b = Bundle::Open(bundle.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const int q = (*b)->FindTensor("blk.0.attn_q.weight");
  ASSERT_GE(q, 0);
  EXPECT_EQ((*b)->tensors()[q].dtype, DType::kF16);
  const Reference ref = LoadReference("mha_untied");
  ModelRun r = RunModel(bundle, ref.prompt, Backend::kCpu);
  EXPECT_LE(RelMaxDiff(r.logits, ref.logits), 5e-3);
}

// The bundle tensor that holds a GGUF tensor: the builder drops ".weight" from non-Linear tensors.
int FindBundleTensor(const Bundle& b, const std::string& gguf_name) {
  int i = b.FindTensor(gguf_name.c_str());
  const std::string suffix = ".weight";
  if (i < 0 && gguf_name.size() > suffix.size()) {
    i = b.FindTensor(gguf_name.substr(0, gguf_name.size() - suffix.size()).c_str());
  }
  return i;
}

// GGUF row holding HF row r of a q/k matrix (convert_hf_to_gguf.py's permute, inverted).
int64_t PermutedRow(int64_t r, int64_t head_dim) {
  const int64_t h = r / head_dim, rem = r % head_dim, half = head_dim / 2;
  return h * head_dim + 2 * (rem % half) + rem / half;
}

// Every matrix of the GGUF arrives with its own type (`dtype` when given: the file's one type) and
// its bytes as they are.
void ExpectSameBlocks(const std::string& gguf_name, const DType* dtype) {
  auto g = convert::GgufFile::Open(GgufFixture(gguf_name));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto b = Bundle::Open(ConvertFixture(gguf_name).c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const int64_t head_dim = 16;  // mha_untied: hidden 64, 4 heads
  int checked = 0;
  for (const convert::GgufTensor& t : (*g)->tensors()) {
    const int i = FindBundleTensor(**b, t.name);
    ASSERT_GE(i, 0) << t.name << " is not in the bundle";
    const TensorDesc& d = (*b)->tensors()[i];
    ASSERT_EQ(d.max_bytes, t.bytes) << t.name;
    if (t.ne.size() == 1) continue;  // norms: f32 both sides, compared by the logits tests
    auto own = convert::DTypeFromGgml(t);
    ASSERT_TRUE(own.ok()) << own.status().ToString();
    EXPECT_EQ(d.dtype, dtype != nullptr ? *dtype : *own) << t.name;
    EXPECT_EQ(d.dtype, *own) << t.name;
    const bool permuted = t.name.find("attn_q.weight") != std::string::npos || t.name.find("attn_k.weight") != std::string::npos;
    const uint64_t row = t.bytes / t.ne[1];
    for (uint64_t r = 0; r < t.ne[1]; ++r) {
      const uint64_t from = permuted ? static_cast<uint64_t>(PermutedRow(static_cast<int64_t>(r), head_dim)) : r;
      ASSERT_EQ(std::memcmp(d.data + r * row, t.data + from * row, row), 0) << t.name << " row " << r;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2 * 7 + 2);  // 7 matrices per layer, token_embd, output
}

TEST(GgufConvert, Q8_0BlocksAreCopiedByteForByte) {
  const DType t = DType::kQ8_0;
  ExpectSameBlocks("mha_untied.q8_0.gguf", &t);
}
TEST(GgufConvert, Q4_0BlocksAreCopiedByteForByte) {
  const DType t = DType::kQ4_0;
  ExpectSameBlocks("mha_untied.q4_0.gguf", &t);
}

// mha_untied.mixed.gguf: an F16 output matrix, Q5_1 embeddings, and Q4_1, Q5_0, Q5_1, Q4_0, Q8_0
// matrices in the layers. Each keeps its type and bytes.
TEST(GgufConvert, MixedFileKeepsEachTensorsTypeByteForByte) {
  ExpectSameBlocks("mha_untied.mixed.gguf", nullptr);
  auto b = Bundle::Open(ConvertFixture("mha_untied.mixed.gguf").c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::map<DType, int> seen;
  for (const TensorDesc& d : (*b)->tensors()) {
    if (d.storage == Storage::kConstant && d.rank == 2) ++seen[d.dtype];
  }
  for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1}) {
    EXPECT_GT(seen[t], 0) << DTypeName(t);
  }
}

// The mixed file against the same model dequantized to f32 (acorn-convert --dtype f32 of the same
// file: every value exactly what the blocks hold). The reference kernels dequantize and accumulate
// in double either way, so their logits agree to float rounding. The default cpu backend (which
// runs every block type with int8 activations)
// stays within the bounds used for quantized bundles elsewhere.
TEST(GgufConvert, MixedFileRunsLikeItsDequantizedSelf) {
  const Reference ref = LoadReference("mha_untied");
  const std::string mixed = ConvertFixture("mha_untied.mixed.gguf");
  const std::string f32 = ConvertFixture("mha_untied.mixed.gguf", "--dtype f32");
  ModelRun want = RunModel(f32, ref.prompt, Backend::kReference);
  ModelRun exact = RunModel(mixed, ref.prompt, Backend::kReference);
  EXPECT_LE(RelMaxDiff(exact.logits, want.logits), 1e-6);
  ModelRun cpu = RunModel(mixed, ref.prompt, Backend::kCpu);
  const double rel = RelMaxDiff(cpu.logits, want.logits);
  const double cos = MinRowCosine(cpu.logits, want.logits, want.vocab);
  std::printf("[ measured ] mha_untied.mixed.gguf on cpu vs dequantized f32: max rel %.2e, min cosine %.6f\n", rel, cos);
  EXPECT_LE(rel, 0.25);
  EXPECT_GE(cos, 0.99);
  // Against transformers' float model: the quantization error of the mix itself, no larger than
  // that of the file quantized to Q4_0 throughout (this small model amplifies weight noise: see
  // docs/ACCURACY.md), since every type of the mix has at least Q4_0's precision.
  const double cos_mixed = MinRowCosine(exact.logits, ref.logits, ref.vocab);
  ModelRun q4 = RunModel(ConvertFixture("mha_untied.q4_0.gguf"), ref.prompt, Backend::kReference);
  const double cos_q4 = MinRowCosine(q4.logits, ref.logits, ref.vocab);
  std::printf("[ measured ] vs transformers: mixed min cosine %.6f, all q4_0 %.6f\n", cos_mixed, cos_q4);
  EXPECT_GE(cos_mixed, cos_q4);
  // "cuda,cpu": CUDA takes the f16/q8_0/q4_0 matrices, the legacy types (and the q5_1 embedding
  // table) fall to the host. Without CUDA (this build or this machine) everything runs on the host.
  ModelOptions mo;
  mo.backends = {Backend::kCuda, Backend::kCpu};
  ModelRun both = model_test::RunModel(mixed, ref.prompt, 0, mo);
  const double cos2 = MinRowCosine(both.logits, want.logits, want.vocab);
  std::printf("[ measured ] mha_untied.mixed.gguf on cuda,cpu vs dequantized f32: max rel %.2e, min cosine %.6f\n",
              RelMaxDiff(both.logits, want.logits), cos2);
  EXPECT_LE(RelMaxDiff(both.logits, want.logits), 0.25);
  EXPECT_GE(cos2, 0.99);
}

// The same model converted from the Hugging Face checkpoint by acorn-convert --dtype X.
std::string ConvertCheckpoint(const std::string& fixture, const std::string& dtype) {
  const std::string out = ::testing::TempDir() + "/gguf_hf_" + fixture + "_" + dtype + ".acorn";
  auto r = Convert(LlamaFixture(fixture), out, "--max-tokens 8 --dtype " + dtype);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return out;
}

// Quantized GGUFs whose blocks were made by gguf-py's quantizers (ggml's reference formulas) run
// exactly like the checkpoint quantized by acorn itself: same blocks, same logits. On the GGUF
// bundle the optimized kernels also stay close to the reference kernels (bounds as tests/llama).
TEST(GgufConvert, QuantizedFilesRunLikeAcornsOwnQuantization) {
  const Reference ref = LoadReference("mha_untied");
  for (const char* dtype : {"f16", "q8_0", "q4_0"}) {
    const std::string gguf = ConvertFixture(std::string("mha_untied.") + dtype + ".gguf");
    ModelRun from_gguf = RunModel(gguf, ref.prompt, Backend::kCpu);
    ModelRun from_hf = RunModel(ConvertCheckpoint("mha_untied", dtype), ref.prompt, Backend::kCpu);
    EXPECT_LE(RelMaxDiff(from_gguf.logits, from_hf.logits), 1e-6) << dtype;
    ModelRun exact = RunModel(gguf, ref.prompt, Backend::kReference);
    const double rel = RelMaxDiff(from_gguf.logits, exact.logits);
    const double cos = MinRowCosine(from_gguf.logits, exact.logits, exact.vocab);
    std::printf("[ measured ] mha_untied.%s.gguf: vs reference kernels: max rel %.2e, min cosine %.6f\n", dtype, rel, cos);
    EXPECT_LE(rel, 0.25) << dtype;
    EXPECT_GE(cos, 0.99) << dtype;
  }
}

// Root-mean-square of (dequantized matrix - float matrix) over every matrix of `bundle`, relative
// to the RMS of the float weights of `f32_bundle` (the same checkpoint at --dtype f32).
double RelativeWeightError(const std::string& bundle, const std::string& f32_bundle) {
  auto q = Bundle::Open(bundle.c_str());
  auto f = Bundle::Open(f32_bundle.c_str());
  EXPECT_TRUE(q.ok() && f.ok());
  if (!q.ok() || !f.ok()) return INFINITY;
  double err = 0, norm = 0;
  for (const TensorDesc& d : (*q)->tensors()) {
    if (d.storage != Storage::kConstant || d.rank != 2) continue;
    const TensorDesc& w = (*f)->tensors()[(*f)->FindTensor(d.name)];
    const int64_t rows = d.shape[0], cols = d.shape[1];
    std::vector<float> row(static_cast<size_t>(cols));
    const uint64_t row_bytes = d.max_bytes / static_cast<uint64_t>(rows);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_TRUE(ref::DequantizeRow(d.dtype, d.data + r * row_bytes, row.data(), cols));
      const float* want = reinterpret_cast<const float*>(w.data) + r * cols;
      for (int64_t c = 0; c < cols; ++c) {
        err += (row[c] - want[c]) * static_cast<double>(row[c] - want[c]);
        norm += static_cast<double>(want[c]) * want[c];
      }
    }
  }
  return std::sqrt(err / norm);
}

// acorn-convert --dtype q4_1 / q5_0 / q5_1 from the Hugging Face checkpoint: every matrix in that
// type, with the weight error these types should have next to q4_0's (q4_1: a step of
// (max - min) / 15 against q4_0's amax / 8, so about the same; 5-bit types: about half), and the
// model runs on the default cpu backend (these matrices on the reference kernels) as on the
// reference backend. The logits' distance to transformers is printed, not bounded: this small
// model amplifies weight noise (docs/ACCURACY.md), so it varies a lot between 4-bit types.
TEST(GgufConvert, CheckpointQuantizesToTheLegacyTypes) {
  const Reference ref = LoadReference("mha_untied");
  const std::string f32 = ConvertCheckpoint("mha_untied", "f32");
  const double err_q4 = RelativeWeightError(ConvertCheckpoint("mha_untied", "q4_0"), f32);
  for (const char* dtype : {"q4_1", "q5_0", "q5_1"}) {
    const std::string bundle = ConvertCheckpoint("mha_untied", dtype);
    auto b = Bundle::Open(bundle.c_str());
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_STREQ(DTypeName((*b)->tensors()[(*b)->FindTensor("blk.1.ffn_down.weight")].dtype), dtype);
    const double err = RelativeWeightError(bundle, f32);
    EXPECT_LE(err, (dtype[1] == '4' ? 1.25 : 0.6) * err_q4) << dtype;
    ModelRun cpu = RunModel(bundle, ref.prompt, Backend::kCpu);
    ModelRun exact = RunModel(bundle, ref.prompt, Backend::kReference);
    const double cos = MinRowCosine(cpu.logits, exact.logits, exact.vocab);
    std::printf("[ measured ] mha_untied --dtype %s: weight rel RMS error %.4f (q4_0 %.4f); cpu vs reference min "
                "cosine %.6f; vs transformers min cosine %.6f\n", dtype, err, err_q4, cos,
                MinRowCosine(cpu.logits, ref.logits, ref.vocab));
    // The integer kernels round activations to Q8_0 (Q8_1 for q4_1/q5_1), as llama.cpp: the bound of
    // q8_0 and q4_0 against their dequantized weights (docs/ACCURACY.md).
    EXPECT_GE(cos, 0.99) << dtype;
  }
}

TEST(GgufConvert, DtypeFlagRequantizes) {
  const std::string bundle = ConvertFixture("mha_untied.f16.gguf", "--dtype q8_0");
  auto b = Bundle::Open(bundle.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->tensors()[(*b)->FindTensor("blk.1.ffn_down.weight")].dtype, DType::kQ8_0);
  const Reference ref = LoadReference("mha_untied");
  ModelRun r = RunModel(bundle, ref.prompt, Backend::kCpu);
  ModelRun exact = RunModel(bundle, ref.prompt, Backend::kReference);
  EXPECT_GE(MinRowCosine(r.logits, exact.logits, r.vocab), 0.99);
  EXPECT_GE(MinRowCosine(r.logits, ref.logits, r.vocab), 0.99);
}

TEST(GgufConvert, MetadataAndChatTemplate) {
  auto b = Bundle::Open(ConvertFixture("gqa_tied_llama3.f32.gguf").c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::string s;
  int64_t v = 0;
  EXPECT_TRUE((*b)->GetString("general.name", &s));
  EXPECT_EQ(s, "gqa_tied_llama3");
  EXPECT_TRUE((*b)->GetString("general.license", &s));
  EXPECT_EQ(s, "apache-2.0");
  EXPECT_TRUE((*b)->GetString("llama.rope.type", &s));
  EXPECT_EQ(s, "llama3");
  EXPECT_TRUE((*b)->GetInt("tokenizer.bos_token_id", &v));
  EXPECT_EQ(v, 297);
  EXPECT_TRUE((*b)->GetInt("tokenizer.eos_token_id", &v));
  EXPECT_EQ(v, 298);
  EXPECT_TRUE((*b)->GetInt("tokenizer.eos_token_id.1", &v));  // eot
  EXPECT_EQ(v, 299);
  ASSERT_NE((*b)->flatbuffer()->chat_template(), nullptr);
  EXPECT_EQ((*b)->flatbuffer()->chat_template()->str(),
            "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}");
}

Result<Tokenizer> BundleTokenizer(const std::string& path) {
  auto b = Bundle::Open(path.c_str());
  if (!b.ok()) return b.status();
  auto spec = TokenizerSpecFromBundle((*b)->flatbuffer()->tokenizer());
  if (!spec.ok()) return spec.status();
  return Tokenizer::Create(std::move(spec).value());
}

TEST(GgufConvert, SentencePieceTokenizer) {
  auto tok = BundleTokenizer(ConvertFixture("mha_untied.f32.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<int32_t> ids = tok->Encode("hello world");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 1);  // <s>
  EXPECT_EQ(tok->IdToToken(ids[1]), "\xE2\x96\x81hello");
  EXPECT_EQ(tok->IdToToken(ids[2]), "\xE2\x96\x81world");
  EXPECT_EQ(tok->Decode(Span<const int32_t>(ids.data(), ids.size()), true), "hello world");
  // Bytes with no piece fall back to <0xXX> tokens.
  const std::vector<int32_t> q = tok->Encode("a?", false);
  EXPECT_EQ(tok->Decode(Span<const int32_t>(q.data(), q.size())), "a?");
}

TEST(GgufConvert, ByteLevelBpeTokenizer) {
  auto tok = BundleTokenizer(ConvertFixture("gqa_tied_llama3.bf16.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<int32_t> ids = tok->Encode("hello world<|eot_id|>");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tok->IdToToken(ids[0]), "<|begin_of_text|>");
  EXPECT_EQ(tok->IdToToken(ids[1]), "hello");
  EXPECT_EQ(tok->IdToToken(ids[2]), "\xC4\xA0world");  // Ġworld
  EXPECT_EQ(ids[3], 299);
  EXPECT_TRUE(tok->IsSpecial(299));
  EXPECT_EQ(tok->Decode(Span<const int32_t>(ids.data(), ids.size()), true), "hello world");
}

TEST(GgufConvert, UnsupportedTensorTypeIsRefusedWithAWayOut) {
  const std::string path = ::testing::TempDir() + "/gguf_iq2.gguf";
  for (const auto& c : {std::make_pair(16u, "IQ2_XXS"), std::make_pair(21u, "IQ3_S"), std::make_pair(34u, "TQ1_0")}) {
    gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(c.first));
    for (const char* extra : {"", "--dtype q8_0"}) {  // --dtype cannot requantize what acorn cannot decode
      auto r = Convert(path, ::testing::TempDir() + "/gguf_iq2.acorn", extra);
      EXPECT_EQ(r.exit_code, 1) << r.output;
      EXPECT_NE(r.output.find(std::string("blk.0.ffn_down.weight has type ") + c.second), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("llama-quantize --allow-requantize"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("--dtype q8_0"), std::string::npos) << r.output;
    }
  }
  // The same file in F32 converts.
  gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(0));
  auto r = Convert(path, ::testing::TempDir() + "/gguf_tiny.acorn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Every K-quant and IQ4 type imports, kept as it is (the tiny file's zero blocks).
TEST(GgufConvert, KQuantTensorsKeepTheirType) {
  const std::string path = ::testing::TempDir() + "/gguf_kq.gguf";
  const std::pair<uint32_t, DType> types[] = {{10, DType::kQ2_K}, {11, DType::kQ3_K}, {12, DType::kQ4_K},
                                              {13, DType::kQ5_K}, {14, DType::kQ6_K}, {20, DType::kIQ4_NL},
                                              {23, DType::kIQ4_XS}};
  for (const auto& t : types) {
    gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(t.first));
    const std::string out = ::testing::TempDir() + "/gguf_kq.acorn";
    auto r = Convert(path, out);
    ASSERT_EQ(r.exit_code, 0) << DTypeName(t.second) << ": " << r.output;
    auto b = Bundle::Open(out.c_str());
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ((*b)->tensors()[(*b)->FindTensor("blk.0.ffn_down.weight")].dtype, t.second) << DTypeName(t.second);
  }
}

// --dtype q4_k_m and the other presets give each matrix the type llama-quantize gives it:
// kq_deep.types.json holds llama.cpp's choices for an 8-layer, 256-wide, untied model
// (scripts/llamacpp/make_gguf_fixtures.py), rows of 64 included (its fallback types).
TEST(GgufConvert, QuantPresetsChooseLlamaCppsTypes) {
  const nlohmann::json j = model_test::ReadJson(std::string(ACORN_GGUF_FIXTURES) + "/llamacpp/kq_deep.types.json");
  const int64_t layers = j["layers"];
  const int64_t gqa = j["gqa"];
  const bool tied = j["tied"];
  std::vector<std::string> hf = {"model.embed_tokens.weight", "lm_head.weight"};
  for (int64_t i = 0; i < layers; ++i) {
    for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                          "mlp.up_proj", "mlp.down_proj"}) {
      hf.push_back("model.layers." + std::to_string(i) + "." + m + ".weight");
    }
  }
  ASSERT_EQ(j["types"].size(), 9u);
  for (const auto& preset : j["types"].items()) {
    convert::QuantPreset p;
    ASSERT_TRUE(convert::ParseQuantPreset(preset.key(), &p)) << preset.key();
    size_t checked = 0;
    for (const std::string& name : hf) {
      const std::string g = convert::GgufTensorName(name);
      ASSERT_TRUE(preset.value().contains(g)) << preset.key() << ": " << g;
      const std::string want = preset.value()[g][0];
      const int64_t cols = preset.value()[g][1];
      std::string got = DTypeName(convert::QuantPresetMatrixType(p, name, cols, layers, gqa, tied));
      std::transform(got.begin(), got.end(), got.begin(), [](unsigned char c) { return std::toupper(c); });
      EXPECT_EQ(got, want) << preset.key() << ": " << g;
      ++checked;
    }
    EXPECT_EQ(checked, preset.value().size()) << preset.key();
  }
}

// A preset end to end on a 256-wide GGUF (llama.cpp's Q6_K file of kq_wide, requantized): the
// bundle holds the preset's types and runs close to the file it came from.
TEST(GgufConvert, QuantPresetRequantizesAGgufFile) {
  const std::string src = std::string(ACORN_GGUF_FIXTURES) + "/llamacpp/kq_wide.q6_k.gguf";
  const std::string out = ::testing::TempDir() + "/kq_wide_q4_k_m.acorn";
  const std::string same = ::testing::TempDir() + "/kq_wide_q6_k.acorn";
  auto r = Convert(src, out, "--max-tokens 8 --dtype q4_k_m");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(Convert(src, same, "--max-tokens 8").exit_code, 0);
  auto b = Bundle::Open(out.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const std::pair<const char*, DType> want[] = {
      {"token_embd", DType::kQ6_K},         {"blk.0.attn_q.weight", DType::kQ4_K}, {"blk.0.attn_v.weight", DType::kQ6_K},
      {"blk.0.attn_output.weight", DType::kQ5_0}, {"blk.0.ffn_up.weight", DType::kQ4_K}, {"blk.0.ffn_down.weight", DType::kQ8_0}};
  for (const auto& w : want) {
    const int i = (*b)->FindTensor(w.first);
    ASSERT_GE(i, 0) << w.first;
    EXPECT_EQ((*b)->tensors()[i].dtype, w.second) << w.first << ": " << DTypeName((*b)->tensors()[i].dtype);
  }
  const std::vector<int32_t> prompt = {103, 251, 174, 120, 168};
  ModelRun q4 = RunModel(out, prompt, Backend::kCpu);
  ModelRun q6 = RunModel(same, prompt, Backend::kCpu);
  const double rel = RelMaxDiff(q4.logits, q6.logits);
  std::printf("[ measured ] kq_wide q6_k file -> --dtype q4_k_m: logits max rel %.2e against the q6_k file\n", rel);
  EXPECT_LE(rel, 0.1);
  // Every other preset converts and runs (the loaded-back check inside acorn-convert).
  for (const char* t : {"q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q5_k_s", "q5_k_m", "q6_k"}) {
    auto c = Convert(src, out, std::string("--max-tokens 8 --dtype ") + t);
    EXPECT_EQ(c.exit_code, 0) << t << ": " << c.output;
  }
  // Types acorn reads but does not write are no --dtype choice.
  for (const char* t : {"iq4_nl", "iq4_xs", "q3_k_xl", "q4_k_l"}) {
    EXPECT_EQ(Convert(src, out, std::string("--dtype ") + t).exit_code, 2) << t;
  }
}

// A 256-value block type on rows of 32 cannot come from ggml: refused naming the tensor and type.
TEST(GgufConvert, KQuantRowsThatAreNotWholeBlocksAreRefused) {
  const std::string path = ::testing::TempDir() + "/gguf_kq_rows.gguf";
  gguf_test::TinyOverrides o;
  o.attn_q_type = 12;  // Q4_K
  gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(0, o));
  auto r = Convert(path, ::testing::TempDir() + "/gguf_kq_rows.acorn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tensor blk.0.attn_q.weight has type Q4_K, whose blocks hold 256 values, but its rows "
                          "hold 32"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace acorn

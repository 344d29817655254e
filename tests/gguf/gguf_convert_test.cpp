// GGUF files made from the transformers fixtures (scripts/gguf/make_gguf_fixtures.py), converted by
// acorn-convert: float files reproduce transformers' logits, quantized files arrive byte for byte,
// metadata, chat template and tokenizer come along, and unsupported tensor types are refused.
#include <gtest/gtest.h>

#include <algorithm>
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
#include "model_test_util.h"
#include "npy.h"
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

void ExpectSameBlocks(const std::string& gguf_name, DType dtype) {
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
    EXPECT_EQ(d.dtype, dtype) << t.name;
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

TEST(GgufConvert, Q8_0BlocksAreCopiedByteForByte) { ExpectSameBlocks("mha_untied.q8_0.gguf", DType::kQ8_0); }
TEST(GgufConvert, Q4_0BlocksAreCopiedByteForByte) { ExpectSameBlocks("mha_untied.q4_0.gguf", DType::kQ4_0); }

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
  const std::string path = ::testing::TempDir() + "/gguf_q4_k.gguf";
  gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(12));  // Q4_K
  auto r = Convert(path, ::testing::TempDir() + "/gguf_q4_k.acorn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("blk.0.ffn_down.weight has type Q4_K"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("llama-quantize --allow-requantize"), std::string::npos) << r.output;
  // The same file in F32 converts.
  gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(0));
  r = Convert(path, ::testing::TempDir() + "/gguf_tiny.acorn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace acorn

// BERT GGUF files written the way llama.cpp's converter writes them (scripts/gguf/make_gguf_fixtures.py;
// llama.cpp itself loads them and gives transformers' embeddings), converted by acorn-convert: the
// same hidden states and embeddings as the checkpoint they came from, the pooling the file names,
// and the WordPiece tokenizer rebuilt from the "phantom space" vocabulary identical to Hugging Face's.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/model.h"
#include "bert_common.h"
#include "fixtures.h"
#include "npy.h"
#include "tokenizer/tokenizer_bundle.h"
#include "acorn_generated.h"

namespace acorn {
namespace bert_test {
namespace {

std::string GgufFile(const std::string& name) { return std::string(ACORN_GGUF_FIXTURES) + "/" + name; }
std::string BertDir(const std::string& name) { return std::string(ACORN_FIXTURES) + "/" + name; }

std::vector<float> Npy(const std::string& path) {
  auto r = ReadNpy(path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r.ok() ? r->data : std::vector<float>();
}

TEST(BertGguf, F32FileMatchesTransformers) {
  const std::string bundle = Convert(GgufFile("bert_h64.f32.gguf"), "f32", 32);
  ASSERT_FALSE(bundle.empty());
  const std::vector<Sequence> seqs = ReadSequences(ReadJson(BertDir("bert_h64") + "/inputs.json")["sequences"]);
  const std::vector<float> emb = Npy(BertDir("bert_h64") + "/embeddings.npy");
  std::vector<EncoderOutput> out = EncodeAll(bundle, seqs);
  ASSERT_EQ(out.size(), seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_LE(RelMaxDiff(out[i].hidden, Npy(BertDir("bert_h64") + "/hidden_" + std::to_string(i) + ".npy")), 1e-4) << i;
    const size_t H = out[i].embedding.size();
    EXPECT_LE(RelMaxDiff(out[i].embedding, std::vector<float>(emb.begin() + i * H, emb.begin() + (i + 1) * H)), 1e-4) << i;
  }
}

// Q8_0 blocks made by gguf's reference quantizer equal acorn's own quantization of the checkpoint:
// the bundle from the GGUF computes the very same numbers as the one from the safetensors.
TEST(BertGguf, Q8_0FileEqualsTheCheckpointQuantizedByAcorn) {
  const std::string from_gguf = Convert(GgufFile("st_mean_norm.q8_0.gguf"), "q8_0", 32);
  const std::string from_hf = Convert(BertDir("st_mean_norm"), "q8_0", 32);
  ASSERT_FALSE(from_gguf.empty());
  ASSERT_FALSE(from_hf.empty());
  const std::vector<Sequence> seqs = ReadSequences(ReadJson(BertDir("st_mean_norm") + "/inputs.json")["sequences"]);
  std::vector<EncoderOutput> a = EncodeAll(from_gguf, seqs), b = EncodeAll(from_hf, seqs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].hidden, b[i].hidden) << i;
    EXPECT_EQ(a[i].embedding, b[i].embedding) << i;
  }
  auto bundle = Bundle::Open(from_gguf.c_str());
  ASSERT_TRUE(bundle.ok());
  std::string pooling;
  int64_t normalize = 0;
  EXPECT_TRUE((*bundle)->GetString("bert.pooling", &pooling));
  EXPECT_EQ(pooling, "mean");
  EXPECT_TRUE((*bundle)->GetInt("bert.normalize", &normalize));
  EXPECT_EQ(normalize, 1);
}

TEST(BertGguf, WordPieceTokenizerMatchesHuggingFace) {
  const std::string bundle = Convert(GgufFile("bert_minilm_vocab.q8_0.gguf"), "q8_0", 64);
  ASSERT_FALSE(bundle.empty());
  auto model = Model::Load(bundle.c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Tokenizer* tok = (*model)->tokenizer();
  ASSERT_NE(tok, nullptr);
  const nlohmann::json& cases = acorn_test::Goldens().at("bert-minilm");
  const nlohmann::json& corpus = acorn_test::Corpus();
  ASSERT_EQ(cases.size(), corpus.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string text = acorn_test::CorpusBytes(corpus[i]);
    SCOPED_TRACE(cases[i]["name"].get<std::string>());
    const auto want = cases[i]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->Encode(text, true), want);
    EXPECT_EQ(tok->Encode(text, false), cases[i]["ids_no_special"].get<std::vector<int32_t>>());
    EXPECT_EQ(tok->Decode(want, true), cases[i]["decoded_skip_special"].get<std::string>());
  }
}

}  // namespace
}  // namespace bert_test
}  // namespace acorn

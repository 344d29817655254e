// The Hugging Face config.json of a BERT-family encoder (BertModel, BertForSequenceClassification,
// sentence-transformers directories such as all-MiniLM-L6-v2), plus how a sentence embedding is
// made from it: sentence-transformers' modules.json + 1_Pooling/config.json (+ a Normalize module)
// when present, else mean pooling and L2 normalization.
#pragma once

#include <string>

#include "acorn/status.h"

namespace acorn {
namespace convert {

struct BertConfig {
  std::string architecture;  // BertModel, BertForSequenceClassification
  std::string model_type;
  int64_t hidden = 0, layers = 0, heads = 0, intermediate = 0, vocab = 0;
  int64_t max_positions = 0, type_vocab = 0;
  float layer_norm_eps = 1e-12f;
  int64_t num_labels = 0;  // > 0: a sequence classifier head (pooler + classifier)
  // Sentence embedding: "mean" or "cls", then L2 normalization when normalize is set.
  std::string pooling = "mean";
  bool normalize = true;
  std::string pooling_source = "default";  // or "sentence-transformers"
  std::string torch_dtype;
};

// True when dir/config.json names a BERT model (model_type "bert" or a Bert* architecture), so that
// acorn-convert routes it here instead of to the LLaMA path.
bool IsBertDirectory(const std::string& dir);

Result<BertConfig> ReadBertConfig(const std::string& dir);

// Every shape number inside runtime/core/limits.h, hidden a multiple of heads, a finite epsilon.
// Both the Hugging Face and the GGUF path call it.
Status CheckBertConfig(const BertConfig& c, const std::string& label);

}  // namespace convert
}  // namespace acorn

// Builds the op graph and tensor table of a BERT encoder from a Hugging Face checkpoint: word +
// position + token-type embeddings, LayerNorm; per layer q/k/v (+bias) -> non-causal attention
// with an additive mask -> output dense, residual, LayerNorm -> dense, exact GELU, dense, residual,
// LayerNorm. Optional pooler (dense + tanh) and classifier head. Pooling of a sentence embedding
// happens in the encoder API (runtime/include/acorn/encoder.h), per sequence, as the bundle's
// metadata (bert.pooling, bert.normalize) says.
//
// Graph interface (the encoder API relies on these names):
//   inputs  tokens, token_type_ids, position_ids: I32 [T]; attention_mask: F32 [T, context]
//   outputs hidden: F32 [T, H]; class_logits: F32 [T, num_labels] (classifiers only; meaningful
//           on each sequence's first, [CLS], row)
// Each step is one batch of whole sequences packed along T starting at position 0 of the session,
// so context = max_tokens.
#pragma once

#include "bert_config.h"
#include "bundle_writer.h"
#include "llama_graph.h"

namespace acorn {
namespace convert {

Status BuildBertBundle(const BertConfig& config, const WeightSource& weights, const ConvertOptions& options,
                       BundleWriter* writer);

}  // namespace convert
}  // namespace acorn

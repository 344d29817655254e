#include "bert_graph.h"

#include <algorithm>
#include <cmath>

#include "quant_presets.h"

namespace acorn {
namespace convert {

namespace {

class BertBuilder {
 public:
  BertBuilder(const BertConfig& c, const WeightSource& weights, const ConvertOptions& o, BundleWriter* w)
      : c_(c), weights_(weights), o_(o), w_(w) {}

  Status Build() {
    if (o_.max_tokens == 0) return ACORN_ERROR(kInvalidArgument, "--max-tokens must be at least 1");
    // A sequence cannot be longer than the position table; a step never holds more than one
    // sequence's worth of positions per sequence, but packs several sequences up to max_tokens.
    const uint32_t max_tokens = o_.max_tokens;
    w_->SetLimits(max_tokens, max_tokens);
    segment_ = o_.compress ? w_->AddSegment(Compression::kZstd, 19) : 0;
    // BertModel checkpoints (and sentence-transformers') name tensors "embeddings.*"; the task heads
    // put the encoder under "bert.".
    prefix_ = weights_.Has("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    if (!weights_.Has(prefix_ + "embeddings.word_embeddings.weight")) {
      return ACORN_ERROR(kNotFound, "checkpoint has no embeddings.word_embeddings.weight (with or without the 'bert.' "
                         "prefix); is this a BERT checkpoint?");
    }
    WriteMetadata(max_tokens);

    const int64_t H = c_.hidden, T = kTokensDim, ctx = max_tokens;
    ACORN_ASSIGN_OR_RETURN(uint32_t tokens, w_->AddTensor("tokens", DType::kI32, {T}, Storage::kInput));
    ACORN_ASSIGN_OR_RETURN(uint32_t types, w_->AddTensor("token_type_ids", DType::kI32, {T}, Storage::kInput));
    // Not named "positions": the session would overwrite it with step positions, but each packed
    // sequence starts again at 0.
    ACORN_ASSIGN_OR_RETURN(uint32_t positions, w_->AddTensor("position_ids", DType::kI32, {T}, Storage::kInput));
    ACORN_ASSIGN_OR_RETURN(uint32_t mask, w_->AddTensor("attention_mask", DType::kF32, {T, ctx}, Storage::kInput));

    const std::string e = prefix_ + "embeddings.";
    ACORN_ASSIGN_OR_RETURN(uint32_t word, Matrix(e + "word_embeddings.weight", "token_embd", {c_.vocab, H}));
    ACORN_ASSIGN_OR_RETURN(uint32_t pos_table, Table(e + "position_embeddings.weight", "position_embd", {c_.max_positions, H}));
    ACORN_ASSIGN_OR_RETURN(uint32_t type_table, Table(e + "token_type_embeddings.weight", "token_types", {c_.type_vocab, H}));
    ACORN_ASSIGN_OR_RETURN(uint32_t xw, Act("embd_word", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Embedding, {word, tokens}, {xw}, OpAttributes(), "embed_word"));
    ACORN_ASSIGN_OR_RETURN(uint32_t xp, Act("embd_pos", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Embedding, {pos_table, positions}, {xp}, OpAttributes(), "embed_pos"));
    ACORN_ASSIGN_OR_RETURN(uint32_t xt, Act("embd_type", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Embedding, {type_table, types}, {xt}, OpAttributes(), "embed_type"));
    ACORN_ASSIGN_OR_RETURN(uint32_t s1, Act("embd_sum1", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {xw, xp}, {s1}, OpAttributes(), "embed_add_pos"));
    ACORN_ASSIGN_OR_RETURN(uint32_t s2, Act("embd_sum2", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {s1, xt}, {s2}, OpAttributes(), "embed_add_type"));
    const bool last_is_output = c_.layers == 0;
    ACORN_ASSIGN_OR_RETURN(uint32_t x, Norm(s2, e + "LayerNorm", "embd_norm", last_is_output));

    const int64_t hd = H / c_.heads;
    for (int64_t l = 0; l < c_.layers; ++l) {
      const std::string p = prefix_ + "encoder.layer." + std::to_string(l) + ".";
      const std::string n = "blk." + std::to_string(l) + ".";
      ACORN_ASSIGN_OR_RETURN(uint32_t q, Linear(x, p + "attention.self.query", n + "attn_q", H, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t k, Linear(x, p + "attention.self.key", n + "attn_k", H, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t v, Linear(x, p + "attention.self.value", n + "attn_v", H, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t k_cache, w_->AddTensor(n + "k_cache", DType::kF32, {ctx, H}, Storage::kState));
      ACORN_ASSIGN_OR_RETURN(uint32_t v_cache, w_->AddTensor(n + "v_cache", DType::kF32, {ctx, H}, Storage::kState));
      OpAttributes attn;
      attn.n_heads = static_cast<uint32_t>(c_.heads);
      attn.n_kv_heads = static_cast<uint32_t>(c_.heads);
      attn.head_dim = static_cast<uint32_t>(hd);
      attn.attention_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
      attn.causal = false;
      ACORN_ASSIGN_OR_RETURN(uint32_t a, Act(n + "attn_out", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Attention, {q, k, v, k_cache, v_cache, mask}, {a}, attn, n + "attention"));
      ACORN_ASSIGN_OR_RETURN(uint32_t o, Linear(a, p + "attention.output.dense", n + "attn_output", H, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t r1, Act(n + "attn_residual", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {o, x}, {r1}, OpAttributes(), n + "attn_residual"));
      ACORN_ASSIGN_OR_RETURN(uint32_t x1, Norm(r1, p + "attention.output.LayerNorm", n + "attn_norm", false));
      ACORN_ASSIGN_OR_RETURN(uint32_t up, Linear(x1, p + "intermediate.dense", n + "ffn_up", c_.intermediate, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t g, Act(n + "ffn_gelu", c_.intermediate));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Gelu, {up}, {g}, OpAttributes(), n + "ffn_gelu"));
      ACORN_ASSIGN_OR_RETURN(uint32_t down, Linear(g, p + "output.dense", n + "ffn_down", H, c_.intermediate));
      ACORN_ASSIGN_OR_RETURN(uint32_t r2, Act(n + "ffn_residual", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {down, x1}, {r2}, OpAttributes(), n + "ffn_residual"));
      ACORN_ASSIGN_OR_RETURN(x, Norm(r2, p + "output.LayerNorm", n + "out_norm", l + 1 == c_.layers));
    }

    if (c_.num_labels > 0) {
      // Pooler and classifier on every row (one extra H x H product per token, about 1/12 of a
      // layer): the encoder API reads each sequence's [CLS] row.
      ACORN_ASSIGN_OR_RETURN(uint32_t pd, Linear(x, prefix_ + "pooler.dense", "pooler", H, H));
      ACORN_ASSIGN_OR_RETURN(uint32_t pooled, Act("pooler_tanh", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Tanh, {pd}, {pooled}, OpAttributes(), "pooler_tanh"));
      ACORN_ASSIGN_OR_RETURN(uint32_t cw, Matrix("classifier.weight", "classifier.weight", {c_.num_labels, H}));
      ACORN_ASSIGN_OR_RETURN(uint32_t cb, Vector("classifier.bias", "classifier.bias", c_.num_labels));
      ACORN_ASSIGN_OR_RETURN(uint32_t logits, w_->AddTensor("class_logits", DType::kF32, {T, c_.num_labels}, Storage::kOutput));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::MatMul, {pooled, cw, cb}, {logits}, OpAttributes(), "classifier"));
    }
    return Status::Ok();
  }

 private:
  void WriteMetadata(uint32_t max_tokens) {
    w_->SetString("general.architecture", "bert");
    w_->SetString("general.source_architecture", c_.architecture);
    w_->SetString("general.source_dtype", c_.torch_dtype);
    w_->SetString("general.weight_dtype", DTypeName(o_.dtype));
    w_->SetInt("bert.vocab_size", c_.vocab);
    w_->SetInt("bert.embedding_length", c_.hidden);
    w_->SetInt("bert.block_count", c_.layers);
    w_->SetInt("bert.attention.head_count", c_.heads);
    w_->SetInt("bert.feed_forward_length", c_.intermediate);
    w_->SetInt("bert.context_length", max_tokens);
    w_->SetInt("bert.max_position_embeddings", c_.max_positions);
    w_->SetInt("bert.type_vocab_size", c_.type_vocab);
    w_->SetFloat("bert.attention.layer_norm_epsilon", c_.layer_norm_eps);
    w_->SetString("bert.pooling", c_.pooling);
    w_->SetInt("bert.normalize", c_.normalize ? 1 : 0);
    w_->SetString("bert.pooling_source", c_.pooling_source);
    w_->SetInt("bert.num_labels", c_.num_labels);
  }

  // A matrix in the requested dtype; rows whose length is not whole blocks fall back to f16.
  Result<uint32_t> Matrix(const std::string& src, const std::string& dst, const std::vector<int64_t>& shape) {
    DType dtype = o_.dtype;
    if (o_.keep_source_dtypes) weights_.SourceDType(src, &dtype);
    dtype = FallbackForRows(dtype, shape.back());
    ACORN_ASSIGN_OR_RETURN(BundleWriter::Fill fill, weights_.Fill(src, shape, dtype));
    return w_->AddConstant(dst, dtype, shape, std::move(fill), segment_);
  }
  // Small embedding tables (positions, token types) stay f32: they are a few rows, and rounding
  // them would cost accuracy for no size worth saving.
  Result<uint32_t> Table(const std::string& src, const std::string& dst, const std::vector<int64_t>& shape) {
    ACORN_ASSIGN_OR_RETURN(BundleWriter::Fill fill, weights_.Fill(src, shape, DType::kF32));
    return w_->AddConstant(dst, DType::kF32, shape, std::move(fill), segment_);
  }
  Result<uint32_t> Vector(const std::string& src, const std::string& dst, int64_t n) {
    ACORN_ASSIGN_OR_RETURN(BundleWriter::Fill fill, weights_.Fill(src, {n}, DType::kF32));
    return w_->AddConstant(dst, DType::kF32, {n}, std::move(fill), segment_);
  }
  Result<uint32_t> Act(const std::string& name, int64_t width) {
    return w_->AddTensor(name, DType::kF32, {kTokensDim, width}, Storage::kPlanned);
  }
  Result<uint32_t> Linear(uint32_t x, const std::string& src, const std::string& dst, int64_t out, int64_t in) {
    ACORN_ASSIGN_OR_RETURN(uint32_t w, Matrix(src + ".weight", dst + ".weight", {out, in}));
    ACORN_ASSIGN_OR_RETURN(uint32_t b, Vector(src + ".bias", dst + ".bias", out));
    ACORN_ASSIGN_OR_RETURN(uint32_t y, Act(dst, out));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::MatMul, {x, w, b}, {y}, OpAttributes(), dst));
    return y;
  }
  // LayerNorm; the last one of the encoder writes the graph's "hidden" output.
  Result<uint32_t> Norm(uint32_t x, const std::string& src, const std::string& dst, bool is_output) {
    ACORN_ASSIGN_OR_RETURN(uint32_t g, Vector(src + ".weight", dst + ".weight", c_.hidden));
    ACORN_ASSIGN_OR_RETURN(uint32_t b, Vector(src + ".bias", dst + ".bias", c_.hidden));
    uint32_t y = 0;
    if (is_output) {
      ACORN_ASSIGN_OR_RETURN(y, w_->AddTensor("hidden", DType::kF32, {kTokensDim, c_.hidden}, Storage::kOutput));
    } else {
      ACORN_ASSIGN_OR_RETURN(y, Act(dst, c_.hidden));
    }
    OpAttributes norm;
    norm.epsilon = c_.layer_norm_eps;
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::LayerNorm, {x, g, b}, {y}, norm, dst));
    return y;
  }

  const BertConfig& c_;
  const WeightSource& weights_;
  const ConvertOptions& o_;
  BundleWriter* w_;
  uint32_t segment_ = 0;
  std::string prefix_;
};

}  // namespace

Status BuildBertBundle(const BertConfig& config, const WeightSource& weights, const ConvertOptions& options,
                       BundleWriter* writer) {
  return BertBuilder(config, weights, options, writer).Build();
}

}  // namespace convert
}  // namespace acorn

#include "llama_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace convert {

namespace {

// Converts a [rows, cols] source matrix (or a vector) to `dtype`, row by row, straight into the
// bundle writer's buffer.
BundleWriter::Fill ConvertFill(const SourceTensor* src, DType dtype) {
  return [src, dtype](uint8_t* dst, uint64_t size) -> Status {
    const int64_t cols = src->shape.back();
    const int64_t rows = src->Elements() / cols;
    uint64_t row_bytes = 0;
    RowBytes(dtype, static_cast<uint64_t>(cols), &row_bytes);
    if (row_bytes * static_cast<uint64_t>(rows) != size) return ACORN_ERROR(kInternal, "size mismatch converting '%s'", src->name.c_str());
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      SafetensorsCheckpoint::ReadFloats(*src, r * cols, cols, row.data());
      const int64_t bad = FirstNonFinite(row.data(), cols);
      if (bad >= 0) return NonFiniteWeight(src->name, r, cols, bad, row[bad]);
      if (!ref::QuantizeRow(dtype, row.data(), dst + r * row_bytes, cols)) {
        return ACORN_ERROR(kUnsupported, "cannot store weights as %s", DTypeName(dtype));
      }
    }
    return Status::Ok();
  };
}

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class LlamaBuilder {
 public:
  LlamaBuilder(const LlamaConfig& c, const WeightSource& weights, const ConvertOptions& o, BundleWriter* w)
      : c_(c), weights_(weights), o_(o), w_(w) {}

  Status Build() {
    const uint32_t context = o_.context > 0 ? o_.context : static_cast<uint32_t>(std::min<int64_t>(c_.max_positions, 4096));
    if (context > c_.max_positions) {
      return ACORN_ERROR(kInvalidArgument, "--context %u exceeds the model's max_position_embeddings %lld", context,
                         static_cast<long long>(c_.max_positions));
    }
    if (o_.max_tokens == 0) return ACORN_ERROR(kInvalidArgument, "--max-tokens must be at least 1");
    w_->SetLimits(std::min(o_.max_tokens, context), context);
    segment_ = o_.compress ? w_->AddSegment(Compression::kZstd, 19) : 0;
    WriteMetadata(context);

    const int64_t H = c_.hidden, T = kTokensDim, hd = c_.head_dim;
    const int64_t q_w = c_.heads * hd, kv_w = c_.kv_heads * hd;
    ACORN_ASSIGN_OR_RETURN(uint32_t tokens, w_->AddTensor("tokens", DType::kI32, {T}, Storage::kInput));
    ACORN_ASSIGN_OR_RETURN(uint32_t positions, w_->AddTensor("positions", DType::kI32, {T}, Storage::kInput));
    ACORN_ASSIGN_OR_RETURN(uint32_t embed, Matrix("model.embed_tokens.weight", "token_embd", {c_.vocab, H}));
    ACORN_ASSIGN_OR_RETURN(uint32_t x, Act("x0", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Embedding, {embed, tokens}, {x}, OpAttributes(), "embed"));

    for (int64_t l = 0; l < c_.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      const std::string n = "blk." + std::to_string(l) + ".";
      OpAttributes norm;
      norm.epsilon = c_.rms_eps;
      ACORN_ASSIGN_OR_RETURN(uint32_t attn_norm, Vector(p + "input_layernorm.weight", n + "attn_norm", H));
      ACORN_ASSIGN_OR_RETURN(uint32_t h, Act(n + "attn_in", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::RmsNorm, {x, attn_norm}, {h}, norm, n + "attn_norm"));

      ACORN_ASSIGN_OR_RETURN(uint32_t q, Linear(h, p + "self_attn.q_proj", n + "attn_q", q_w, H, c_.attention_bias));
      ACORN_ASSIGN_OR_RETURN(uint32_t k, Linear(h, p + "self_attn.k_proj", n + "attn_k", kv_w, H, c_.attention_bias));
      ACORN_ASSIGN_OR_RETURN(uint32_t v, Linear(h, p + "self_attn.v_proj", n + "attn_v", kv_w, H, c_.attention_bias));
      OpAttributes rope;
      rope.head_dim = static_cast<uint32_t>(hd);
      rope.rope_theta = c_.rope_theta;
      rope.rope_style = RopeStyle::kHalf;
      rope.rope_inv_freq = c_.inv_freq;
      rope.rope_attention_factor = c_.attention_factor;
      rope.n_heads = static_cast<uint32_t>(c_.heads);
      ACORN_ASSIGN_OR_RETURN(uint32_t qr, Act(n + "q_rope", q_w));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Rope, {q, positions}, {qr}, rope, n + "rope_q"));
      rope.n_heads = static_cast<uint32_t>(c_.kv_heads);
      ACORN_ASSIGN_OR_RETURN(uint32_t kr, Act(n + "k_rope", kv_w));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Rope, {k, positions}, {kr}, rope, n + "rope_k"));

      ACORN_ASSIGN_OR_RETURN(uint32_t k_cache, w_->AddTensor(n + "k_cache", DType::kF32, {context, kv_w}, Storage::kState));
      ACORN_ASSIGN_OR_RETURN(uint32_t v_cache, w_->AddTensor(n + "v_cache", DType::kF32, {context, kv_w}, Storage::kState));
      OpAttributes attn;
      attn.n_heads = static_cast<uint32_t>(c_.heads);
      attn.n_kv_heads = static_cast<uint32_t>(c_.kv_heads);
      attn.head_dim = static_cast<uint32_t>(hd);
      attn.attention_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
      attn.causal = true;
      ACORN_ASSIGN_OR_RETURN(uint32_t a, Act(n + "attn_out", q_w));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Attention, {qr, kr, v, k_cache, v_cache}, {a}, attn, n + "attention"));
      ACORN_ASSIGN_OR_RETURN(uint32_t o, Linear(a, p + "self_attn.o_proj", n + "attn_output", H, q_w, false));
      ACORN_ASSIGN_OR_RETURN(uint32_t x1, Act(n + "x_attn", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {x, o}, {x1}, OpAttributes(), n + "attn_residual"));

      ACORN_ASSIGN_OR_RETURN(uint32_t ffn_norm, Vector(p + "post_attention_layernorm.weight", n + "ffn_norm", H));
      ACORN_ASSIGN_OR_RETURN(uint32_t h2, Act(n + "ffn_in", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::RmsNorm, {x1, ffn_norm}, {h2}, norm, n + "ffn_norm"));
      ACORN_ASSIGN_OR_RETURN(uint32_t g, Linear(h2, p + "mlp.gate_proj", n + "ffn_gate", c_.intermediate, H, false));
      ACORN_ASSIGN_OR_RETURN(uint32_t u, Linear(h2, p + "mlp.up_proj", n + "ffn_up", c_.intermediate, H, false));
      ACORN_ASSIGN_OR_RETURN(uint32_t s, Act(n + "ffn_act", c_.intermediate));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::SwiGlu, {g, u}, {s}, OpAttributes(), n + "swiglu"));
      ACORN_ASSIGN_OR_RETURN(uint32_t d, Linear(s, p + "mlp.down_proj", n + "ffn_down", H, c_.intermediate, false));
      ACORN_ASSIGN_OR_RETURN(uint32_t x2, Act(n + "x_out", H));
      ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::Add, {x1, d}, {x2}, OpAttributes(), n + "ffn_residual"));
      x = x2;
    }

    OpAttributes norm;
    norm.epsilon = c_.rms_eps;
    ACORN_ASSIGN_OR_RETURN(uint32_t out_norm, Vector("model.norm.weight", "output_norm", H));
    ACORN_ASSIGN_OR_RETURN(uint32_t xn, Act("x_final", H));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::RmsNorm, {x, out_norm}, {xn}, norm, "output_norm"));
    uint32_t head = embed;  // tied embeddings share the table
    if (!c_.tie_embeddings || weights_.Has("lm_head.weight")) {
      if (!weights_.Has("lm_head.weight")) {
        return ACORN_ERROR(kMalformed, "checkpoint has no lm_head.weight and tie_word_embeddings is false");
      }
      ACORN_ASSIGN_OR_RETURN(head, Matrix("lm_head.weight", "output", {c_.vocab, H}));
    }
    ACORN_ASSIGN_OR_RETURN(uint32_t logits, w_->AddTensor("logits", DType::kF32, {T, c_.vocab}, Storage::kOutput));
    return w_->AddOp(fb::OpKind::MatMul, {xn, head}, {logits}, OpAttributes(), "lm_head");
  }

 private:
  void WriteMetadata(uint32_t context) {
    w_->SetString("general.architecture", "llama");
    w_->SetString("general.source_architecture", c_.architecture);
    w_->SetString("general.source_dtype", c_.torch_dtype);
    w_->SetString("general.weight_dtype", DTypeName(o_.dtype));
    w_->SetInt("llama.vocab_size", c_.vocab);
    w_->SetInt("llama.embedding_length", c_.hidden);
    w_->SetInt("llama.block_count", c_.layers);
    w_->SetInt("llama.attention.head_count", c_.heads);
    w_->SetInt("llama.attention.head_count_kv", c_.kv_heads);
    w_->SetInt("llama.attention.key_length", c_.head_dim);
    w_->SetInt("llama.feed_forward_length", c_.intermediate);
    w_->SetInt("llama.context_length", context);
    w_->SetInt("llama.max_position_embeddings", c_.max_positions);
    w_->SetFloat("llama.attention.layer_norm_rms_epsilon", c_.rms_eps);
    w_->SetFloat("llama.rope.freq_base", c_.rope_theta);
    w_->SetString("llama.rope.type", c_.rope_type);
    if (c_.bos_token_id >= 0) w_->SetInt("tokenizer.bos_token_id", c_.bos_token_id);
    for (size_t i = 0; i < c_.eos_token_ids.size(); ++i) {
      w_->SetInt(i == 0 ? "tokenizer.eos_token_id" : "tokenizer.eos_token_id." + std::to_string(i), c_.eos_token_ids[i]);
    }
  }

  // A matrix in the requested dtype (or, with keep_source_dtypes, the one the source stores it
  // in, or the preset's type for it); rows whose length is not whole blocks fall back as
  // llama.cpp's do (FallbackForRows: a 32-value type, else f16).
  Result<uint32_t> Matrix(const std::string& src, const std::string& dst, const std::vector<int64_t>& shape) {
    DType dtype = o_.dtype;
    if (o_.keep_source_dtypes) weights_.SourceDType(src, &dtype);
    if (o_.preset != QuantPreset::kNone) {
      const bool tied = c_.tie_embeddings && !weights_.Has("lm_head.weight");
      dtype = QuantPresetMatrixType(o_.preset, src, shape.back(), c_.layers, c_.heads / c_.kv_heads, tied);
    }
    dtype = FallbackForRows(dtype, shape.back());
    ACORN_ASSIGN_OR_RETURN(BundleWriter::Fill fill, weights_.Fill(src, shape, dtype));
    return w_->AddConstant(dst, dtype, shape, std::move(fill), segment_);
  }
  Result<uint32_t> Vector(const std::string& src, const std::string& dst, int64_t n) {
    ACORN_ASSIGN_OR_RETURN(BundleWriter::Fill fill, weights_.Fill(src, {n}, DType::kF32));
    return w_->AddConstant(dst, DType::kF32, {n}, std::move(fill), segment_);
  }
  Result<uint32_t> Act(const std::string& name, int64_t width) {
    return w_->AddTensor(name, DType::kF32, {kTokensDim, width}, Storage::kPlanned);
  }
  // y = x W^T (+ b) for the HF Linear `src` ([out, in]).
  Result<uint32_t> Linear(uint32_t x, const std::string& src, const std::string& dst, int64_t out, int64_t in, bool bias) {
    ACORN_ASSIGN_OR_RETURN(uint32_t w, Matrix(src + ".weight", dst + ".weight", {out, in}));
    std::vector<uint32_t> inputs = {x, w};
    if (bias) {
      ACORN_ASSIGN_OR_RETURN(uint32_t b, Vector(src + ".bias", dst + ".bias", out));
      inputs.push_back(b);
    }
    ACORN_ASSIGN_OR_RETURN(uint32_t y, Act(dst, out));
    ACORN_RETURN_IF_ERROR(w_->AddOp(fb::OpKind::MatMul, inputs, {y}, OpAttributes(), dst));
    return y;
  }

  const LlamaConfig& c_;
  const WeightSource& weights_;
  const ConvertOptions& o_;
  BundleWriter* w_;
  uint32_t segment_ = 0;
};

}  // namespace

int64_t FirstNonFinite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

Status NonFiniteWeight(const std::string& tensor, int64_t row, int64_t cols, int64_t col, float value) {
  return ACORN_ERROR(kMalformed, "source tensor '%s' holds %s at element %lld (row %lld, column %lld); weights must be "
                     "finite: the checkpoint is corrupt or was saved after a diverged training step",
                     tensor.c_str(), std::isnan(value) ? "NaN" : value > 0 ? "+infinity" : "-infinity",
                     static_cast<long long>(row * cols + col), static_cast<long long>(row), static_cast<long long>(col));
}

Result<BundleWriter::Fill> CheckpointWeights::Fill(const std::string& name, const std::vector<int64_t>& shape,
                                                   DType dtype) const {
  const SourceTensor* t = ckpt_.Find(name);
  if (t == nullptr) return ACORN_ERROR(kNotFound, "checkpoint has no tensor '%s'", name.c_str());
  if (t->shape != shape) {
    std::string want, got;
    for (int64_t d : shape) want += std::to_string(d) + " ";
    for (int64_t d : t->shape) got += std::to_string(d) + " ";
    return ACORN_ERROR(kMalformed, "tensor '%s' has shape [ %s] but config.json implies [ %s]", name.c_str(),
                       got.c_str(), want.c_str());
  }
  return ConvertFill(t, dtype);
}

Result<BundleWriter::Fill> RandomWeights::Fill(const std::string& name, const std::vector<int64_t>& shape,
                                               DType dtype) const {
  uint64_t seed = seed_;
  for (char ch : name) seed = seed * 131 + static_cast<uint8_t>(ch);
  const bool norm = shape.size() == 1;
  const int64_t cols = shape.back();
  return BundleWriter::Fill([seed, dtype, norm, cols](uint8_t* dst, uint64_t size) -> Status {
    uint64_t state = seed;
    const DTypeInfo& info = GetDTypeInfo(dtype);
    if (info.block_elems > kQBlock) {
      // K-quants: random floats through the quantizer, since their packed scales and minimums
      // must be consistent with each other to mean anything.
      uint64_t row_bytes = 0;
      if (!RowBytes(dtype, static_cast<uint64_t>(cols), &row_bytes) || row_bytes == 0) {
        return ACORN_ERROR(kInternal, "random %s weights need whole blocks", DTypeName(dtype));
      }
      std::vector<float> row(static_cast<size_t>(cols));
      for (uint64_t r = 0; r + row_bytes <= size; r += row_bytes) {
        for (float& v : row) v = 0.05f * (static_cast<float>(SplitMix(&state) >> 40) / static_cast<float>(1 << 24) - 0.5f);
        if (!ref::QuantizeRow(dtype, row.data(), dst + r, cols)) {
          return ACORN_ERROR(kUnsupported, "acorn cannot write %s weights", DTypeName(dtype));
        }
      }
      return Status::Ok();
    }
    if (info.quantized) {
      // Random quants with a small fp16 scale in every block (and, for the types with a minimum,
      // a minimum that centres them on zero).
      const float d = dtype == DType::kQ8_0 ? 0.0005f : 0.008f;
      const uint16_t scale = F32ToF16(d);
      const bool has_min = dtype == DType::kQ4_1 || dtype == DType::kQ5_1;
      const uint16_t min = F32ToF16(dtype == DType::kQ4_1 ? -8 * d : -16 * d);
      const uint32_t quants = has_min ? 4 : 2;
      for (uint64_t b = 0; b + info.block_bytes <= size; b += info.block_bytes) {
        std::memcpy(dst + b, &scale, 2);
        if (has_min) std::memcpy(dst + b + 2, &min, 2);
        for (uint32_t i = quants; i < info.block_bytes; i += 8) {
          const uint64_t r = SplitMix(&state);
          std::memcpy(dst + b + i, &r, std::min<uint32_t>(8, info.block_bytes - i));
        }
      }
      return Status::Ok();
    }
    for (uint64_t i = 0; i < size / info.block_bytes; ++i) {
      const float u = static_cast<float>(SplitMix(&state) >> 40) / static_cast<float>(1 << 24) - 0.5f;
      const float v = norm ? 1.0f + 0.1f * u : 0.05f * u;
      if (dtype == DType::kF32) {
        std::memcpy(dst + i * 4, &v, 4);
      } else {
        const uint16_t h = dtype == DType::kF16 ? F32ToF16(v) : F32ToBF16(v);
        std::memcpy(dst + i * 2, &h, 2);
      }
    }
    return Status::Ok();
  });
}

Status BuildLlamaBundle(const LlamaConfig& config, const WeightSource& weights, const ConvertOptions& options,
                        BundleWriter* writer) {
  return LlamaBuilder(config, weights, options, writer).Build();
}

}  // namespace convert
}  // namespace acorn

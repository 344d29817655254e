// Encoder: packs whole sequences into steps, builds the block-diagonal mask and the per-sequence
// position ids, runs the graph from position 0 each step, then pools per sequence.
#include "acorn/encoder.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <string>

#include "reference_kernels.h"

namespace acorn {

namespace {

int FindIo(const Bundle& b, const std::vector<uint32_t>& list, const char* name) {
  for (uint32_t t : list) {
    if (std::strcmp(b.tensors()[t].name, name) == 0) return static_cast<int>(t);
  }
  return -1;
}

}  // namespace

Result<std::unique_ptr<Encoder>> Encoder::Create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  if (model == nullptr) return ACORN_ERROR(kInvalidArgument, "no model");
  const Bundle& b = model->bundle();
  std::string arch;
  if (!b.GetString("general.architecture", &arch) || arch != "bert") {
    return ACORN_ERROR(kUnsupported, "not an encoder bundle: general.architecture is '%s', the encoder needs 'bert' "
                       "(convert a BERT checkpoint with acorn-convert)", arch.c_str());
  }
  std::unique_ptr<Encoder> e(new Encoder());
  e->tokens_ = FindIo(b, b.graph_inputs(), "tokens");
  e->types_ = FindIo(b, b.graph_inputs(), "token_type_ids");
  e->positions_ = FindIo(b, b.graph_inputs(), "position_ids");
  e->mask_ = FindIo(b, b.graph_inputs(), "attention_mask");
  e->hidden_out_ = FindIo(b, b.graph_outputs(), "hidden");
  e->logits_out_ = FindIo(b, b.graph_outputs(), "class_logits");
  if (e->tokens_ < 0 || e->types_ < 0 || e->positions_ < 0 || e->mask_ < 0 || e->hidden_out_ < 0) {
    return ACORN_ERROR(kMalformed, "encoder bundle lacks one of the inputs tokens, token_type_ids, position_ids, "
                       "attention_mask or the output hidden; reconvert it with this version of acorn-convert");
  }
  const TensorDesc& hidden = b.tensors()[e->hidden_out_];
  const TensorDesc& mask = b.tensors()[e->mask_];
  if (hidden.rank != 2 || mask.rank != 2) return ACORN_ERROR(kMalformed, "encoder bundle: hidden and attention_mask must be 2-D");
  e->hidden_ = hidden.shape[1];
  e->mask_cols_ = mask.shape[1];
  e->max_tokens_ = b.max_tokens();
  int64_t max_positions = e->max_tokens_, normalize = 1;
  b.GetInt("bert.max_position_embeddings", &max_positions);
  e->max_seq_ = std::min<int64_t>(std::min<int64_t>(e->max_tokens_, max_positions), e->mask_cols_);
  const int type_table = b.FindTensor("token_types");
  e->type_vocab_ = type_table >= 0 ? b.tensors()[type_table].shape[0] : 1;
  if (e->logits_out_ >= 0) e->num_labels_ = b.tensors()[e->logits_out_].shape[1];
  std::string pooling = "mean";
  b.GetString("bert.pooling", &pooling);
  if (pooling != "mean" && pooling != "cls") {
    return ACORN_ERROR(kUnsupported, "encoder bundle: bert.pooling '%s' is not one of mean, cls", pooling.c_str());
  }
  e->pooling_ = pooling == "cls" ? EncoderPooling::kCls : EncoderPooling::kMean;
  b.GetInt("bert.normalize", &normalize);
  e->normalize_ = normalize != 0;
  ACORN_ASSIGN_OR_RETURN(e->session_, Session::Create(model, options));
  e->model_ = std::move(model);
  return e;
}

Status Encoder::Encode(Span<const EncoderInput> inputs, std::vector<EncoderOutput>* outputs,
                       const EncodeOptions& options) {
  int64_t vocab = 0;
  model_->bundle().GetInt("bert.vocab_size", &vocab);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const EncoderInput& in = inputs[i];
    const int64_t n = static_cast<int64_t>(in.ids.size());
    if (n == 0) return ACORN_ERROR(kInvalidArgument, "sequence %zu is empty", i);
    if (n > max_seq_) {
      return ACORN_ERROR(kOutOfRange, "sequence %zu has %lld tokens; this bundle takes at most %lld per sequence "
                         "(truncate it, or reconvert with a larger --max-tokens, up to max_position_embeddings)",
                         i, static_cast<long long>(n), static_cast<long long>(max_seq_));
    }
    if (!in.token_types.empty() && in.token_types.size() != in.ids.size()) {
      return ACORN_ERROR(kInvalidArgument, "sequence %zu has %zu ids but %zu token types", i, in.ids.size(),
                         in.token_types.size());
    }
    for (int64_t t = 0; t < n; ++t) {
      if (in.ids[t] < 0 || (vocab > 0 && in.ids[t] >= vocab)) {
        return ACORN_ERROR(kOutOfRange,
                           "sequence %zu: token id %" PRId32 " at position %lld is outside the vocabulary of %lld", i,
                           in.ids[t], static_cast<long long>(t), static_cast<long long>(vocab));
      }
      if (!in.token_types.empty() && (in.token_types[t] < 0 || in.token_types[t] >= type_vocab_)) {
        return ACORN_ERROR(kOutOfRange,
                           "sequence %zu: token type %" PRId32 " at position %lld is not below type_vocab_size %lld", i,
                           in.token_types[t], static_cast<long long>(t), static_cast<long long>(type_vocab_));
      }
    }
  }
  outputs->clear();
  outputs->resize(inputs.size());
  // Greedy packing in order: as many whole sequences as fit max_tokens rows.
  size_t begin = 0;
  while (begin < inputs.size()) {
    size_t end = begin;
    int64_t rows = 0;
    while (end < inputs.size() && rows + static_cast<int64_t>(inputs[end].ids.size()) <= max_tokens_) {
      rows += static_cast<int64_t>(inputs[end].ids.size());
      ++end;
    }
    ACORN_RETURN_IF_ERROR(RunStep(inputs, begin, end, options, outputs));
    begin = end;
  }
  return Status::Ok();
}

Status Encoder::RunStep(Span<const EncoderInput> inputs, size_t begin, size_t end, const EncodeOptions& options,
                        std::vector<EncoderOutput>* outputs) {
  Session& s = *session_;
  int32_t* ids = static_cast<int32_t*>(s.TensorData(tokens_));
  int32_t* types = static_cast<int32_t*>(s.TensorData(types_));
  int32_t* positions = static_cast<int32_t*>(s.TensorData(positions_));
  float* mask = static_cast<float*>(s.TensorData(mask_));
  int64_t T = 0;
  for (size_t i = begin; i < end; ++i) T += static_cast<int64_t>(inputs[i].ids.size());
  // The attention kernels read row t of the mask at t * kv_len, kv_len = pos + T = T here (each
  // step starts at position 0): rows are packed T floats apart, not the tensor's full width.
  int64_t row = 0;
  for (size_t i = begin; i < end; ++i) {
    const EncoderInput& in = inputs[i];
    const int64_t n = static_cast<int64_t>(in.ids.size());
    for (int64_t t = 0; t < n; ++t) {
      ids[row + t] = in.ids[t];
      types[row + t] = in.token_types.empty() ? 0 : in.token_types[t];
      positions[row + t] = static_cast<int32_t>(t);
      float* m = mask + (row + t) * T;
      for (int64_t j = 0; j < T; ++j) m[j] = (j >= row && j < row + n) ? 0.0f : -INFINITY;
    }
    row += n;
  }
  // Every step attends only to its own rows: start from an empty cache at position 0.
  s.Reset();
  ACORN_RETURN_IF_ERROR(s.Step(T));

  const float* hidden = static_cast<const float*>(s.TensorData(hidden_out_));
  const float* logits = logits_out_ >= 0 ? static_cast<const float*>(s.TensorData(logits_out_)) : nullptr;
  const int64_t H = hidden_;
  row = 0;
  for (size_t i = begin; i < end; ++i) {
    EncoderOutput& out = (*outputs)[i];
    const int64_t n = static_cast<int64_t>(inputs[i].ids.size());
    const float* x = hidden + row * H;
    out.tokens = n;
    if (options.hidden_states) out.hidden.assign(x, x + n * H);
    out.embedding.resize(static_cast<size_t>(H));
    ref::Pool(pooling_ == EncoderPooling::kCls ? ref::PoolKind::kFirst : ref::PoolKind::kMean, x, n, H, nullptr,
              out.embedding.data());
    // torch.nn.functional.normalize's eps, as sentence-transformers' Normalize module uses it.
    if (normalize_) ref::L2NormalizeRows(out.embedding.data(), 1, H, 1e-12f, out.embedding.data());
    if (logits != nullptr) out.logits.assign(logits + row * num_labels_, logits + (row + 1) * num_labels_);
    row += n;
  }
  return Status::Ok();
}

}  // namespace acorn

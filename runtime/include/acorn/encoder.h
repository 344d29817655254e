// Encoder: sentence embeddings, hidden states and class logits from a BERT-family bundle
// (general.architecture "bert", made by acorn-convert).
//
// A batch of sequences of different lengths runs without padding: the sequences are packed one
// after another along the token dimension of a step, and a block-diagonal additive attention mask
// (0 within a sequence, -inf across) keeps them apart, so every matrix product serves the whole
// batch. A batch longer than the bundle's max_tokens runs in several steps, never splitting a
// sequence. Pooling (mean over a sequence's rows or its [CLS] row, then L2 normalization when the
// bundle says so) happens here, per sequence.
//
// One Encoder owns one Session: use one Encoder per thread (they may share the Model).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "acorn/model.h"
#include "acorn/span.h"
#include "acorn/status.h"

namespace acorn {

enum class EncoderPooling { kMean, kCls };

struct EncoderInput {
  Span<const int32_t> ids;          // token ids, special tokens ([CLS] ... [SEP]) included
  Span<const int32_t> token_types;  // empty: all 0; else one per id
};

struct EncoderOutput {
  int64_t tokens = 0;
  std::vector<float> hidden;     // [tokens, hidden_size] last hidden states (when asked for)
  std::vector<float> embedding;  // [hidden_size] pooled (and normalized) sentence embedding
  std::vector<float> logits;     // [num_labels], classifier bundles only
};

struct EncodeOptions {
  bool hidden_states = true;  // copy out last hidden states (else only embeddings and logits)
};

class Encoder {
 public:
  // Fails, saying why, when the model is not an encoder bundle.
  static Result<std::unique_ptr<Encoder>> Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = SessionOptions());

  int64_t hidden_size() const { return hidden_; }
  // Longest sequence accepted: the bundle's max_tokens, capped by its position table.
  int64_t max_sequence_length() const { return max_seq_; }
  int64_t num_labels() const { return num_labels_; }
  EncoderPooling pooling() const { return pooling_; }
  bool normalize() const { return normalize_; }

  // Encodes every input; *outputs receives one entry per input, in order. Fails, with nothing
  // run, if a sequence is empty, too long, or its token types do not match its ids.
  Status Encode(Span<const EncoderInput> inputs, std::vector<EncoderOutput>* outputs,
                const EncodeOptions& options = EncodeOptions());
  // Where the host's time went since the last call, with SessionOptions::profile (Session::HostProfile).
  std::string HostProfile() { return session_->HostProfile(); }

 private:
  Encoder() = default;
  Status RunStep(Span<const EncoderInput> inputs, size_t begin, size_t end, const EncodeOptions& options,
                 std::vector<EncoderOutput>* outputs);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  int tokens_ = -1, types_ = -1, positions_ = -1, mask_ = -1, hidden_out_ = -1, logits_out_ = -1;
  int64_t hidden_ = 0, max_seq_ = 0, max_tokens_ = 0, mask_cols_ = 0, num_labels_ = 0;
  int64_t type_vocab_ = 0;
  EncoderPooling pooling_ = EncoderPooling::kMean;
  bool normalize_ = true;
};

}  // namespace acorn

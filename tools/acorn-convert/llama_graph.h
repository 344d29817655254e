// Builds the op graph and tensor table of a LLaMA-family decoder (LLaMA, Mistral, Qwen2) from a
// Hugging Face checkpoint: embedding, per layer RMSNorm -> q/k/v (+bias) -> RoPE -> causal GQA
// attention over the KV cache -> o, residual, RMSNorm -> SwiGLU MLP, residual; final norm, LM head.
#pragma once

#include <string>
#include <vector>

#include "bundle_writer.h"
#include "hf_config.h"
#include "quant_presets.h"
#include "safetensors.h"

namespace acorn {
namespace convert {

struct ConvertOptions {
  DType dtype = DType::kF16;  // for matrices; norms and biases stay f32
  // A llama.cpp preset (--dtype q4_k_m, ...): each matrix gets the preset's type for its role and
  // layer (quant_presets.h); `dtype` then names the preset's base type.
  QuantPreset preset = QuantPreset::kNone;
  // Each matrix keeps the dtype its source stores it in where acorn has it (GGUF without --dtype);
  // `dtype` then only names the most common one.
  bool keep_source_dtypes = false;
  bool compress = false;
  uint32_t max_tokens = 128;  // rows per step the arena is planned for
  uint32_t context = 0;       // 0: min(max_position_embeddings, 4096)
};

// Where weights come from: a checkpoint, or random values of the right shapes (benchmarks).
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool Has(const std::string& name) const = 0;
  // Checks that `name` exists with `shape` and returns the fill that writes it as `dtype`.
  virtual Result<BundleWriter::Fill> Fill(const std::string& name, const std::vector<int64_t>& shape, DType dtype) const = 0;
  // The dtype `name` is stored in at the source, when it is one a bundle can keep as it is; false
  // (and *dtype untouched) otherwise. Sources that hold only plain floats need not answer.
  virtual bool SourceDType(const std::string& name, DType* dtype) const {
    (void)name;
    (void)dtype;
    return false;
  }
};

// Weights read from a safetensors checkpoint, converted row by row to the bundle's dtype.
class CheckpointWeights : public WeightSource {
 public:
  explicit CheckpointWeights(const SafetensorsCheckpoint& ckpt) : ckpt_(ckpt) {}
  bool Has(const std::string& name) const override { return ckpt_.Find(name) != nullptr; }
  Result<BundleWriter::Fill> Fill(const std::string& name, const std::vector<int64_t>& shape, DType dtype) const override;

 private:
  const SafetensorsCheckpoint& ckpt_;
};

// Deterministic random weights written straight in the target format (block formats get random
// quants and small scales), for benchmark models of real shapes without a checkpoint.
class RandomWeights : public WeightSource {
 public:
  explicit RandomWeights(uint64_t seed) : seed_(seed) {}
  bool Has(const std::string& name) const override { return name != "lm_head.weight" || !tied_; }
  Result<BundleWriter::Fill> Fill(const std::string& name, const std::vector<int64_t>& shape, DType dtype) const override;
  void set_tied(bool tied) { tied_ = tied; }

 private:
  uint64_t seed_;
  bool tied_ = false;
};

// Index of the first NaN or infinity in x[0, n), or -1. Weights must be finite: quantizing a NaN is
// undefined behaviour and a single one turns every logit into NaN.
int64_t FirstNonFinite(const float* x, int64_t n);
// The error for weight `tensor` holding the non-finite `value` at (row, col) of a [rows, cols] matrix.
Status NonFiniteWeight(const std::string& tensor, int64_t row, int64_t cols, int64_t col, float value);

Status BuildLlamaBundle(const LlamaConfig& config, const WeightSource& weights, const ConvertOptions& options,
                        BundleWriter* writer);

}  // namespace convert
}  // namespace acorn

#include "gguf_weights.h"

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "acorn/half.h"
#include "reference_kernels.h"

namespace acorn {
namespace convert {

namespace {

const char* const kSupportedTypes = "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS";

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The weights the llama graph reads (block tensors by their suffix after "blk.N.").
bool IsModelWeight(const std::string& gguf_name) {
  if (gguf_name == "token_embd.weight" || gguf_name == "output_norm.weight" || gguf_name == "output.weight") return true;
  return StartsWith(gguf_name, "blk.");
}

bool IsMatrix(const GgufTensor& t) { return t.ne.size() >= 2; }

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// llama.cpp's convert_hf_to_gguf.py stores q/k rows of each head as (pair index, half) instead of
// Hugging Face's (half, pair index): GGUF row h*hd + 2*i + s holds HF row h*hd + s*hd/2 + i.
// Returns the GGUF row that holds HF row r.
int64_t PermutedRow(int64_t r, int64_t head_dim) {
  const int64_t h = r / head_dim, rem = r % head_dim, half = head_dim / 2;
  return h * head_dim + 2 * (rem % half) + rem / half;
}

}  // namespace

std::string GgufTensorName(const std::string& hf) {
  static const std::map<std::string, std::string> kTop = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  auto top = kTop.find(hf);
  if (top != kTop.end()) return top->second;
  const std::string prefix = "model.layers.";
  if (!StartsWith(hf, prefix.c_str())) return "";
  const size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  auto layer = kLayer.find(hf.substr(dot + 1));
  if (layer == kLayer.end()) return "";
  return "blk." + hf.substr(prefix.size(), dot - prefix.size()) + "." + layer->second;
}

Result<DType> DTypeFromGgml(const GgufTensor& t) {
  switch (static_cast<GgmlType>(t.type)) {
    case GgmlType::kF32: return DType::kF32;
    case GgmlType::kF16: return DType::kF16;
    case GgmlType::kBF16: return DType::kBF16;
    case GgmlType::kQ8_0: return DType::kQ8_0;
    case GgmlType::kQ4_0: return DType::kQ4_0;
    case GgmlType::kQ4_1: return DType::kQ4_1;
    case GgmlType::kQ5_0: return DType::kQ5_0;
    case GgmlType::kQ5_1: return DType::kQ5_1;
    case GgmlType::kQ2_K: return DType::kQ2_K;
    case GgmlType::kQ3_K: return DType::kQ3_K;
    case GgmlType::kQ4_K: return DType::kQ4_K;
    case GgmlType::kQ5_K: return DType::kQ5_K;
    case GgmlType::kQ6_K: return DType::kQ6_K;
    case GgmlType::kIQ4_NL: return DType::kIQ4_NL;
    case GgmlType::kIQ4_XS: return DType::kIQ4_XS;
  }
  // --dtype cannot help here: requantizing starts from values acorn can decode.
  return ACORN_ERROR(kUnsupported, "tensor %s has type %s, which acorn cannot read yet (it reads %s, each tensor "
                     "kept in its own type). Requantize the file with `llama-quantize --allow-requantize --pure "
                     "IN.gguf OUT.gguf Q4_K` (or another type acorn reads), or convert the Hugging Face checkpoint "
                     "with `acorn-convert MODEL_DIR --dtype q8_0` (or q4_0, q4_1, q5_0, q5_1)", t.name.c_str(),
                     GgmlTypeName(t.type).c_str(), kSupportedTypes);
}

Result<DType> GgufMatrixDType(const GgufFile& file, bool* mixed) {
  std::map<DType, int> counts;
  for (const GgufTensor& t : file.tensors()) {
    if (!IsModelWeight(t.name)) continue;
    ACORN_ASSIGN_OR_RETURN(DType d, DTypeFromGgml(t));
    if (IsMatrix(t)) ++counts[d];
  }
  if (counts.empty()) return ACORN_ERROR(kMalformed, "%s: holds no weight matrices (token_embd, blk.N.*)", file.label().c_str());
  DType best = counts.begin()->first;
  for (const auto& c : counts) {
    if (c.second > counts[best]) best = c.first;
  }
  *mixed = counts.size() > 1;
  return best;
}

Result<LlamaConfig> LlamaConfigFromGguf(const GgufFile& f) {
  const std::string& path = f.label();
  ACORN_ASSIGN_OR_RETURN(std::string arch, f.GetString("general.architecture", ""));
  if (arch != "llama") {
    return ACORN_ERROR(kUnsupported, "%s: general.architecture is '%s'; acorn imports GGUF files of the 'llama' "
                       "architecture (LLaMA, Mistral and their fine-tunes); convert other models from their Hugging "
                       "Face checkpoint", path.c_str(), arch.c_str());
  }
  LlamaConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  const std::string p = "llama.";
  ACORN_ASSIGN_OR_RETURN(int64_t experts, f.GetInt(p + "expert_count", 0));
  if (experts > 0) return ACORN_ERROR(kUnsupported, "%s: mixture-of-experts models (llama.expert_count = %lld) are not supported", path.c_str(), static_cast<long long>(experts));
  ACORN_ASSIGN_OR_RETURN(c.hidden, f.GetInt(p + "embedding_length", 0));
  ACORN_ASSIGN_OR_RETURN(c.layers, f.GetInt(p + "block_count", 0));
  ACORN_ASSIGN_OR_RETURN(c.intermediate, f.GetInt(p + "feed_forward_length", 0));
  ACORN_ASSIGN_OR_RETURN(c.heads, f.GetInt(p + "attention.head_count", 0));
  ACORN_ASSIGN_OR_RETURN(c.kv_heads, f.GetInt(p + "attention.head_count_kv", c.heads));
  ACORN_ASSIGN_OR_RETURN(c.max_positions, f.GetInt(p + "context_length", 2048));
  ACORN_ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_rms_epsilon", 1e-5));
  c.rms_eps = static_cast<float>(eps);
  if (c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.intermediate <= 0 || c.max_positions <= 0) {
    return ACORN_ERROR(kMalformed, "%s: llama.embedding_length, block_count, feed_forward_length, attention.head_count "
                       "and context_length must all be present and positive", path.c_str());
  }
  if (c.hidden % c.heads != 0 && f.Find(p + "attention.key_length") == nullptr) {
    return ACORN_ERROR(kMalformed, "%s: llama.embedding_length %lld is not a multiple of the %lld heads and "
                       "llama.attention.key_length is absent", path.c_str(), static_cast<long long>(c.hidden),
                       static_cast<long long>(c.heads));
  }
  ACORN_ASSIGN_OR_RETURN(c.head_dim, f.GetInt(p + "attention.key_length", c.hidden / c.heads));
  ACORN_ASSIGN_OR_RETURN(int64_t value_dim, f.GetInt(p + "attention.value_length", c.head_dim));
  ACORN_ASSIGN_OR_RETURN(int64_t rope_dims, f.GetInt(p + "rope.dimension_count", c.head_dim));
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || value_dim != c.head_dim || rope_dims != c.head_dim ||
      c.heads % c.kv_heads != 0) {
    return ACORN_ERROR(kUnsupported, "%s: head_dim %lld (value %lld, rotary %lld) with %lld heads and %lld key/value "
                       "heads is not supported", path.c_str(), static_cast<long long>(c.head_dim),
                       static_cast<long long>(value_dim), static_cast<long long>(rope_dims),
                       static_cast<long long>(c.heads), static_cast<long long>(c.kv_heads));
  }
  const GgufTensor* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->ne.size() != 2) return ACORN_ERROR(kMalformed, "%s: no 2-D token_embd.weight tensor", path.c_str());
  c.vocab = static_cast<int64_t>(embd->ne[1]);
  // Every number bounded before it sizes anything (the RoPE table below, tensors, the KV cache).
  ACORN_RETURN_IF_ERROR(CheckLlamaShape(c, path));
  ACORN_ASSIGN_OR_RETURN(int64_t vocab_key, f.GetInt(p + "vocab_size", c.vocab));
  if (vocab_key != c.vocab) {
    return ACORN_ERROR(kMalformed, "%s: llama.vocab_size %lld disagrees with token_embd.weight (%lld rows)", path.c_str(),
                       static_cast<long long>(vocab_key), static_cast<long long>(c.vocab));
  }
  c.tie_embeddings = f.FindTensor("output.weight") == nullptr;
  c.attention_bias = f.FindTensor("blk.0.attn_q.bias") != nullptr;
  bool mixed = false;
  ACORN_ASSIGN_OR_RETURN(DType matrices, GgufMatrixDType(f, &mixed));
  c.torch_dtype = std::string("gguf ") + DTypeName(matrices) + (mixed ? " (mixed)" : "");

  // RoPE: base frequencies computed exactly as hf_config.cpp does (float arithmetic, as transformers).
  ACORN_ASSIGN_OR_RETURN(double base, f.GetFloat(p + "rope.freq_base", 10000.0));
  c.rope_theta = static_cast<float>(base);
  c.inv_freq.resize(static_cast<size_t>(c.head_dim / 2));
  for (int64_t i = 0; i < c.head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(c.head_dim);
    c.inv_freq[i] = 1.0f / std::pow(c.rope_theta, exponent);
  }
  ACORN_ASSIGN_OR_RETURN(std::string scaling, f.GetString(p + "rope.scaling.type", "none"));
  ACORN_ASSIGN_OR_RETURN(double linear, f.GetFloat(p + "rope.scale_linear", 1.0));  // older files
  if (scaling == "linear") {
    ACORN_ASSIGN_OR_RETURN(linear, f.GetFloat(p + "rope.scaling.factor", 1.0));
  } else if (scaling != "none" && !scaling.empty()) {
    return ACORN_ERROR(kUnsupported, "%s: llama.rope.scaling.type '%s' is not supported (none, linear, and llama3 "
                       "factors in rope_freqs.weight are)", path.c_str(), scaling.c_str());
  }
  if (!(linear > 0)) return ACORN_ERROR(kMalformed, "%s: the RoPE scaling factor must be positive", path.c_str());
  if (linear != 1.0) {
    c.rope_type = "linear";
    for (float& v : c.inv_freq) v /= static_cast<float>(linear);
  }
  // llama3-style scaling is stored as per-frequency divisors (llama.cpp: theta / freq_factor).
  if (const GgufTensor* rf = f.FindTensor("rope_freqs.weight")) {
    if (rf->type != static_cast<uint32_t>(GgmlType::kF32) || rf->ne.size() != 1 ||
        rf->ne[0] != static_cast<uint64_t>(c.head_dim / 2)) {
      return ACORN_ERROR(kMalformed, "%s: rope_freqs.weight must be F32 with head_dim / 2 = %lld values", path.c_str(),
                         static_cast<long long>(c.head_dim / 2));
    }
    for (size_t i = 0; i < c.inv_freq.size(); ++i) {
      float factor;
      std::memcpy(&factor, rf->data + i * 4, 4);
      if (!(factor > 0)) return ACORN_ERROR(kMalformed, "%s: rope_freqs.weight[%zu] is not positive", path.c_str(), i);
      c.inv_freq[i] /= factor;
    }
    c.rope_type = "llama3";
  }

  ACORN_ASSIGN_OR_RETURN(c.bos_token_id, f.GetInt("tokenizer.ggml.bos_token_id", -1));
  ACORN_ASSIGN_OR_RETURN(c.eos_token_id, f.GetInt("tokenizer.ggml.eos_token_id", -1));
  ACORN_ASSIGN_OR_RETURN(int64_t eot, f.GetInt("tokenizer.ggml.eot_token_id", -1));
  if (c.eos_token_id >= 0) c.eos_token_ids.push_back(c.eos_token_id);
  if (eot >= 0 && eot != c.eos_token_id) c.eos_token_ids.push_back(eot);  // chat models stop here too
  ACORN_RETURN_IF_ERROR(CheckLlamaConfig(c, path));
  return c;
}

bool GgufWeights::SourceDType(const std::string& name, DType* dtype) const {
  const std::string g = name_(name);
  const GgufTensor* t = g.empty() ? nullptr : file_.FindTensor(g);
  if (t == nullptr) return false;
  Result<DType> d = DTypeFromGgml(*t);
  if (!d.ok()) return false;  // Fill refuses it, naming the tensor and type
  *dtype = *d;
  return true;
}

bool GgufWeights::Has(const std::string& name) const {
  const std::string g = name_(name);
  return !g.empty() && file_.FindTensor(g) != nullptr;
}

Result<BundleWriter::Fill> GgufWeights::Fill(const std::string& name, const std::vector<int64_t>& shape, DType dtype) const {
  const std::string g = name_(name);
  const GgufTensor* t = g.empty() ? nullptr : file_.FindTensor(g);
  if (t == nullptr) {
    return ACORN_ERROR(kNotFound, "%s: no tensor %s (needed as %s)", file_.label().c_str(),
                       g.empty() ? "?" : g.c_str(), name.c_str());
  }
  // GGUF lists dimensions innermost first: an [out, in] matrix has ne = [in, out].
  std::vector<int64_t> hf_shape(t->ne.rbegin(), t->ne.rend());
  if (hf_shape != shape) {
    return ACORN_ERROR(kMalformed, "%s: tensor %s has shape %s (ne reversed) but the file's metadata implies %s",
                       file_.label().c_str(), g.c_str(), ShapeText(hf_shape).c_str(), ShapeText(shape).c_str());
  }
  ACORN_ASSIGN_OR_RETURN(DType src, DTypeFromGgml(*t));
  if (t->data == nullptr) return ACORN_ERROR(kInternal, "tensor %s has no data", g.c_str());

  // Rows are the unit that is copied or converted. q/k weights and biases are reordered by row
  // (a bias row is one element).
  int64_t permute_heads = 0;
  if (EndsWith(g, ".attn_q.weight") || EndsWith(g, ".attn_q.bias")) permute_heads = q_heads_;
  if (EndsWith(g, ".attn_k.weight") || EndsWith(g, ".attn_k.bias")) permute_heads = k_heads_;
  const bool bias = t->ne.size() == 1;
  int64_t cols = static_cast<int64_t>(t->ne[0]);
  int64_t rows = static_cast<int64_t>(t->Rows());
  if (bias && permute_heads > 0) {
    if (GetDTypeInfo(src).quantized) return ACORN_ERROR(kUnsupported, "tensor %s: a quantized bias", g.c_str());
    rows = cols;
    cols = 1;
  }
  const int64_t head_dim = permute_heads > 0 ? rows / permute_heads : 0;
  if (permute_heads > 0 && (head_dim * permute_heads != rows || head_dim % 2 != 0)) {
    return ACORN_ERROR(kMalformed, "tensor %s: %lld rows do not split into %lld heads of even size", g.c_str(),
                       static_cast<long long>(rows), static_cast<long long>(permute_heads));
  }
  uint64_t src_row = 0, dst_row = 0;
  if (!RowBytes(src, static_cast<uint64_t>(cols), &src_row) || !RowBytes(dtype, static_cast<uint64_t>(cols), &dst_row)) {
    return ACORN_ERROR(kUnsupported, "tensor %s: rows of %lld elements cannot be stored as %s", g.c_str(),
                       static_cast<long long>(cols), DTypeName(dtype));
  }
  if (src_row * static_cast<uint64_t>(rows) != t->bytes) return ACORN_ERROR(kInternal, "tensor %s: size mismatch", g.c_str());
  if (dtype == DType::kI32 || dtype == DType::kI8) return ACORN_ERROR(kUnsupported, "cannot store weights as %s", DTypeName(dtype));
  return BundleWriter::Fill([t, src, dtype, rows, cols, src_row, dst_row, head_dim, g](uint8_t* dst, uint64_t size) -> Status {
    if (dst_row * static_cast<uint64_t>(rows) != size) return ACORN_ERROR(kInternal, "size mismatch writing %s", g.c_str());
    // Every row is decoded, even when its bytes are copied, to refuse NaN and infinite weights
    // (a NaN scale in a Q8_0 block included).
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t from = head_dim > 0 ? PermutedRow(r, head_dim) : r;
      const uint8_t* in = t->data + static_cast<uint64_t>(from) * src_row;
      uint8_t* out = dst + static_cast<uint64_t>(r) * dst_row;
      ref::DequantizeRow(src, in, row.data(), cols);
      const int64_t bad = FirstNonFinite(row.data(), cols);
      if (bad >= 0) return NonFiniteWeight(t->name, from, cols, bad, row[bad]);
      if (src == dtype) {
        std::memcpy(out, in, src_row);  // the lossless path: blocks as they are in the file
      } else {
        ref::QuantizeRow(dtype, row.data(), out, cols);
      }
    }
    return Status::Ok();
  });
}

}  // namespace convert
}  // namespace acorn

#include "quant_presets.h"

#include <cstdlib>
#include <cstring>

namespace acorn {
namespace convert {

namespace {

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between.
bool UseMoreBits(int64_t i_layer, int64_t n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

bool EndsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// N of "model.layers.N.", or -1.
int64_t LayerOf(const std::string& name) {
  const char* prefix = "model.layers.";
  if (name.compare(0, std::strlen(prefix), prefix) != 0) return -1;
  return std::strtoll(name.c_str() + std::strlen(prefix), nullptr, 10);
}

}  // namespace

bool ParseQuantPreset(const std::string& name, QuantPreset* preset) {
  struct Entry {
    const char* name;
    QuantPreset preset;
  };
  static const Entry kPresets[] = {{"q2_k", QuantPreset::kQ2_K},     {"q3_k_s", QuantPreset::kQ3_K_S},
                                   {"q3_k_m", QuantPreset::kQ3_K_M}, {"q3_k", QuantPreset::kQ3_K_M},
                                   {"q3_k_l", QuantPreset::kQ3_K_L}, {"q4_k_s", QuantPreset::kQ4_K_S},
                                   {"q4_k_m", QuantPreset::kQ4_K_M},
                                   {"q4_k", QuantPreset::kQ4_K_M},   {"q5_k_s", QuantPreset::kQ5_K_S},
                                   {"q5_k_m", QuantPreset::kQ5_K_M}, {"q5_k", QuantPreset::kQ5_K_M},
                                   {"q6_k", QuantPreset::kQ6_K}};
  for (const Entry& e : kPresets) {
    if (name == e.name) {
      *preset = e.preset;
      return true;
    }
  }
  return false;
}

const char* QuantPresetNames() {
  return "q2_k, q3_k_s, q3_k_m, q3_k (= q3_k_m), q3_k_l, q4_k_s, q4_k_m, q4_k (= q4_k_m), q5_k_s, q5_k_m, "
         "q5_k (= q5_k_m), q6_k";
}

DType QuantPresetBaseType(QuantPreset preset) {
  switch (preset) {
    case QuantPreset::kQ2_K: return DType::kQ2_K;
    case QuantPreset::kQ3_K_S:
    case QuantPreset::kQ3_K_M:
    case QuantPreset::kQ3_K_L: return DType::kQ3_K;
    case QuantPreset::kQ4_K_S:
    case QuantPreset::kQ4_K_M: return DType::kQ4_K;
    case QuantPreset::kQ5_K_S:
    case QuantPreset::kQ5_K_M: return DType::kQ5_K;
    case QuantPreset::kQ6_K: return DType::kQ6_K;
    case QuantPreset::kNone: break;
  }
  return DType::kF16;
}

DType FallbackForRows(DType type, int64_t cols) {
  const DTypeInfo& info = GetDTypeInfo(type);
  if (cols % info.block_elems == 0) return type;
  DType fallback = DType::kF16;
  switch (type) {
    case DType::kQ2_K:
    case DType::kQ3_K: fallback = DType::kQ4_0; break;
    case DType::kQ4_K: fallback = DType::kQ5_0; break;
    case DType::kQ5_K: fallback = DType::kQ5_1; break;
    case DType::kQ6_K: fallback = DType::kQ8_0; break;
    case DType::kIQ4_XS: fallback = DType::kIQ4_NL; break;
    default: break;
  }
  return cols % GetDTypeInfo(fallback).block_elems == 0 ? fallback : DType::kF16;
}

DType QuantPresetMatrixType(QuantPreset preset, const std::string& hf_name, int64_t cols, int64_t layers, int64_t gqa,
                            bool tied) {
  using P = QuantPreset;
  const DType base = QuantPresetBaseType(preset);
  DType type = base;
  const int64_t layer = LayerOf(hf_name);
  const bool m_mix = preset == P::kQ4_K_M || preset == P::kQ5_K_M;
  if (hf_name == "lm_head.weight" || (tied && hf_name == "model.embed_tokens.weight")) {
    // The output matrix: Q6_K, or Q8_0 when its rows are not whole blocks of the base type.
    type = cols % GetDTypeInfo(base).block_elems != 0 ? DType::kQ8_0 : DType::kQ6_K;
  } else if (EndsWith(hf_name, "self_attn.v_proj.weight")) {
    // attn_v tensors are counted in file order, which is layer order.
    if (preset == P::kQ2_K) {
      type = gqa >= 4 ? DType::kQ4_K : DType::kQ3_K;
    } else if (preset == P::kQ3_K_M) {
      type = layer < 2 ? DType::kQ5_K : DType::kQ4_K;
    } else if (preset == P::kQ3_K_L) {
      type = DType::kQ5_K;
    } else if (m_mix && UseMoreBits(layer, layers)) {
      type = DType::kQ6_K;
    } else if (preset == P::kQ4_K_S && layer < 4) {
      type = DType::kQ5_K;
    }
    // llama.cpp's 70B rule (80 layers with grouped KV heads): attn_v is 8x smaller than attn_q there.
    if (layers == 80 && gqa > 1 && (type == DType::kQ3_K || type == DType::kQ4_K)) type = DType::kQ5_K;
  } else if (EndsWith(hf_name, "mlp.down_proj.weight")) {
    if (preset == P::kQ2_K) {
      type = DType::kQ3_K;
    } else if (preset == P::kQ3_K_M) {
      type = layer < layers / 16 ? DType::kQ5_K : DType::kQ4_K;
    } else if (preset == P::kQ3_K_L) {
      type = DType::kQ5_K;
    } else if (m_mix && UseMoreBits(layer, layers)) {
      type = DType::kQ6_K;
    } else if (preset == P::kQ4_K_S && layer < layers / 8) {
      type = DType::kQ5_K;
    }
  } else if (EndsWith(hf_name, "self_attn.o_proj.weight")) {
    if (preset == P::kQ2_K) type = DType::kQ3_K;
    if (preset == P::kQ3_K_M) type = DType::kQ4_K;
    if (preset == P::kQ3_K_L) type = DType::kQ5_K;
  }
  return FallbackForRows(type, cols);
}

}  // namespace convert
}  // namespace acorn

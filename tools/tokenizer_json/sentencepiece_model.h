// Reads a SentencePiece `tokenizer.model` (protobuf ModelProto) of the BPE kind (Llama 2 and its
// relatives) into an acorn::TokenizerSpec laid out as Hugging Face's published tokenizer.json files
// for those models are (transformers' LlamaConverter, legacy mode): Prepend "▁" + Replace " " -> "▁"
// normalizer, BPE with byte fallback and merges derived from the piece scores, control and unknown
// pieces as special added tokens, a BOS template, and the Replace/ByteFallback/Fuse/Strip decoder.
// Unigram models and models with a precompiled normalization map are refused (kUnsupported).
#pragma once

#include <string>
#include <string_view>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"

namespace acorn {

Result<TokenizerSpec> ParseSentencePieceModel(std::string_view model_bytes);
Result<TokenizerSpec> LoadSentencePieceModelFile(const std::string& path);

}  // namespace acorn

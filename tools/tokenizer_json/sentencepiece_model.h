// Reads a SentencePiece `tokenizer.model` (protobuf ModelProto) of the BPE kind (Llama 2 and its
// relatives) into an acorn::TokenizerSpec laid out as Hugging Face's published tokenizer.json files
// for those models are (transformers' LlamaConverter, legacy mode): Prepend "▁" + Replace " " -> "▁"
// normalizer, BPE with byte fallback and merges derived from the piece scores, control and unknown
// pieces as special added tokens, a BOS template, and the Replace/ByteFallback/Fuse/Strip decoder.
// User-defined pieces are found in the normalized text, as SentencePiece finds them (unless the model
// adds a dummy prefix). Unigram models and models with a precompiled normalization map are refused
// (kUnsupported).
#pragma once

#include <string>
#include <string_view>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"

namespace acorn {

Result<TokenizerSpec> ParseSentencePieceModel(std::string_view model_bytes);
// Also reads special_tokens_map.json and tokenizer_config.json when they sit beside the model: the
// tokens they name special (*_token, additional_special_tokens, added_tokens_decoder entries with
// "special": true) become special, so that decoding skips what transformers skips.
Result<TokenizerSpec> LoadSentencePieceModelFile(const std::string& path);

}  // namespace acorn

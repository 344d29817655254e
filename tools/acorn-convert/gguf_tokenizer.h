// The tokenizer stored in a GGUF file's tokenizer.ggml.* keys, as an acorn::TokenizerSpec laid out as
// the Hugging Face tokenizer.json of the same model would be:
//  - "llama" (SentencePiece BPE, Llama 2 and relatives): the pieces, scores and token types are
//    re-encoded as a SentencePiece ModelProto and read by ParseSentencePieceModel, so both sources
//    go through one converter (merges derived from scores, byte fallback, the ▁ normalizer).
//  - "gpt2" (byte-level BPE): vocabulary and merges as they are; the pre-tokenizer follows
//    tokenizer.ggml.pre (gpt2, llama-bpe (Llama 3), qwen2, smollm); other pre-tokenizers are refused.
// Control tokens become special added tokens; tokenizer.ggml.add_bos_token decides the BOS template.
#pragma once

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "gguf_reader.h"

namespace acorn {
namespace convert {

// kNotFound when the file carries no tokenizer.ggml.model; kUnsupported for a model or
// pre-tokenizer acorn cannot reproduce exactly.
Result<TokenizerSpec> TokenizerSpecFromGguf(const GgufFile& file);

}  // namespace convert
}  // namespace acorn

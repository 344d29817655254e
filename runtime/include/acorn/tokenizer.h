// acorn::Tokenizer: text <-> token ids, identical to Hugging Face `tokenizers` for byte-level BPE
// (GPT-2, Llama 3), SentencePiece-style BPE with byte fallback (Llama 2) and WordPiece (BERT).
// Built from a TokenizerSpec (tokenizer_spec.h), which comes from a tokenizer.json
// (tools/tokenizer_json) or from a bundle (TokenizerSpecFromBundle in tokenizer_bundle.h).
//
// Input text that is not valid UTF-8 is repaired first: each maximal ill-formed byte sequence
// becomes U+FFFD, exactly as Python's bytes.decode("utf-8", "replace") would before handing the
// text to Hugging Face. A Tokenizer is immutable after Create and safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acorn/span.h"
#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"

namespace acorn {

struct TokenizeOptions {
  // HF: add_special_tokens (the post-processor's template, such as BOS).
  bool add_special_tokens = true;
  // HF: split_special_tokens. Special tokens written in the text are not recognized anywhere: their
  // text is encoded as ordinary pieces.
  bool split_special_tokens = false;
  // Byte ranges [begin, end) of the text, sorted and disjoint, in which special tokens are not
  // recognized, while the rest of the text keeps them: for text of untrusted origin spliced into
  // trusted markup, such as the messages of a rendered chat template (a user who types
  // "<|im_end|>" must not end their turn).
  std::vector<std::pair<size_t, size_t>> untrusted;
};

class Tokenizer {
 public:
  // Validates the spec (ids in range, merges and patterns well-formed) and builds the lookups.
  static Result<Tokenizer> Create(TokenizerSpec spec);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // HF: tokenizer.encode(text, add_special_tokens=...).ids into *ids. Fails (kOutOfRange) when the
  // tokenizer's own patterns exceed their limits on this text (core/limits.h: regex steps per
  // byte, normalizer growth): a hostile tokenizer file, never ordinary text with a real one.
  Status Encode(std::string_view text, const TokenizeOptions& options, std::vector<int32_t>* ids) const;
  // The same for text and tokenizers the caller trusts: on failure, an empty vector.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = true) const;
  // HF: tokenizer.decode(ids, skip_special_tokens=...). Ids that name no token are skipped, as HF does.
  std::string Decode(Span<const int32_t> ids, bool skip_special_tokens = false) const;

  // One past the largest id of the vocabulary or the added tokens.
  int32_t vocab_size() const;
  // -1 when the token is unknown. Added tokens first, then the model's vocabulary.
  int32_t TokenToId(std::string_view token) const;
  // "" when the id names no token.
  std::string_view IdToToken(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  const TokenizerSpec& spec() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace acorn

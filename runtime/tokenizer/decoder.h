// The decoder pipeline (HF `decoders`): each step maps the list of token strings to a new list
// (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, WordPiece, BPE suffix); the text is
// the concatenation of the final list. Without steps, tokens are joined with spaces (as HF does).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "tokenizer/regex.h"

namespace acorn {

class Decoder {
 public:
  static Result<Decoder> Create(const std::vector<DecoderStep>& steps);
  std::string Decode(std::vector<std::string> tokens) const;

 private:
  std::vector<DecoderStep> steps_;
  std::vector<std::unique_ptr<Regex>> regexes_;
  std::vector<uint32_t> strip_chars_;  // per step: the character Strip removes
};

}  // namespace acorn

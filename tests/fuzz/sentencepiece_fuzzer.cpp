// libFuzzer target for SentencePiece tokenizer.model files (protobuf ModelProto): any byte string is
// either refused with a Status that says why, or becomes a tokenizer that encodes and decodes text
// without crashing, hanging or allocating without bound (core/limits.h).
//
// Links: acorn_tokenizer_json (which brings acorn_tokenizer and acorn_runtime); and
// -fsanitize=fuzzer. Seeds: tests/fuzz/seeds/sentencepiece/.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acorn/tokenizer.h"
#include "sentencepiece_model.h"

namespace {

void RequireMessage(const acorn::Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

void EncodeDecode(const acorn::Tokenizer& tok, std::string_view text) {
  std::vector<int32_t> ids;
  acorn::Status st = tok.Encode(text, acorn::TokenizeOptions(), &ids);
  RequireMessage(st);
  if (!st.ok()) return;
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
  }
  (void)tok.Decode(acorn::Span<const int32_t>(ids.data(), ids.size()));
  (void)tok.Decode(acorn::Span<const int32_t>(ids.data(), ids.size()), true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto spec = acorn::ParseSentencePieceModel(bytes);
  RequireMessage(spec.status());
  if (!spec.ok()) return 0;
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  RequireMessage(tok.status());
  if (!tok.ok()) return 0;
  static const std::string kFixed = "Hello world  123!\n caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \xFF <s></s> a";
  EncodeDecode(*tok, kFixed);
  // The input's own bytes: SentencePiece pieces are what the text must contain to merge.
  const size_t tail = size < 256 ? size : 256;
  EncodeDecode(*tok, bytes.substr(size - tail));
  return 0;
}

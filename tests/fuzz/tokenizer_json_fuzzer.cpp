// libFuzzer target for tokenizer.json: any byte string is either refused with a Status that says why,
// or becomes a tokenizer that encodes and decodes text without crashing, hanging or allocating
// without bound (core/limits.h). Encoding may still fail with a Status (a hostile pattern that runs
// out of regex steps); that too must carry a message.
//
// Links: acorn_tokenizer_json (which brings acorn_tokenizer and acorn_runtime), nlohmann_json; and
// -fsanitize=fuzzer. Seeds: tests/fuzz/seeds/tokenizer_json/.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acorn/tokenizer.h"
#include "tokenizer_json.h"

namespace {

void RequireMessage(const acorn::Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

void EncodeDecode(const acorn::Tokenizer& tok, std::string_view text, bool split_special) {
  acorn::TokenizeOptions options;
  options.split_special_tokens = split_special;
  std::vector<int32_t> ids;
  acorn::Status st = tok.Encode(text, options, &ids);
  RequireMessage(st);
  if (!st.ok()) return;
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.vocab_size()) __builtin_trap();  // ids always name the vocabulary
  }
  std::string back = tok.Decode(acorn::Span<const int32_t>(ids.data(), ids.size()));
  std::string back_skip = tok.Decode(acorn::Span<const int32_t>(ids.data(), ids.size()), true);
  (void)back;
  (void)back_skip;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // ParseTokenizerJson must not throw; catching here would hide the bug the target looks for.
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto spec = acorn::ParseTokenizerJson(bytes);
  RequireMessage(spec.status());
  if (!spec.ok()) return 0;
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  RequireMessage(tok.status());
  if (!tok.ok()) return 0;
  // A fixed text that exercises the usual paths (words, digits, punctuation, white space runs,
  // non-ASCII, invalid UTF-8, text that looks like special tokens) ...
  static const std::string kFixed =
      "Hello world's  end 123!!\n\n  x <|im_end|><s>[CLS] caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 \xFF\xFE a";
  EncodeDecode(*tok, kFixed, false);
  EncodeDecode(*tok, kFixed, true);
  // ... and one derived from the input, so that the fuzzer can steer the text toward what its
  // patterns and vocabulary react to: the tail of the input, at most 256 bytes.
  const size_t tail = size < 256 ? size : 256;
  EncodeDecode(*tok, std::string_view(bytes).substr(size - tail), false);
  // Decode of arbitrary ids (including ones outside the vocabulary) never fails.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 4 <= tail; i += 4) {
    int32_t id;
    __builtin_memcpy(&id, data + size - tail + i, 4);
    ids.push_back(id % (tok->vocab_size() + 8));
  }
  (void)tok->Decode(acorn::Span<const int32_t>(ids.data(), ids.size()));
  return 0;
}

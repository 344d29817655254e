// Loading the tokenizer fixtures of tests/fixtures/tokenizer: real tokenizer.json files (some
// zstd-compressed), the variants derived from them, the corpus and the goldens.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "acorn/tokenizer.h"

namespace acorn_test {

std::string FixturePath(const std::string& name);
std::string ReadFileOrDie(const std::string& path);
// A fixture file's bytes; reads NAME, or NAME.zst decompressed.
std::string ReadFixture(const std::string& name);
// The tokenizer.json text of a base fixture ("llama3") or a variant ("gpt2-prefix").
std::string TokenizerJsonText(const std::string& name);
// The tokenizer built from that text; aborts the test binary on failure.
const acorn::Tokenizer& GetTokenizer(const std::string& name);
const nlohmann::json& Corpus();
const nlohmann::json& Goldens();
// The bytes of a corpus entry (its "text", or its "hex" decoded).
std::string CorpusBytes(const nlohmann::json& entry);

}  // namespace acorn_test

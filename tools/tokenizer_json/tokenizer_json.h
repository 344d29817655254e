// Reads a Hugging Face tokenizer.json into an acorn::TokenizerSpec (tools only: uses nlohmann_json
// and exceptions internally; errors come back as a Status naming the offending field).
#pragma once

#include <string>
#include <string_view>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"

namespace acorn {

// Never throws: malformed JSON, values of the wrong type (named by their key path) and values past
// core/limits.h (vocabulary size, token ids, pipeline lengths) all come back as a Status.
Result<TokenizerSpec> ParseTokenizerJson(std::string_view json_text);
Result<TokenizerSpec> LoadTokenizerJsonFile(const std::string& path);

// Reads a tokenizer file: regular files only (a FIFO is an error, not a hang), at most
// limits::kMaxJsonBytes.
Status ReadTokenizerFile(const std::string& path, std::string* out);

}  // namespace acorn

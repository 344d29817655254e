// Reads a Hugging Face tokenizer.json into an acorn::TokenizerSpec (tools only: uses nlohmann_json
// and exceptions internally; errors come back as a Status naming the offending field).
#pragma once

#include <string>
#include <string_view>

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"

namespace acorn {

Result<TokenizerSpec> ParseTokenizerJson(std::string_view json_text);
Result<TokenizerSpec> LoadTokenizerJsonFile(const std::string& path);

}  // namespace acorn

// Reading a TokenizerSpec out of a bundle's `Tokenizer` table (schema/acorn.fbs). The bundle is
// untrusted: the FlatBuffers verifier must have passed over the buffer (structure), and this reader
// checks the meaning: enum values, token ids, merge pairs, template references, UTF-8.
#pragma once

#include "acorn/status.h"
#include "acorn/tokenizer_spec.h"
#include "acorn_generated.h"

namespace acorn {

Result<TokenizerSpec> TokenizerSpecFromBundle(const acorn::fb::Tokenizer* table);

}  // namespace acorn

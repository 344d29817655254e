// Writes an acorn::TokenizerSpec as the bundle's `Tokenizer` table (schema/acorn.fbs); the runtime
// reads it back with TokenizerSpecFromBundle (runtime/tokenizer/tokenizer_bundle.h).
#pragma once

#include "acorn/tokenizer_spec.h"
#include "acorn_generated.h"

namespace acorn {

flatbuffers::Offset<acorn::fb::Tokenizer> WriteTokenizer(flatbuffers::FlatBufferBuilder& builder,
                                                         const TokenizerSpec& spec);

}  // namespace acorn

// The one table of op kinds: name, arity and which attribute table each kind carries. The verifier
// checks bundles against it and the binder reads it; adding an op kind starts here and in the schema.
#pragma once

#include <cstdint>

namespace acorn {

struct OpInfo {
  const char* name;
  uint8_t min_inputs;
  uint8_t max_inputs;
  uint8_t outputs;
  uint8_t attrs_type;    // acorn::fb::OpAttrs value, 0 when the kind takes none
  bool attrs_required;   // false: absent attributes mean the schema defaults
};

// nullptr for a kind this build does not know.
const OpInfo* FindOpInfo(uint16_t kind);
const char* OpKindName(uint16_t kind);

}  // namespace acorn

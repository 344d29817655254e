// Shape and dtype rules per op kind (see op_shapes.cpp), checked once at bind.
#pragma once

#include "acorn/bundle.h"
#include "acorn/status.h"

namespace acorn {

Status CheckOpShapes(const Bundle& bundle, const OpDesc& op);

}  // namespace acorn

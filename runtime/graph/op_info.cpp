#include "graph/op_info.h"

#include "acorn_generated.h"

namespace acorn {

namespace {
using A = fb::OpAttrs;
constexpr uint8_t kNone = static_cast<uint8_t>(A::NONE);
constexpr uint8_t Attr(A a) { return static_cast<uint8_t>(a); }

// Indexed by fb::OpKind.
constexpr OpInfo kOps[] = {
    {"Embedding", 2, 2, 1, kNone, false},
    {"RmsNorm", 2, 2, 1, Attr(A::NormAttrs), false},
    {"LayerNorm", 3, 3, 1, Attr(A::NormAttrs), false},
    {"MatMul", 2, 3, 1, Attr(A::MatMulAttrs), false},
    {"Add", 2, 2, 1, kNone, false},
    {"Mul", 2, 2, 1, kNone, false},
    {"Rope", 2, 2, 1, Attr(A::RopeAttrs), true},
    {"Attention", 5, 6, 1, Attr(A::AttentionAttrs), true},
    {"SwiGlu", 2, 2, 1, kNone, false},
    {"Gelu", 1, 1, 1, kNone, false},
    {"Softmax", 1, 1, 1, kNone, false},
    {"Pool", 1, 2, 1, Attr(A::PoolAttrs), false},
    {"L2Normalize", 1, 1, 1, kNone, false},
    {"Tanh", 1, 1, 1, kNone, false},
    {"Copy", 1, 1, 1, Attr(A::CopyAttrs), false},
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == static_cast<size_t>(fb::OpKind::MAX) + 1,
              "op table and schema OpKind disagree");
}  // namespace

const OpInfo* FindOpInfo(uint16_t kind) {
  return kind < sizeof(kOps) / sizeof(kOps[0]) ? &kOps[kind] : nullptr;
}

const char* OpKindName(uint16_t kind) {
  const OpInfo* info = FindOpInfo(kind);
  return info ? info->name : "unknown";
}

}  // namespace acorn

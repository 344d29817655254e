// Shape and dtype rules of every op kind, checked once at bind so that kernels can trust their
// arguments and a bundle that loads never fails mid-step for a reason visible here.
#include "interpreter/op_shapes.h"

#include "acorn_generated.h"
#include "graph/op_info.h"

namespace acorn {

namespace {

class OpChecker {
 public:
  OpChecker(const Bundle& b, const OpDesc& op) : b_(b), op_(op) {}

  const TensorDesc& In(int i) const { return b_.tensors()[op_.inputs[i]]; }
  const TensorDesc& Out() const { return b_.tensors()[op_.outputs[0]]; }

  Status Fail(const char* what, const TensorDesc& t) const {
    return ACORN_ERROR(kMalformed, "op '%s' (%s): tensor '%s' %s", op_.name, OpKindName(op_.kind), t.name, what);
  }
  Status Rank(const TensorDesc& t, int rank) const {
    return t.rank == rank ? Status::Ok() : Fail(StrFormat("must have rank %d, has %d", rank, t.rank).c_str(), t);
  }
  Status Dtype(const TensorDesc& t, DType d) const {
    return t.dtype == d ? Status::Ok()
                        : Fail(StrFormat("must be %s, is %s", DTypeName(d), DTypeName(t.dtype)).c_str(), t);
  }
  Status F32(const TensorDesc& t) const { return Dtype(t, DType::kF32); }
  // Same dims, symbolic dimension included.
  Status SameShape(const TensorDesc& a, const TensorDesc& t) const {
    bool same = a.rank == t.rank && a.symbolic_axis == t.symbolic_axis;
    for (int i = 0; same && i < a.rank; ++i) same = a.shape[i] == t.shape[i];
    return same ? Status::Ok() : Fail(StrFormat("must have the shape of '%s'", a.name).c_str(), t);
  }
  Status Dim(const TensorDesc& t, int axis, int64_t want) const {
    return t.shape[axis] == want
               ? Status::Ok()
               : Fail(StrFormat("dimension %d must be %lld, is %lld", axis, static_cast<long long>(want),
                                static_cast<long long>(t.shape[axis]))
                          .c_str(),
                      t);
  }
  Status Float(const TensorDesc& t) const {
    return (t.dtype == DType::kI32 || t.dtype == DType::kI8) ? Fail("must hold floats", t) : Status::Ok();
  }
  Status Fixed(const TensorDesc& t) const { return t.symbolic_axis < 0 ? Status::Ok() : Fail("must not depend on tokens", t); }

  // x [rows, H] f32, out of the same shape: the element-wise and row-wise ops.
  Status RowsLike(int n_same) const {
    ACORN_RETURN_IF_ERROR(Rank(In(0), 2));
    ACORN_RETURN_IF_ERROR(F32(In(0)));
    for (int i = 1; i < n_same; ++i) {
      ACORN_RETURN_IF_ERROR(F32(In(i)));
      ACORN_RETURN_IF_ERROR(SameShape(In(0), In(i)));
    }
    ACORN_RETURN_IF_ERROR(F32(Out()));
    return SameShape(In(0), Out());
  }
  // A vector [H] of f32 matching x's columns.
  Status RowVector(const TensorDesc& v, int64_t h) const {
    ACORN_RETURN_IF_ERROR(Rank(v, 1));
    ACORN_RETURN_IF_ERROR(F32(v));
    ACORN_RETURN_IF_ERROR(Fixed(v));
    return Dim(v, 0, h);
  }

  Status Check() const {
    switch (static_cast<fb::OpKind>(op_.kind)) {
      case fb::OpKind::Embedding: {
        const TensorDesc& table = In(0);
        ACORN_RETURN_IF_ERROR(Rank(table, 2));
        ACORN_RETURN_IF_ERROR(Float(table));
        ACORN_RETURN_IF_ERROR(Fixed(table));
        ACORN_RETURN_IF_ERROR(Rank(In(1), 1));
        ACORN_RETURN_IF_ERROR(Dtype(In(1), DType::kI32));
        ACORN_RETURN_IF_ERROR(Rank(Out(), 2));
        ACORN_RETURN_IF_ERROR(F32(Out()));
        ACORN_RETURN_IF_ERROR(Dim(Out(), 1, table.shape[1]));
        return Out().shape[0] == In(1).shape[0] && Out().symbolic_axis == (In(1).symbolic_axis == 0 ? 0 : -1)
                   ? Status::Ok()
                   : Fail("must have one row per id", Out());
      }
      case fb::OpKind::RmsNorm:
        ACORN_RETURN_IF_ERROR(RowsLike(1));
        return RowVector(In(1), In(0).shape[1]);
      case fb::OpKind::LayerNorm:
        ACORN_RETURN_IF_ERROR(RowsLike(1));
        ACORN_RETURN_IF_ERROR(RowVector(In(1), In(0).shape[1]));
        return RowVector(In(2), In(0).shape[1]);
      case fb::OpKind::MatMul: {
        const TensorDesc& x = In(0);
        const TensorDesc& w = In(1);
        ACORN_RETURN_IF_ERROR(Rank(x, 2));
        ACORN_RETURN_IF_ERROR(F32(x));
        ACORN_RETURN_IF_ERROR(Rank(w, 2));
        ACORN_RETURN_IF_ERROR(Float(w));
        ACORN_RETURN_IF_ERROR(Fixed(w));
        if (w.storage != Storage::kConstant) return Fail("must be a constant", w);
        ACORN_RETURN_IF_ERROR(Dim(w, 1, x.shape[1]));
        if (op_.inputs.size() == 3) ACORN_RETURN_IF_ERROR(RowVector(In(2), w.shape[0]));
        ACORN_RETURN_IF_ERROR(Rank(Out(), 2));
        ACORN_RETURN_IF_ERROR(F32(Out()));
        ACORN_RETURN_IF_ERROR(Dim(Out(), 1, w.shape[0]));
        return Out().shape[0] == x.shape[0] && Out().symbolic_axis == x.symbolic_axis ? Status::Ok()
                                                                                     : Fail("must have the rows of x", Out());
      }
      case fb::OpKind::Add:
      case fb::OpKind::Mul:
      case fb::OpKind::SwiGlu:
        return RowsLike(2);
      case fb::OpKind::Gelu:
      case fb::OpKind::Tanh:
      case fb::OpKind::Softmax:
      case fb::OpKind::L2Normalize:
        return RowsLike(1);
      case fb::OpKind::Rope: {
        const OpAttributes& a = op_.attrs;
        ACORN_RETURN_IF_ERROR(RowsLike(1));
        ACORN_RETURN_IF_ERROR(Dim(In(0), 1, static_cast<int64_t>(a.n_heads) * a.head_dim));
        ACORN_RETURN_IF_ERROR(Rank(In(1), 1));
        ACORN_RETURN_IF_ERROR(Dtype(In(1), DType::kI32));
        return In(1).shape[0] == In(0).shape[0] && In(1).symbolic_axis == (In(0).symbolic_axis == 0 ? 0 : -1)
                   ? Status::Ok()
                   : Fail("must have one position per row", In(1));
      }
      case fb::OpKind::Attention: {
        const OpAttributes& a = op_.attrs;
        const int64_t q_width = static_cast<int64_t>(a.n_heads) * a.head_dim;
        const int64_t kv_width = static_cast<int64_t>(a.n_kv_heads) * a.head_dim;
        const TensorDesc& q = In(0);
        ACORN_RETURN_IF_ERROR(Rank(q, 2));
        ACORN_RETURN_IF_ERROR(F32(q));
        ACORN_RETURN_IF_ERROR(Dim(q, 1, q_width));
        for (int i = 1; i <= 2; ++i) {
          ACORN_RETURN_IF_ERROR(Rank(In(i), 2));
          ACORN_RETURN_IF_ERROR(F32(In(i)));
          ACORN_RETURN_IF_ERROR(Dim(In(i), 1, kv_width));
          if (In(i).shape[0] != q.shape[0] || In(i).symbolic_axis != q.symbolic_axis) return Fail("must have the rows of q", In(i));
        }
        for (int i = 3; i <= 4; ++i) {
          if (In(i).storage != Storage::kState) return Fail("must be a state tensor (the KV cache)", In(i));
          ACORN_RETURN_IF_ERROR(Rank(In(i), 2));
          ACORN_RETURN_IF_ERROR(F32(In(i)));
          ACORN_RETURN_IF_ERROR(Dim(In(i), 1, kv_width));
          if (In(i).shape[0] < b_.context_length()) return Fail("must hold the whole context", In(i));
        }
        if (op_.inputs.size() == 6) {
          ACORN_RETURN_IF_ERROR(Rank(In(5), 2));
          ACORN_RETURN_IF_ERROR(F32(In(5)));
          // Declared [T, cache rows]; kernels read T rows of pos+T floats, which fit inside it.
          ACORN_RETURN_IF_ERROR(Dim(In(5), 1, In(3).shape[0]));
          if (In(5).shape[0] != q.shape[0] || In(5).symbolic_axis != q.symbolic_axis) return Fail("must have the rows of q", In(5));
        }
        ACORN_RETURN_IF_ERROR(F32(Out()));
        return SameShape(q, Out());
      }
      case fb::OpKind::Pool: {
        ACORN_RETURN_IF_ERROR(Rank(In(0), 2));
        ACORN_RETURN_IF_ERROR(F32(In(0)));
        if (op_.inputs.size() == 2) {
          ACORN_RETURN_IF_ERROR(Rank(In(1), 1));
          ACORN_RETURN_IF_ERROR(F32(In(1)));
          if (In(1).shape[0] != In(0).shape[0] || In(1).symbolic_axis != (In(0).symbolic_axis == 0 ? 0 : -1)) {
            return Fail("must have one value per row", In(1));
          }
        }
        ACORN_RETURN_IF_ERROR(Rank(Out(), 2));
        ACORN_RETURN_IF_ERROR(F32(Out()));
        ACORN_RETURN_IF_ERROR(Fixed(Out()));
        ACORN_RETURN_IF_ERROR(Dim(Out(), 0, 1));
        return Dim(Out(), 1, In(0).shape[1]);
      }
      case fb::OpKind::Copy: {
        const OpAttributes& a = op_.attrs;
        ACORN_RETURN_IF_ERROR(Rank(In(0), 2));
        ACORN_RETURN_IF_ERROR(F32(In(0)));
        if (a.row_count <= 0) return RowsLike(1);
        // The range itself is bounded by the verifier and checked against the step's rows by the
        // kernel (ops::CopyRange): the input's row count depends on the step.
        ACORN_RETURN_IF_ERROR(Rank(Out(), 2));
        ACORN_RETURN_IF_ERROR(F32(Out()));
        ACORN_RETURN_IF_ERROR(Fixed(Out()));
        ACORN_RETURN_IF_ERROR(Dim(Out(), 0, a.row_count));
        ACORN_RETURN_IF_ERROR(Dim(Out(), 1, In(0).shape[1]));
        return Status::Ok();
      }
    }
    return ACORN_ERROR(kUnsupported, "op '%s': kind %u has no shape rules", op_.name, op_.kind);
  }

 private:
  const Bundle& b_;
  const OpDesc& op_;
};

}  // namespace

Status CheckOpShapes(const Bundle& bundle, const OpDesc& op) { return OpChecker(bundle, op).Check(); }

}  // namespace acorn

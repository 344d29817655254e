// Model: load = open and verify the bundle, plan memory, check every op's shapes, bind every op to
// a kernel. Nothing after this can fail for a reason visible in the bundle.
#include <cstring>

#include "acorn/model.h"
#include "graph/op_info.h"
#include "interpreter/op_shapes.h"
#include "acorn_generated.h"
#include "tokenizer/tokenizer_bundle.h"

namespace acorn {

Result<std::shared_ptr<const Model>> Model::Load(const char* path, const ModelOptions& options) {
  ACORN_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(path, options.load_mode));
  Result<std::shared_ptr<const Model>> model = FromBundle(std::move(bundle), options);
  if (!model.ok()) return Status(model.status().code(), std::string(path) + ": " + model.status().message());
  return model;
}

Result<std::shared_ptr<const Model>> Model::FromBundle(std::unique_ptr<Bundle> bundle, const ModelOptions& options) {
  if (bundle == nullptr) return ACORN_ERROR(kInvalidArgument, "no bundle");
  std::shared_ptr<Model> model(new Model());
  model->custom_ = options.custom_kernels;
  ACORN_ASSIGN_OR_RETURN(model->plan_, PlanMemory(*bundle));
  const Span<const KernelEntry> custom(model->custom_);
  for (const OpDesc& op : bundle->ops()) {
    ACORN_RETURN_IF_ERROR(CheckOpShapes(*bundle, op));
    BoundOp bound;
    bound.op = &op;
    for (Backend backend : options.backends) {
      bound.kernel = FindKernel(*bundle, op, backend, custom);
      if (bound.kernel != nullptr) break;
    }
    if (bound.kernel == nullptr) bound.kernel = FindKernel(*bundle, op, Backend::kReference, custom);
    if (bound.kernel == nullptr) {
      const int w = WeightInput(op.kind);
      return ACORN_ERROR(kUnsupported, "op '%s' (%s%s%s) has no kernel on any backend", op.name, OpKindName(op.kind),
                         w >= 0 ? ", weights " : "", w >= 0 ? DTypeName(bundle->tensors()[op.inputs[w]].dtype) : "");
    }
    model->ops_.push_back(bound);
  }
  for (uint32_t t : bundle->graph_inputs()) {
    const TensorDesc& d = bundle->tensors()[t];
    if (std::strcmp(d.name, "tokens") == 0 && d.dtype == DType::kI32 && d.rank == 1 && d.symbolic_axis == 0) {
      model->tokens_input_ = static_cast<int>(t);
    }
    if (std::strcmp(d.name, "positions") == 0 && d.dtype == DType::kI32 && d.rank == 1 && d.symbolic_axis == 0) {
      model->positions_input_ = static_cast<int>(t);
    }
  }
  for (uint32_t t : bundle->graph_outputs()) {
    const TensorDesc& d = bundle->tensors()[t];
    if (std::strcmp(d.name, "logits") == 0 && d.dtype == DType::kF32 && d.rank == 2 && d.symbolic_axis == 0) {
      model->logits_output_ = static_cast<int>(t);
    }
  }
  const fb::Tokenizer* tok = bundle->flatbuffer()->tokenizer();
  if (tok != nullptr && tok->kind() != fb::TokenizerKind::None) {
    Result<TokenizerSpec> spec = TokenizerSpecFromBundle(tok);
    if (!spec.ok()) return Status(spec.status().code(), "tokenizer: " + spec.status().message());
    Result<Tokenizer> tokenizer = Tokenizer::Create(std::move(spec).value());
    if (!tokenizer.ok()) return Status(tokenizer.status().code(), "tokenizer: " + tokenizer.status().message());
    model->tokenizer_.reset(new Tokenizer(std::move(tokenizer).value()));
  }
  model->bundle_ = std::move(bundle);
  return std::shared_ptr<const Model>(std::move(model));
}

int64_t Model::vocab_size() const {
  return logits_output_ >= 0 ? bundle_->tensors()[logits_output_].shape[1] : 0;
}

}  // namespace acorn

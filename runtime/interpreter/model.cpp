// Model: load = open and verify the bundle, check every op's shapes, bind every op to a kernel,
// cut the ops into backend segments, give every tensor a home and plan the arenas, and let an
// accelerator place its weights. Nothing after this can fail for a reason visible in the bundle.
#include <cstring>

#include "acorn/model.h"
#include "acorn/platform.h"
#include "graph/op_info.h"
#include "interpreter/bound_graph.h"
#include "interpreter/op_shapes.h"
#include "acorn_generated.h"
#include "cpu_kernels.h"
#include "kernel_table.h"
#include "tokenizer/tokenizer_bundle.h"

namespace acorn {

namespace {

bool IsHost(Backend b) { return b == Backend::kCpu || b == Backend::kReference; }

// Ops whose output rows each depend on the same input row only (and on constants): they may run on
// one row of a step. Attention mixes rows, Pool and a ranged Copy change the row count.
bool RowWise(const Bundle& b, const OpDesc& op) {
  switch (static_cast<fb::OpKind>(op.kind)) {
    case fb::OpKind::Attention:
    case fb::OpKind::Pool:
    case fb::OpKind::Copy:
      return false;
    default:
      break;
  }
  for (uint32_t t : op.outputs) {
    const TensorDesc& d = b.tensors()[t];
    if (d.symbolic_axis != 0 || d.storage == Storage::kState) return false;
  }
  for (uint32_t t : op.inputs) {
    const TensorDesc& d = b.tensors()[t];
    if (d.storage != Storage::kConstant && d.symbolic_axis != 0) return false;
  }
  return true;
}

}  // namespace

LargeBuffer::~LargeBuffer() { platform::LargeFree(data, size); }

Model::Model() : bound_(new BoundGraph()) {}
Model::~Model() = default;

Result<std::shared_ptr<const Model>> Model::Load(const char* path, const ModelOptions& options) {
  ACORN_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(path, options.load_mode));
  Result<std::shared_ptr<const Model>> model = FromBundle(std::move(bundle), options);
  if (!model.ok()) return Status(model.status().code(), std::string(path) + ": " + model.status().message());
  return model;
}

Status Model::Bind(const ModelOptions& options) {
  const Bundle& bundle = *bundle_;
  // Accelerators that cannot run here drop out of the list, with a warning, as long as a host
  // backend remains to take their ops.
  std::vector<Backend> backends;
  bool host_listed = false;
  for (Backend b : options.backends) host_listed |= IsHost(b);
  Accelerator* accelerator = nullptr;
  for (Backend b : options.backends) {
    if (IsHost(b)) {
      backends.push_back(b);
      continue;
    }
    std::string why;
    const AcceleratorPlugin* plugin = FindAcceleratorPlugin(b, &why);
    Accelerator* acc = plugin != nullptr ? plugin->accelerator : nullptr;
    Status st = acc != nullptr ? acc->Probe(options.accelerator) : Status(ErrorCode::kUnsupported, why);
    if (!st.ok()) {
      if (!host_listed) {
        return Status(st.code(), StrFormat("backend %s is unavailable: %s; use the cpu backend, or list it after "
                                           "%s (\"%s,cpu\") to fall back", BackendName(b), st.message().c_str(),
                                           BackendName(b), BackendName(b)));
      }
      Log(LogLevel::kWarning, "backend %s is unavailable (%s); its ops run on the next backend in the list",
          BackendName(b), st.message().c_str());
      continue;
    }
    if (accelerator != nullptr && accelerator != acc) {
      return ACORN_ERROR(kUnsupported, "only one accelerator backend per model");
    }
    accelerator = acc;
    backends.push_back(b);
  }

  BoundGraph& g = *bound_;
  const Span<const KernelEntry> custom(g.custom);
  for (const OpDesc& op : bundle.ops()) {
    ACORN_RETURN_IF_ERROR(CheckOpShapes(bundle, op));
    BoundOp bound;
    bound.op = &op;
    for (Backend backend : backends) {
      bound.kernel = FindKernel(bundle, op, backend, custom);
      if (bound.kernel != nullptr) break;
    }
    if (bound.kernel == nullptr) bound.kernel = FindKernel(bundle, op, Backend::kReference, custom);
    if (bound.kernel == nullptr) {
      const int w = WeightInput(op.kind);
      return ACORN_ERROR(kUnsupported, "op '%s' (%s%s%s) has no kernel on any backend", op.name, OpKindName(op.kind),
                         w >= 0 ? ", weights " : "", w >= 0 ? DTypeName(bundle.tensors()[op.inputs[w]].dtype) : "");
    }
    g.ops.push_back(bound);
  }

  // Segments: maximal runs of ops on the host (reference and cpu kernels mix freely) or on the
  // accelerator.
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const Backend side = IsHost(g.ops[i].kernel->backend) ? Backend::kCpu : g.ops[i].kernel->backend;
    if (g.segments.empty() || g.segments.back().backend != side) g.segments.push_back(OpSegment{side, i, i});
    g.segments.back().end = i + 1;
  }
  g.tail_begin = static_cast<int>(g.ops.size());
  while (g.tail_begin > 0 && RowWise(bundle, *g.ops[g.tail_begin - 1].op)) --g.tail_begin;
  if (options.cpu_repack || options.cpu_bf16_products) ACORN_RETURN_IF_ERROR(RepackForCpu(options));
  return PlaceTensors(accelerator, options);
}

// The matrices of the built-in CPU MatMul kernel, in the layout the active ISA reads fastest
// (cpu::MatMulRepacks; with cpu_bf16_products, f32/f16 ones in bf16 where the tile unit multiplies
// bf16); one copy per weight tensor, however many ops read it. An application's own kernels, and
// every other op (a tied embedding's lookups), keep reading the bundle's bytes.
Status Model::RepackForCpu(const ModelOptions& options) {
  const Bundle& bundle = *bundle_;
  BoundGraph& g = *bound_;
  const Span<const KernelEntry> builtin_table = BuiltinKernels();
  std::vector<int> copy_of(bundle.tensors().size(), -1);
  const uint64_t start = platform::NowNanos();
  // All copies share one allocation, so that large pages (LargeAlloc asks for them) cover the
  // small matrices too: in pages of their own, a K or V projection read up to 25 % slower in
  // decode on a busy 2-core Xeon (a page walk per 4 KiB; docs/PERFORMANCE.md).
  struct Copy {
    uint32_t tensor;
    size_t offset;
    WeightLayout layout;
  };
  const bool bf16 = options.cpu_bf16_products && cpu::Bf16ProductsAvailable();
  std::vector<Copy> copies;
  std::vector<BoundOp*> readers;  // the ops whose kernel reads a copy
  size_t bytes = 0;
  for (BoundOp& b : g.ops) {
    const bool builtin = b.kernel >= builtin_table.data() && b.kernel < builtin_table.data() + builtin_table.size();
    if (!builtin || b.kernel->backend != Backend::kCpu || b.op->kind != static_cast<uint16_t>(fb::OpKind::MatMul)) {
      continue;
    }
    const uint32_t t = b.op->inputs[WeightInput(b.op->kind)];
    const TensorDesc& w = bundle.tensors()[t];
    if (w.storage != Storage::kConstant || w.rank != 2) continue;
    WeightLayout layout;
    size_t size;
    if (options.cpu_repack && cpu::MatMulRepacks(w.dtype)) {
      layout = WeightLayout::kRowPanels16;
      size = cpu::RowPanelBytes(w.dtype, w.shape[1], w.shape[0]);
    } else if (bf16 && (w.dtype == DType::kF32 || w.dtype == DType::kF16)) {
      layout = WeightLayout::kBf16Panels16;
      size = cpu::Bf16PanelBytes(w.shape[1], w.shape[0]);
    } else {
      continue;
    }
    if (copy_of[t] < 0) {
      copy_of[t] = static_cast<int>(copies.size());
      copies.push_back(Copy{t, bytes, layout});
      constexpr size_t kAlign = 4096;  // each copy starts a page: the kernels' prefetch stays in it
      bytes += (size + kAlign - 1) / kAlign * kAlign;
    }
    readers.push_back(&b);
  }
  if (copies.empty()) return Status::Ok();
  uint8_t* base = static_cast<uint8_t*>(platform::LargeAlloc(bytes));
  if (base == nullptr) {
    return ACORN_ERROR(kOutOfMemory, "no memory for %zu bytes of weights repacked for the CPU; load with "
                       "ModelOptions::cpu_repack = false to read the bundle in place", bytes);
  }
  g.repacked.emplace_back(new LargeBuffer(base, bytes));
  // The copy runs on every core (the first writes of fresh pages cost more than the copy itself);
  // where no pool can start, on this thread.
  std::unique_ptr<cpu::ThreadPool> pool;
  Result<std::unique_ptr<cpu::ThreadPool>> made = cpu::ThreadPool::Create(platform::HardwareThreads());
  if (made.ok()) pool = std::move(*made);
  for (const Copy& c : copies) {
    const TensorDesc& w = bundle.tensors()[c.tensor];
    if (c.layout == WeightLayout::kBf16Panels16) {
      cpu::RepackBf16Panels(pool.get(), w.data, w.dtype, w.shape[1], w.shape[0], base + c.offset);
    } else {
      cpu::RepackRowPanels(pool.get(), w.data, w.dtype, w.shape[1], w.shape[0], base + c.offset);
    }
  }
  for (BoundOp* b : readers) {
    const Copy& c = copies[static_cast<size_t>(copy_of[b->op->inputs[WeightInput(b->op->kind)]])];
    b->weights = base + c.offset;
    b->weight_layout = c.layout;
  }
  Log(LogLevel::kDebug, "repacked %.1f MiB of weights for the CPU in %.0f ms", bytes / 1048576.0,
      (platform::NowNanos() - start) / 1e6);
  return Status::Ok();
}

Status Model::PlaceTensors(Accelerator* accelerator, const ModelOptions& options) {
  const Bundle& bundle = *bundle_;
  BoundGraph& g = *bound_;
  const size_t n = bundle.tensors().size();
  g.homes.assign(n, TensorHome::kHost);
  bool any_device = false;
  for (const OpSegment& s : g.segments) any_device |= !IsHost(s.backend);
  if (!any_device) {
    ACORN_ASSIGN_OR_RETURN(plan_, PlanMemory(bundle));
    return Status::Ok();
  }

  std::vector<uint8_t> host_use(n, 0), device_use(n, 0);
  for (const OpSegment& s : g.segments) {
    for (int i = s.begin; i < s.end; ++i) {
      const OpDesc& op = *g.ops[i].op;
      std::vector<uint8_t>& use = IsHost(s.backend) ? host_use : device_use;
      for (uint32_t t : op.inputs) use[t] = 1;
      for (uint32_t t : op.outputs) use[t] = 1;
    }
  }
  const bool zero_copy = options.accelerator.zero_copy || accelerator->unified_memory(options.accelerator);
  std::vector<uint8_t> in_host(n, 0), in_device(n, 0);
  for (size_t t = 0; t < n; ++t) {
    const TensorDesc& d = bundle.tensors()[t];
    if (d.storage == Storage::kConstant) continue;
    const bool io = d.storage == Storage::kInput || d.storage == Storage::kOutput;
    TensorHome home = TensorHome::kHost;
    if (device_use[t]) {
      if (zero_copy || host_use[t]) {
        home = TensorHome::kShared;
      } else {
        home = io ? TensorHome::kMirrored : TensorHome::kDevice;
      }
    }
    g.homes[t] = home;
    in_host[t] = home != TensorHome::kDevice;
    in_device[t] = home == TensorHome::kDevice || home == TensorHome::kMirrored;
  }
  DeviceProgramSpec spec;
  spec.bundle = &bundle;
  spec.ops = Span<const BoundOp>(g.ops);
  spec.segments = Span<const OpSegment>(g.segments);
  spec.homes = Span<const TensorHome>(g.homes);
  spec.tail_begin = g.tail_begin;
  AcceleratorOptions accel = options.accelerator;
  accel.zero_copy = zero_copy;
  ACORN_ASSIGN_OR_RETURN(std::vector<int> keep, accelerator->KeepAlive(spec, accel));
  ACORN_ASSIGN_OR_RETURN(plan_, PlanMemory(bundle, in_host, &keep));
  ACORN_ASSIGN_OR_RETURN(g.device_plan, PlanMemory(bundle, in_device, &keep));
  spec.host_plan = &plan_;
  spec.device_plan = &g.device_plan;
  ACORN_ASSIGN_OR_RETURN(g.device_model, accelerator->Prepare(spec, accel));
  return Status::Ok();
}

Result<std::shared_ptr<const Model>> Model::FromBundle(std::unique_ptr<Bundle> bundle, const ModelOptions& options) {
  if (bundle == nullptr) return ACORN_ERROR(kInvalidArgument, "no bundle");
  std::shared_ptr<Model> model(new Model());
  model->bound_->custom = options.custom_kernels;
  model->bundle_ = std::move(bundle);
  const Bundle& b = *model->bundle_;
  for (uint32_t t : b.graph_inputs()) {
    const TensorDesc& d = b.tensors()[t];
    if (std::strcmp(d.name, "tokens") == 0 && d.dtype == DType::kI32 && d.rank == 1 && d.symbolic_axis == 0) {
      model->tokens_input_ = static_cast<int>(t);
    }
    if (std::strcmp(d.name, "positions") == 0 && d.dtype == DType::kI32 && d.rank == 1 && d.symbolic_axis == 0) {
      model->positions_input_ = static_cast<int>(t);
    }
  }
  for (uint32_t t : b.graph_outputs()) {
    const TensorDesc& d = b.tensors()[t];
    if (std::strcmp(d.name, "logits") == 0 && d.dtype == DType::kF32 && d.rank == 2 && d.symbolic_axis == 0) {
      model->logits_output_ = static_cast<int>(t);
    }
  }
  ACORN_RETURN_IF_ERROR(model->Bind(options));
  const fb::Tokenizer* tok = b.flatbuffer()->tokenizer();
  if (tok != nullptr && tok->kind() != fb::TokenizerKind::None) {
    Result<TokenizerSpec> spec = TokenizerSpecFromBundle(tok);
    if (!spec.ok()) return Status(spec.status().code(), "tokenizer: " + spec.status().message());
    Result<Tokenizer> tokenizer = Tokenizer::Create(std::move(spec).value());
    if (!tokenizer.ok()) return Status(tokenizer.status().code(), "tokenizer: " + tokenizer.status().message());
    model->tokenizer_.reset(new Tokenizer(std::move(tokenizer).value()));
  }
  return std::shared_ptr<const Model>(std::move(model));
}

int64_t Model::vocab_size() const {
  return logits_output_ >= 0 ? bundle_->tensors()[logits_output_].shape[1] : 0;
}

}  // namespace acorn

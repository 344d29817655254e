// Session: the arenas, the thread pool and the position of one conversation. Step is a flat loop
// over the model's segments that allocates nothing: host segments call their bound kernels one op at
// a time, accelerator segments are enqueued on the device and waited for only where the host needs
// their results.
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "acorn/model.h"
#include "acorn/platform.h"
#include "acorn_generated.h"
#include "core/limits.h"
#include "cpu/thread_pool.h"
#include "graph/op_info.h"
#include "interpreter/bound_graph.h"

namespace acorn {

namespace {

bool IsHost(Backend b) { return b == Backend::kCpu || b == Backend::kReference; }

// Bytes of one row along the tokens dimension, or 0 for a tensor without one at axis 0.
uint64_t TokenRowBytes(const TensorDesc& d) {
  if (d.storage == Storage::kConstant || d.symbolic_axis != 0) return 0;
  return d.Elements(1) * GetDTypeInfo(d.dtype).block_bytes / GetDTypeInfo(d.dtype).block_elems;
}

int ResolveThreads(int threads) { return threads > 0 ? threads : platform::HardwareThreads(); }

// Kernel scratch for `threads` threads: the largest any host op asks for (ops run one at a time).
size_t ScratchBytes(const Model& model, int threads) {
  size_t scratch = 0;
  for (const BoundOp& b : model.bound().ops) {
    if (b.kernel->scratch && IsHost(b.kernel->backend)) {
      scratch = std::max(scratch, b.kernel->scratch(model.bundle(), *b.op, threads));
    }
  }
  return scratch;
}

// Where the scratch starts in a host arena: after the planned tensors, aligned for any vector load.
uint64_t ScratchOffset(const MemoryPlan& plan) { return (plan.arena_bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

}  // namespace

uint64_t Session::ArenaBytes(const Model& model, int threads) {
  return ScratchOffset(model.plan()) + ScratchBytes(model, ResolveThreads(threads));
}

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  if (model == nullptr) return ACORN_ERROR(kInvalidArgument, "no model");
  const Bundle& bundle = model->bundle();
  const MemoryPlan& plan = model->plan();
  std::unique_ptr<Session> s(new Session());
  s->model_ = model;
  const int threads = ResolveThreads(options.threads);
  // Checked before anything is sized by it: kernel scratch grows with the thread count.
  if (threads < 1 || threads > static_cast<int>(limits::kMaxThreads)) {
    return ACORN_ERROR(kInvalidArgument, "%d threads asked for: a session takes 1..%" PRIu32, threads,
                       limits::kMaxThreads);
  }
  const size_t scratch = ScratchBytes(*model, threads);
  const bool on_device = model->bound().device_model != nullptr;
  // The host arena holds the planned tensors and, after them, the kernels' scratch: one block, the
  // caller's or one allocation at creation. (With an accelerator the device side provides the host
  // arena, pinned, and the scratch is allocated beside it.)
  const uint64_t host_bytes = on_device ? plan.arena_bytes : ScratchOffset(plan) + scratch;

  if (options.arena != nullptr) {
    if (options.arena_bytes < host_bytes) {
      return ACORN_ERROR(kOutOfMemory, "arena of %zu bytes is too small: this model needs %llu bytes with %d threads "
                         "(Session::ArenaBytes: %llu of activations and KV cache, %zu of kernel scratch)",
                         options.arena_bytes, static_cast<unsigned long long>(host_bytes), threads,
                         static_cast<unsigned long long>(plan.arena_bytes), on_device ? size_t{0} : scratch);
    }
    if (reinterpret_cast<uintptr_t>(options.arena) % kArenaAlignment != 0) {
      return ACORN_ERROR(kInvalidArgument, "arena memory must be %llu-byte aligned",
                         static_cast<unsigned long long>(kArenaAlignment));
    }
  }
  if (DeviceModel* device = model->bound().device_model.get()) {
    // The accelerator allocates (or registers the caller's) host arena: it must be pinned and
    // mapped so that the device reaches the tensors that cross between the two.
    ACORN_ASSIGN_OR_RETURN(s->device_, device->CreateSession(options.arena, options.arena_bytes));
    s->arena_ = s->device_->host_arena();
  } else if (options.arena != nullptr) {
    s->arena_ = static_cast<uint8_t*>(options.arena);
  } else {
    const uint64_t physical = platform::PhysicalMemoryBytes();
    if (physical > 0 && host_bytes > physical) {
      return ACORN_ERROR(kOutOfMemory, "the arena (KV cache and activations) needs %llu bytes, more than this "
                         "machine's %llu bytes of memory; convert with a shorter context (--context)",
                         static_cast<unsigned long long>(host_bytes), static_cast<unsigned long long>(physical));
    }
    s->arena_ = static_cast<uint8_t*>(platform::AlignedAlloc(host_bytes, kArenaAlignment));
    if (s->arena_ == nullptr) {
      return ACORN_ERROR(kOutOfMemory, "cannot allocate the %llu-byte arena (KV cache, activations and kernel "
                         "scratch); use a smaller context when converting", static_cast<unsigned long long>(host_bytes));
    }
    s->owns_arena_ = true;
  }

  // A pool of one thread starts no thread (platforms without threads run that way).
  ACORN_ASSIGN_OR_RETURN(s->pool_, cpu::ThreadPool::Create(threads));
  s->res_.pool = s->pool_.get();
  s->res_.threads = s->pool_->size();

  if (scratch > 0 && on_device) {
    s->device_scratch_ = static_cast<uint8_t*>(platform::AlignedAlloc(scratch, kArenaAlignment));
    if (s->device_scratch_ == nullptr) {
      return ACORN_ERROR(kOutOfMemory, "cannot allocate %zu bytes of kernel scratch", scratch);
    }
    s->res_.scratch = s->device_scratch_;
  } else if (scratch > 0) {
    s->res_.scratch = s->arena_ + ScratchOffset(plan);
  }
  s->res_.scratch_bytes = scratch;

  const std::vector<TensorDesc>& tensors = bundle.tensors();
  s->data_.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].storage == Storage::kConstant) {
      s->data_[i] = const_cast<uint8_t*>(tensors[i].data);
    } else {
      s->data_[i] = plan.offsets[i] == kNotInArena ? nullptr : s->arena_ + plan.offsets[i];
    }
  }
  // One prepared call per op; a step only fills in the token count (and, for a last-row step, the
  // row offset of the tail's tensors).
  for (const BoundOp& b : model->bound().ops) {
    OpCall call;
    call.op = b.op;
    call.res = &s->res_;
    call.n_in = static_cast<int>(b.op->inputs.size());
    std::vector<uint64_t> rows(static_cast<size_t>(call.n_in) + 1);
    for (int k = 0; k < call.n_in; ++k) {
      call.in[k].data = s->data_[b.op->inputs[k]];
      call.in[k].desc = &tensors[b.op->inputs[k]];
      rows[k] = TokenRowBytes(tensors[b.op->inputs[k]]);
    }
    if (b.weights != nullptr) {  // repacked at load for this op's kernel
      const int w = WeightInput(b.op->kind);
      call.in[w].data = const_cast<void*>(b.weights);
      call.in[w].layout = b.weight_layout;
    }
    call.out.data = s->data_[b.op->outputs[0]];
    call.out.desc = &tensors[b.op->outputs[0]];
    rows[call.n_in] = TokenRowBytes(tensors[b.op->outputs[0]]);
    s->calls_.push_back(call);
    s->row_bytes_.push_back(std::move(rows));
  }
  if (options.profile) s->op_nanos_.assign(s->calls_.size(), 0);
  s->Reset();
  return s;
}

Session::~Session() {
  // The device session owns a pinned host arena; it goes with device_.
  if (owns_arena_) platform::AlignedFree(arena_);
  platform::AlignedFree(device_scratch_);
}

void Session::Reset() {
  pos_ = 0;
  std::memset(arena_, 0, model_->plan().state_bytes);
  if (device_ != nullptr) {
    Status st = device_->ResetState();
    if (!st.ok()) Log(LogLevel::kError, "session reset: %s", st.message().c_str());
  }
}

Status Session::Rewind(int64_t position) {
  if (position < 0 || position > pos_) {
    return ACORN_ERROR(kInvalidArgument, "cannot rewind to position %lld (the session is at %lld)",
                       static_cast<long long>(position), static_cast<long long>(pos_));
  }
  pos_ = position;
  return Status::Ok();
}

void* Session::TensorData(int index) const { return data_[index]; }

std::string Session::DeviceProfile() const { return device_ != nullptr ? device_->ProfileReport() : std::string(); }

namespace {
void ResolveDims(TensorArg* t, int64_t n_tokens) {
  for (int i = 0; i < t->desc->rank; ++i) t->dims[i] = t->desc->Dim(i, n_tokens);
}
}  // namespace

// Token ids that index an embedding table are checked here, on the host, for every backend: a
// device kernel cannot report them, and an id outside the table must never be read.
Status Session::CheckTokenIds(int64_t n_tokens) const {
  const Bundle& bundle = model_->bundle();
  for (const BoundOp& b : model_->bound().ops) {
    if (b.op->kind != static_cast<uint16_t>(fb::OpKind::Embedding)) continue;
    const uint32_t ids_index = b.op->inputs[1];
    if (bundle.tensors()[ids_index].storage != Storage::kInput) continue;
    const int32_t* ids = static_cast<const int32_t*>(data_[ids_index]);
    const int64_t rows = bundle.tensors()[b.op->inputs[0]].shape[0];
    const int64_t n = bundle.tensors()[ids_index].Elements(n_tokens);
    for (int64_t t = 0; t < n; ++t) {
      if (ids[t] < 0 || ids[t] >= rows) {
        return ACORN_ERROR(kOutOfRange,
                           "op '%s': token id %" PRId32 " at row %lld is outside the table of %lld rows ('%s')",
                           b.op->name, ids[t], static_cast<long long>(t), static_cast<long long>(rows),
                           bundle.tensors()[ids_index].name);
      }
    }
  }
  return Status::Ok();
}

Status Session::RunHostOps(const OpSegment& segment, int64_t n_tokens, bool last_row_only) {
  const int tail = model_->bound().tail_begin;
  for (int i = segment.begin; i < segment.end; ++i) {
    OpCall& call = calls_[i];
    const BoundOp& b = model_->bound().ops[i];
    const bool one_row = last_row_only && i >= tail;
    const int64_t rows = one_row ? 1 : n_tokens;
    const std::vector<uint64_t>& rb = row_bytes_[i];
    call.n_tokens = rows;
    call.pos = one_row ? pos_ + n_tokens - 1 : pos_;
    for (int k = 0; k < call.n_in; ++k) {
      // Inputs without a row per token (constants: perhaps a weight repacked at load) keep the
      // pointer the call was prepared with.
      if (rb[k] != 0) {
        uint8_t* base = static_cast<uint8_t*>(data_[b.op->inputs[k]]);
        call.in[k].data = base != nullptr && one_row ? base + rb[k] * (n_tokens - 1) : base;
      }
      ResolveDims(&call.in[k], rows);
    }
    uint8_t* out = static_cast<uint8_t*>(data_[b.op->outputs[0]]);
    call.out.data = out != nullptr && one_row ? out + rb[call.n_in] * (n_tokens - 1) : out;
    ResolveDims(&call.out, rows);
    const uint64_t start = op_nanos_.empty() ? 0 : platform::NowNanos();
    Status st = b.kernel->fn(call);
    if (!st.ok()) return st;
    if (!op_nanos_.empty()) op_nanos_[i] += platform::NowNanos() - start;
  }
  return Status::Ok();
}

std::string Session::HostProfile() {
  if (op_nanos_.empty() || profiled_steps_ == 0) return std::string();
  const Bundle& bundle = model_->bundle();
  // Ops that differ only in their layer number share a line: "blk.7.attn_q" -> "blk.N.attn_q".
  struct Line {
    std::string name;
    uint16_t kind;
    std::string weights;  // the weight's dtype ("-" for none), and "as bf16" where so multiplied
    uint64_t nanos = 0, weight_bytes = 0;
    int64_t ops = 0;
  };
  std::vector<Line> lines;
  uint64_t total = 0;
  for (size_t i = 0; i < op_nanos_.size(); ++i) {
    const BoundOp& bound = model_->bound().ops[i];
    const OpDesc& op = *bound.op;
    std::string name;
    for (const char* c = op.name; *c != '\0'; ++c) {
      const bool digit = *c >= '0' && *c <= '9';
      if (!digit) {
        name += *c;
      } else if (name.empty() || name.back() != 'N') {
        name += 'N';
      }
    }
    const int w = WeightInput(op.kind);
    const TensorDesc* weight = w >= 0 && w < static_cast<int>(op.inputs.size()) ? &bundle.tensors()[op.inputs[w]] : nullptr;
    if (weight != nullptr && weight->storage != Storage::kConstant) weight = nullptr;
    const bool bf16 = bound.weight_layout == WeightLayout::kBf16Panels16;
    std::string weights = weight != nullptr ? DTypeName(weight->dtype) : "-";
    if (bf16) weights += " as bf16";
    auto it = std::find_if(lines.begin(), lines.end(),
                           [&](const Line& l) { return l.name == name && l.kind == op.kind && l.weights == weights; });
    if (it == lines.end()) it = lines.insert(lines.end(), Line{name, op.kind, weights});
    it->nanos += op_nanos_[i];
    it->ops += 1;
    // A product reads all of its weights each step (an embedding reads a few rows); bf16 copies
    // are 2 bytes a weight.
    if (weight != nullptr && op.kind == static_cast<uint16_t>(fb::OpKind::MatMul)) {
      it->weight_bytes += bf16 ? static_cast<uint64_t>(weight->shape[0] * weight->shape[1]) * 2 : weight->max_bytes;
    }
    total += op_nanos_[i];
    op_nanos_[i] = 0;
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.nanos > b.nanos; });
  const double steps = static_cast<double>(profiled_steps_);
  std::string out = StrFormat("host op profile over %lld steps: %.3f ms per step\n"
                              "| op | kind | weights | per step | us each | share | weights read |\n"
                              "|---|---|---|---|---|---|---|\n",
                              static_cast<long long>(profiled_steps_), total / steps / 1e6);
  for (const Line& l : lines) {
    // Every step reads each op's weights once: bytes per step over time per step.
    const std::string rate = l.weight_bytes > 0 && l.nanos > 0
                                 ? StrFormat("%.1f GB/s", static_cast<double>(l.weight_bytes) * steps / static_cast<double>(l.nanos))
                                 : std::string("-");
    out += StrFormat("| %s | %s | %s | %lld | %.1f | %.1f %% | %s |\n", l.name.c_str(), OpKindName(l.kind),
                     l.weights.c_str(), static_cast<long long>(l.ops),
                     static_cast<double>(l.nanos) / 1e3 / (steps * static_cast<double>(l.ops)),
                     total > 0 ? 100.0 * static_cast<double>(l.nanos) / static_cast<double>(total) : 0.0, rate.c_str());
  }
  profiled_steps_ = 0;
  return out;
}

Status Session::Step(int64_t n_tokens, StepRows rows) {
  const Bundle& bundle = model_->bundle();
  if (n_tokens < 1 || n_tokens > bundle.max_tokens()) {
    return ACORN_ERROR(kInvalidArgument, "a step takes 1..%" PRIu32 " tokens, not %lld", bundle.max_tokens(),
                       static_cast<long long>(n_tokens));
  }
  if (bundle.context_length() > 0 && pos_ + n_tokens > bundle.context_length()) {
    return ACORN_ERROR(kOutOfRange,
                       "positions %lld..%lld are beyond the context of %" PRIu32 " tokens; start a new session "
                       "(Reset) or convert with a longer context",
                       static_cast<long long>(pos_), static_cast<long long>(pos_ + n_tokens - 1),
                       bundle.context_length());
  }
  if (model_->positions_input() >= 0) {
    int32_t* positions = static_cast<int32_t*>(data_[model_->positions_input()]);
    for (int64_t i = 0; i < n_tokens; ++i) positions[i] = static_cast<int32_t>(pos_ + i);
  }
  ACORN_RETURN_IF_ERROR(CheckTokenIds(n_tokens));
  const bool last_row_only = rows == StepRows::kLast && n_tokens > 1;
  DeviceStep step;
  step.n_tokens = n_tokens;
  step.pos = pos_;
  step.last_row_only = last_row_only;
  bool device_pending = false;
  const std::vector<OpSegment>& segments = model_->bound().segments;
  for (size_t s = 0; s < segments.size(); ++s) {
    if (IsHost(segments[s].backend)) {
      if (device_pending) {
        ACORN_RETURN_IF_ERROR(device_->Finish());
        device_pending = false;
      }
      ACORN_RETURN_IF_ERROR(RunHostOps(segments[s], n_tokens, last_row_only));
    } else {
      Status st = device_->Run(static_cast<int>(s), step);
      if (!st.ok()) {
        (void)device_->Finish();  // the queue may hold earlier work: drain it before reporting
        return st;
      }
      device_pending = true;
    }
  }
  if (device_pending) ACORN_RETURN_IF_ERROR(device_->Finish());
  if (!op_nanos_.empty()) ++profiled_steps_;
  pos_ += n_tokens;
  return Status::Ok();
}

Status Session::Forward(const int32_t* tokens, int64_t n, float* logits, bool all_positions) {
  const Bundle& bundle = model_->bundle();
  if (model_->tokens_input() < 0) return ACORN_ERROR(kUnsupported, "this model has no 'tokens' input");
  if (n < 1) return ACORN_ERROR(kInvalidArgument, "no tokens to run");
  if (bundle.context_length() > 0 && pos_ + n > bundle.context_length()) {
    return ACORN_ERROR(kOutOfRange, "%lld tokens at position %lld do not fit the context of %" PRIu32 " tokens",
                       static_cast<long long>(n), static_cast<long long>(pos_), bundle.context_length());
  }
  const int64_t vocab = model_->vocab_size();
  if (logits != nullptr && model_->logits_output() < 0) return ACORN_ERROR(kUnsupported, "this model has no 'logits' output");
  if (tokens == nullptr) return ACORN_ERROR(kInvalidArgument, "no token buffer");
  int32_t* ids = static_cast<int32_t*>(data_[model_->tokens_input()]);
  // A failure part-way (a bad id in a later chunk, a device error) puts the position back where the
  // call found it: the cache rows it wrote are simply overwritten by the next step.
  const int64_t start = pos_;
  for (int64_t done = 0; done < n;) {
    const int64_t chunk = std::min<int64_t>(n - done, bundle.max_tokens());
    std::memcpy(ids, tokens + done, static_cast<size_t>(chunk) * sizeof(int32_t));
    // Only the last row's logits are wanted unless the caller asked for every position.
    Status st = Step(chunk, logits != nullptr && all_positions ? StepRows::kAll : StepRows::kLast);
    if (!st.ok()) {
      pos_ = start;
      return st;
    }
    done += chunk;
    if (logits == nullptr) continue;
    const float* out = static_cast<const float*>(data_[model_->logits_output()]);
    if (all_positions) {
      std::memcpy(logits + (done - chunk) * vocab, out, static_cast<size_t>(chunk * vocab) * sizeof(float));
    } else if (done == n) {
      std::memcpy(logits, out + (chunk - 1) * vocab, static_cast<size_t>(vocab) * sizeof(float));
    }
  }
  return Status::Ok();
}

}  // namespace acorn

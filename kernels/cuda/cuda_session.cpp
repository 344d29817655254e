// CudaSession: a session's device memory and stream, and the execution of the launch plan.
#include <algorithm>
#include <cstring>

#include "acorn/platform.h"
#include "acorn_generated.h"
#include "cuda_check.h"
#include "cuda_model.h"
#include "launchers.h"
#include "ops/cuda_ops.h"

namespace acorn {
namespace cuda {

namespace {

bool IsHost(Backend b) { return b == Backend::kCpu || b == Backend::kReference; }
size_t Align256(size_t v) { return (v + 255) / 256 * 256; }
std::string MiB(uint64_t bytes) { return StrFormat("%.1f MiB", bytes / 1048576.0); }

uint64_t ElementBytes(const TensorDesc& d, int64_t tokens) {
  const DTypeInfo& info = GetDTypeInfo(d.dtype);
  return d.Elements(tokens) / info.block_elems * info.block_bytes;
}

}  // namespace

Result<std::unique_ptr<CudaSession>> CudaSession::Create(const CudaModel& model, void* host_arena,
                                                         size_t host_arena_bytes) {
  const DeviceProgramSpec& spec = model.spec();
  const Bundle& b = *spec.bundle;
  std::unique_ptr<CudaSession> s(new CudaSession(model));
  ACORN_CUDA_TRY(cudaSetDevice(model.options().device), "selecting the device");
  ACORN_CUDA_TRY(cudaStreamCreateWithFlags(&s->stream_, cudaStreamNonBlocking), "creating a stream");

  const size_t host_bytes = std::max<size_t>(spec.host_plan->arena_bytes, 64);
  if (host_arena != nullptr) {
    ACORN_CUDA_TRY(cudaHostRegister(host_arena, std::max(host_bytes, host_arena_bytes), cudaHostRegisterMapped),
                   "registering the caller's arena with the device");
    s->host_arena_ = static_cast<uint8_t*>(host_arena);
  } else {
    void* p = nullptr;
    if (cudaHostAlloc(&p, host_bytes, cudaHostAllocMapped) != cudaSuccess) {
      cudaGetLastError();
      return ACORN_ERROR(kOutOfMemory, "CUDA: cannot allocate %s of pinned host memory for the session; use a shorter "
                         "context when converting", MiB(host_bytes).c_str());
    }
    s->host_arena_ = static_cast<uint8_t*>(p);
    s->owns_host_arena_ = true;
  }
  void* mapped = nullptr;
  ACORN_CUDA_TRY(cudaHostGetDevicePointer(&mapped, s->host_arena_, 0), "mapping the host arena into the device");
  s->host_arena_device_ = static_cast<uint8_t*>(mapped);

  const uint64_t device_bytes = spec.device_plan->arena_bytes;
  if (device_bytes > 0) {
    void* p = nullptr;
    if (cudaMalloc(&p, device_bytes) != cudaSuccess) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      return ACORN_ERROR(kOutOfMemory, "CUDA: the session needs %s of device memory (KV cache and activations) and %s "
                         "of %s is free; use a shorter context (acorn-convert --context), fewer sessions, or "
                         "--backend cpu", MiB(device_bytes).c_str(), MiB(free_bytes).c_str(), MiB(total_bytes).c_str());
    }
    s->device_arena_ = static_cast<uint8_t*>(p);
  }

  // Scratch: the step's position, the launches' working memory, then the quantized-activation slots.
  const Program& prog = model.program();
  size_t size = 256;
  s->op_scratch_offset_ = size;
  size = Align256(size + prog.op_scratch);
  for (const ActSlot& slot : prog.slots) {
    s->slot_offsets_.push_back(size);
    size = Align256(size + Q8RowsBytes(kSmallRows, slot.cols));
  }
  void* scratch = nullptr;
  if (cudaMalloc(&scratch, size) != cudaSuccess) {
    cudaGetLastError();
    return ACORN_ERROR(kOutOfMemory, "CUDA: cannot allocate %s of device scratch memory", MiB(size).c_str());
  }
  s->scratch_ = static_cast<uint8_t*>(scratch);
  s->step_device_ = reinterpret_cast<int64_t*>(s->scratch_);
  void* step = nullptr;
  ACORN_CUDA_TRY(cudaHostAlloc(&step, 64, cudaHostAllocDefault), "allocating pinned memory");
  s->step_host_ = static_cast<int64_t*>(step);
  *s->step_host_ = 0;

  for (size_t i = 0; i < spec.segments.size(); ++i) {
    if (IsHost(spec.segments[i].backend)) continue;
    if (s->first_device_segment_ < 0) s->first_device_segment_ = static_cast<int>(i);
    s->last_device_segment_ = static_cast<int>(i);
  }
  s->graphs_.assign(spec.segments.size(), nullptr);
  s->graphs_enabled_ = model.options().graphs && !model.options().profile;
  s->row_bytes_.resize(b.tensors().size(), 0);
  for (size_t t = 0; t < b.tensors().size(); ++t) {
    const TensorDesc& d = b.tensors()[t];
    if (d.storage != Storage::kConstant && d.symbolic_axis == 0) s->row_bytes_[t] = ElementBytes(d, 1);
  }
  ACORN_RETURN_IF_ERROR(s->ResetState());
  return s;
}

CudaSession::~CudaSession() {
  cudaSetDevice(model_.options().device);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  for (cudaGraphExec_t g : graphs_) {
    if (g != nullptr) cudaGraphExecDestroy(g);
  }
  for (cudaEvent_t e : event_pool_) cudaEventDestroy(e);
  if (device_arena_ != nullptr) cudaFree(device_arena_);
  if (scratch_ != nullptr) cudaFree(scratch_);
  if (step_host_ != nullptr) cudaFreeHost(step_host_);
  if (host_arena_ != nullptr) {
    if (owns_host_arena_) {
      cudaFreeHost(host_arena_);
    } else {
      cudaHostUnregister(host_arena_);
    }
  }
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  cudaGetLastError();
}

Status CudaSession::ResetState() {
  ACORN_CUDA_TRY(cudaSetDevice(model_.options().device), "selecting the device");
  const uint64_t state = model_.spec().device_plan->state_bytes;
  if (state > 0) ACORN_CUDA_TRY(cudaMemsetAsync(device_arena_, 0, state, stream_), "clearing the KV cache");
  ACORN_CUDA_TRY(cudaStreamSynchronize(stream_), "clearing the KV cache");
  return Status::Ok();
}

uint8_t* CudaSession::Ptr(uint32_t t, bool one_row, const DeviceStep& step) const {
  const DeviceProgramSpec& spec = model_.spec();
  const TensorDesc& d = spec.bundle->tensors()[t];
  if (d.storage == Storage::kConstant) return const_cast<uint8_t*>(model_.constant(t).data);
  uint8_t* base = nullptr;
  switch (spec.homes[t]) {
    case TensorHome::kDevice:
    case TensorHome::kMirrored: base = device_arena_ + spec.device_plan->offsets[t]; break;
    case TensorHome::kShared: base = host_arena_device_ + spec.host_plan->offsets[t]; break;
    case TensorHome::kHost: return nullptr;
  }
  if (one_row && row_bytes_[t] > 0) base += row_bytes_[t] * static_cast<uint64_t>(step.n_tokens - 1);
  return base;
}

float* CudaSession::F(uint32_t t, bool one_row, const DeviceStep& step) const {
  return reinterpret_cast<float*>(Ptr(t, one_row, step));
}

WeightView CudaSession::Weight(uint32_t t) const {
  const TensorDesc& d = model_.spec().bundle->tensors()[t];
  WeightView w;
  w.data = model_.constant(t).data;
  w.layout = model_.constant(t).layout;
  w.dtype = d.dtype;
  w.rows = d.shape[0];
  w.cols = d.rank > 1 ? d.shape[1] : 1;
  if (w.layout == WeightLayout::kSplitBlocks) {
    w.scales = reinterpret_cast<const uint16_t*>(w.data + SplitScalesOffset(d.dtype, w.rows, w.cols));
  }
  return w;
}

Q8Rows CudaSession::Slot(int slot) const {
  return Q8RowsAt(scratch_ + slot_offsets_[slot], kSmallRows, model_.program().slots[slot].cols);
}

Status CudaSession::Run(int segment, const DeviceStep& step) {
  if (!error_.ok()) return error_;
  ACORN_CUDA_TRY(cudaSetDevice(model_.options().device), "selecting the device");
  if (step.n_tokens == 1 && graphs_enabled_) {
    if (graphs_[segment] == nullptr) {
      // First one-token step: record the segment's work once; every later one replays it.
      ACORN_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "starting a graph capture");
      const Status st = Enqueue(segment, step);
      cudaGraph_t graph = nullptr;
      const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
      cudaGraphExec_t exec = nullptr;
      const cudaError_t inst = st.ok() && end == cudaSuccess ? cudaGraphInstantiate(&exec, graph, 0) : end;
      if (graph != nullptr) cudaGraphDestroy(graph);
      if (!st.ok() || inst != cudaSuccess) {
        cudaGetLastError();
        graphs_enabled_ = false;
        Log(LogLevel::kWarning, "cuda: capturing a step into a graph failed (%s); launching kernels directly",
            st.ok() ? cudaGetErrorString(inst) : st.message().c_str());
        return Enqueue(segment, step);
      }
      graphs_[segment] = exec;
    }
    if (segment == first_device_segment_) *step_host_ = step.pos;
    return CudaStatus(cudaGraphLaunch(graphs_[segment], stream_), "launching a step graph");
  }
  return Enqueue(segment, step);
}

Status CudaSession::Finish() {
  if (!error_.ok()) return error_;
  cudaSetDevice(model_.options().device);
  cudaError_t e = cudaStreamSynchronize(stream_);
  if (e == cudaSuccess) e = cudaGetLastError();
  if (e != cudaSuccess) {
    error_ = Status(ErrorCode::kBackend, StrFormat("CUDA: a step failed on the device: %s (%s); this session can no "
                                                   "longer be used: create a new one", cudaGetErrorString(e),
                                                   cudaGetErrorName(e)));
    return error_;
  }
  if (!timed_.empty()) {
    for (const Timed& t : timed_) {
      float ms = 0;
      cudaEventElapsedTime(&ms, t.begin, t.end);
      auto it = std::find_if(totals_.begin(), totals_.end(), [&](const Total& x) { return x.name == t.name; });
      if (it == totals_.end()) it = totals_.insert(totals_.end(), Total{t.name, 0, 0});
      it->launches += 1;
      it->ms += ms;
    }
    timed_.clear();
    events_used_ = 0;
    ++profiled_steps_;
  }
  return Status::Ok();
}

Status CudaSession::Mark(const std::string& name, bool begin) {
  if (events_used_ == event_pool_.size()) {
    cudaEvent_t e = nullptr;
    ACORN_CUDA_TRY(cudaEventCreate(&e), "creating a profiling event");
    event_pool_.push_back(e);
  }
  cudaEvent_t e = event_pool_[events_used_++];
  ACORN_CUDA_TRY(cudaEventRecord(e, stream_), "recording a profiling event");
  if (begin) {
    timed_.push_back(Timed{name, e, nullptr});
  } else {
    timed_.back().end = e;
  }
  return Status::Ok();
}

// The launch's op name without its layer ("blk.7.attn_q" -> "attn_q"), and what it fuses.
std::string CudaSession::LaunchName(const Launch& l) const {
  std::string name = model_.spec().ops[l.op].op->name;
  if (name.compare(0, 4, "blk.") == 0) {
    const size_t dot = name.find('.', 4);
    if (dot != std::string::npos) name = name.substr(dot + 1);
  }
  switch (l.kind) {
    case LaunchKind::kOp: return name;
    case LaunchKind::kNorm: return name + (l.q8_out >= 0 ? " (+int8 out)" : "");
    case LaunchKind::kLinear:
      return name + (l.n_matmuls > 1 ? " (x" + std::to_string(l.n_matmuls) + ")" : "") +
             (l.swiglu_op >= 0 ? " +swiglu" : "") + (l.add_op >= 0 ? " +residual" : "") +
             (l.quantize_input ? " +quantize" : "");
    case LaunchKind::kAttention: return name + (l.rope_q >= 0 ? " (+rope, kv)" : " (+kv)");
  }
  return name;
}

std::string CudaSession::ProfileReport() {
  if (totals_.empty()) return std::string();
  std::sort(totals_.begin(), totals_.end(), [](const Total& a, const Total& b) { return a.ms > b.ms; });
  double sum = 0;
  for (const Total& t : totals_) sum += t.ms;
  std::string out = StrFormat("cuda launch profile over %lld steps: %.3f ms of device time per step\n"
                              "| launch | per step | us each | share |\n|---|---|---|---|\n",
                              static_cast<long long>(profiled_steps_), sum / profiled_steps_);
  for (const Total& t : totals_) {
    out += StrFormat("| %s | %.1f | %.2f | %.1f %% |\n", t.name.c_str(), static_cast<double>(t.launches) / profiled_steps_,
                     1000.0 * t.ms / t.launches, 100.0 * t.ms / sum);
  }
  totals_.clear();
  profiled_steps_ = 0;
  return out;
}

Status CudaSession::Enqueue(int segment, const DeviceStep& step) {
  const DeviceProgramSpec& spec = model_.spec();
  const Bundle& b = *spec.bundle;
  if (segment == first_device_segment_) {
    *step_host_ = step.pos;
    ACORN_CUDA_TRY(cudaMemcpyAsync(step_device_, step_host_, sizeof(int64_t), cudaMemcpyHostToDevice, stream_),
                   "copying the step's position");
    for (uint32_t t : b.graph_inputs()) {
      if (spec.homes[t] != TensorHome::kMirrored) continue;
      ACORN_CUDA_TRY(cudaMemcpyAsync(device_arena_ + spec.device_plan->offsets[t], host_arena_ + spec.host_plan->offsets[t],
                                     ElementBytes(b.tensors()[t], step.n_tokens), cudaMemcpyHostToDevice, stream_),
                     "copying inputs to the device");
    }
  }
  const bool profile = model_.options().profile;
  for (const Launch& l : model_.program().segments[segment]) {
    if (profile) ACORN_RETURN_IF_ERROR(Mark(LaunchName(l), true));
    ACORN_RETURN_IF_ERROR(RunLaunch(l, step));
    if (profile) ACORN_RETURN_IF_ERROR(Mark("", false));
  }
  if (segment == last_device_segment_) {
    for (uint32_t t : b.graph_outputs()) {
      if (spec.homes[t] != TensorHome::kMirrored) continue;
      uint64_t offset = 0, bytes = ElementBytes(b.tensors()[t], step.n_tokens);
      if (step.last_row_only && row_bytes_[t] > 0) {  // the caller reads the last row only
        offset = row_bytes_[t] * static_cast<uint64_t>(step.n_tokens - 1);
        bytes = row_bytes_[t];
      }
      ACORN_CUDA_TRY(cudaMemcpyAsync(host_arena_ + spec.host_plan->offsets[t] + offset,
                                     device_arena_ + spec.device_plan->offsets[t] + offset, bytes,
                                     cudaMemcpyDeviceToHost, stream_),
                     "copying outputs from the device");
    }
  }
  return Status::Ok();
}

Status CudaSession::RunLaunch(const Launch& l, const DeviceStep& step) {
  const bool one_row = step.last_row_only && l.tail;
  const int64_t rows = one_row ? 1 : step.n_tokens;
  switch (l.kind) {
    case LaunchKind::kOp: return RunOp(l.op, rows, one_row, step);
    case LaunchKind::kNorm: {
      const OpDesc& op = *model_.spec().ops[l.op].op;
      const int64_t H = model_.spec().bundle->tensors()[op.inputs[0]].shape[1];
      Q8Rows q;
      const bool quantize = l.q8_out >= 0 && rows <= kSmallRows;
      if (quantize) q = Slot(l.q8_out);
      return LaunchRmsNorm(stream_, F(op.inputs[0], one_row, step), F(op.inputs[1], one_row, step), rows, H,
                           op.attrs.epsilon, F(op.outputs[0], one_row, step), quantize ? &q : nullptr);
    }
    case LaunchKind::kLinear: return RunLinear(l, rows, one_row, step);
    case LaunchKind::kAttention: return RunAttention(l, rows, one_row, step);
  }
  return ACORN_ERROR(kInternal, "unknown CUDA launch kind");
}

Status CudaSession::RunOp(int op_index, int64_t rows, bool one_row, const DeviceStep& step) {
  const BoundOp& b = model_.spec().ops[op_index];
  const std::vector<TensorDesc>& tensors = model_.spec().bundle->tensors();
  KernelResources res;
  res.scratch = scratch_ + op_scratch_offset_;
  res.scratch_bytes = model_.program().op_scratch;
  res.stream = stream_;
  res.device_step = step_device_;
  OpCall call;
  call.op = b.op;
  call.res = &res;
  call.n_tokens = rows;
  call.pos = step.pos + (one_row ? step.n_tokens - 1 : 0);
  call.n_in = static_cast<int>(b.op->inputs.size());
  auto arg = [&](uint32_t t, TensorArg* a) {
    a->data = Ptr(t, one_row, step);
    a->desc = &tensors[t];
    a->layout = tensors[t].storage == Storage::kConstant ? model_.constant(t).layout : WeightLayout::kCanonical;
    for (int i = 0; i < a->desc->rank; ++i) a->dims[i] = a->desc->Dim(i, rows);
  };
  for (int k = 0; k < call.n_in; ++k) arg(b.op->inputs[k], &call.in[k]);
  arg(b.op->outputs[0], &call.out);
  return b.kernel->fn(call);
}

Status CudaSession::RunLinear(const Launch& l, int64_t rows, bool one_row, const DeviceStep& step) {
  const DeviceProgramSpec& spec = model_.spec();
  const Bundle& b = *spec.bundle;
  const OpDesc& first = *spec.ops[l.matmuls[0]].op;
  const uint32_t x = first.inputs[0];
  const int64_t K = b.tensors()[x].shape[1];
  const float* xf = F(x, one_row, step);
  // The launch's final output: the SwiGLU's or the residual Add's when fused, with the Add's other
  // input as the residual.
  const float* residual = nullptr;
  float* fused_out = nullptr;
  if (l.add_op >= 0) {
    const OpDesc& add = *spec.ops[l.add_op].op;
    const uint32_t y = first.outputs[0];
    residual = F(add.inputs[0] == y ? add.inputs[1] : add.inputs[0], one_row, step);
    fused_out = F(add.outputs[0], one_row, step);
  } else if (l.swiglu_op >= 0) {
    fused_out = F(spec.ops[l.swiglu_op].op->outputs[0], one_row, step);
  }
  LinearArgs a;
  a.n = l.n_matmuls;
  a.x = xf;
  a.T = rows;
  a.K = K;
  for (int m = 0; m < l.n_matmuls; ++m) {
    const OpDesc& mm = *spec.ops[l.matmuls[m]].op;
    a.w[m] = Weight(mm.inputs[1]);
    a.o[m].bias = mm.inputs.size() == 3 ? F(mm.inputs[2], one_row, step) : nullptr;
    a.o[m].out = F(mm.outputs[0], one_row, step);
  }
  if (l.add_op >= 0) {
    a.o[0].residual = residual;
    a.o[0].out = fused_out;
  }
  if (rows <= kSmallRows) {
    if (l.swiglu_op >= 0) {
      a.swiglu = true;
      a.o[0].out = fused_out;
    }
    if (l.q8_in >= 0) {
      a.xq = Slot(l.q8_in);
      if (l.quantize_input) {
        ACORN_RETURN_IF_ERROR(LaunchQuantizeRows(stream_, model_.program().slots[l.q8_in].format, xf, rows, K, a.xq));
      }
    }
    return LaunchGemv(stream_, a);
  }
  // Many rows: one tiled product per matrix, then the SwiGLU over the two outputs.
  for (int m = 0; m < l.n_matmuls; ++m) ACORN_RETURN_IF_ERROR(LaunchGemm(stream_, xf, rows, K, a.w[m], a.o[m]));
  if (l.swiglu_op >= 0) {
    return LaunchElementwise(stream_, Elementwise::kSwiGlu, a.o[0].out, a.o[1].out, rows * a.w[0].rows, fused_out);
  }
  return Status::Ok();
}

Status CudaSession::RunAttention(const Launch& l, int64_t rows, bool one_row, const DeviceStep& step) {
  const DeviceProgramSpec& spec = model_.spec();
  const Bundle& b = *spec.bundle;
  const OpDesc& op = *spec.ops[l.op].op;
  const OpAttributes& a = op.attrs;
  const int64_t kv_width = static_cast<int64_t>(a.n_kv_heads) * a.head_dim;
  float* k_cache = F(op.inputs[3], false, step);
  float* v_cache = F(op.inputs[4], false, step);
  if (l.rope_q >= 0) {
    const OpDesc& rq = *spec.ops[l.rope_q].op;
    const OpDesc& rk = *spec.ops[l.rope_k].op;
    RopeParams pq, pk;
    ops::CudaRopeParams(rq.attrs, &pq);
    ops::CudaRopeParams(rk.attrs, &pk);
    ACORN_RETURN_IF_ERROR(LaunchRopeKv(stream_, F(rq.inputs[0], one_row, step), F(rk.inputs[0], one_row, step),
                                       F(op.inputs[2], one_row, step), rows,
                                       reinterpret_cast<const int32_t*>(Ptr(rq.inputs[1], one_row, step)), pq, pk,
                                       F(rq.outputs[0], one_row, step), nullptr, k_cache, v_cache, step_device_));
  } else {
    ACORN_RETURN_IF_ERROR(LaunchKvWrite(stream_, F(op.inputs[1], one_row, step), F(op.inputs[2], one_row, step), rows,
                                        kv_width, k_cache, v_cache, step_device_));
  }
  AttentionArgs args;
  args.q = F(op.inputs[0], one_row, step);
  args.k_cache = k_cache;
  args.v_cache = v_cache;
  args.mask = op.inputs.size() == 6 ? F(op.inputs[5], one_row, step) : nullptr;
  args.out = F(op.outputs[0], one_row, step);
  if (l.q8_out >= 0 && rows <= kSmallRows) args.out_q = Slot(l.q8_out);
  args.T = rows;
  args.n_heads = a.n_heads;
  args.n_kv_heads = a.n_kv_heads;
  args.head_dim = a.head_dim;
  args.cache_rows = b.tensors()[op.inputs[3]].shape[0];
  args.scale = a.attention_scale;
  args.causal = a.causal;
  args.device_pos = step_device_;
  args.scratch = reinterpret_cast<float*>(scratch_ + op_scratch_offset_);
  return LaunchAttention(stream_, args);
}

}  // namespace cuda
}  // namespace acorn

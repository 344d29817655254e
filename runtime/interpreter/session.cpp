// Session: the arena, the thread pool and the position of one conversation; Step is a flat loop over
// the bound ops that allocates nothing.
#include <algorithm>
#include <cstring>

#include "acorn/model.h"
#include "acorn/platform.h"
#include "cpu/thread_pool.h"

namespace acorn {

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  if (model == nullptr) return ACORN_ERROR(kInvalidArgument, "no model");
  const Bundle& bundle = model->bundle();
  const MemoryPlan& plan = model->plan();
  std::unique_ptr<Session> s(new Session());
  s->model_ = model;

  if (options.arena != nullptr) {
    if (options.arena_bytes < plan.arena_bytes) {
      return ACORN_ERROR(kOutOfMemory, "arena of %zu bytes is too small: this model needs %llu bytes "
                         "(Model::plan().arena_bytes)", options.arena_bytes,
                         static_cast<unsigned long long>(plan.arena_bytes));
    }
    if (reinterpret_cast<uintptr_t>(options.arena) % kArenaAlignment != 0) {
      return ACORN_ERROR(kInvalidArgument, "arena memory must be %llu-byte aligned",
                         static_cast<unsigned long long>(kArenaAlignment));
    }
    s->arena_ = static_cast<uint8_t*>(options.arena);
  } else {
    s->arena_ = static_cast<uint8_t*>(platform::AlignedAlloc(plan.arena_bytes, kArenaAlignment));
    if (s->arena_ == nullptr) {
      return ACORN_ERROR(kOutOfMemory, "cannot allocate the %llu-byte arena (KV cache and activations); use a "
                         "smaller context when converting", static_cast<unsigned long long>(plan.arena_bytes));
    }
    s->owns_arena_ = true;
  }

  const int threads = options.threads > 0 ? options.threads : platform::HardwareThreads();
  s->pool_.reset(new cpu::ThreadPool(threads));
  s->res_.pool = s->pool_.get();
  s->res_.threads = s->pool_->size();

  size_t scratch = 0;
  for (const BoundOp& b : model->ops()) {
    if (b.kernel->scratch) scratch = std::max(scratch, b.kernel->scratch(bundle, *b.op, s->res_.threads));
  }
  if (scratch > 0) {
    s->scratch_ = static_cast<uint8_t*>(platform::AlignedAlloc(scratch, 64));
    if (s->scratch_ == nullptr) return ACORN_ERROR(kOutOfMemory, "cannot allocate %zu bytes of kernel scratch", scratch);
  }
  s->res_.scratch = s->scratch_;
  s->res_.scratch_bytes = scratch;

  const std::vector<TensorDesc>& tensors = bundle.tensors();
  s->data_.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    s->data_[i] = tensors[i].storage == Storage::kConstant ? const_cast<uint8_t*>(tensors[i].data)
                                                            : s->arena_ + plan.offsets[i];
  }
  // One prepared call per op; a step only fills in the token count.
  for (const BoundOp& b : model->ops()) {
    OpCall call;
    call.op = b.op;
    call.res = &s->res_;
    call.n_in = static_cast<int>(b.op->inputs.size());
    for (int k = 0; k < call.n_in; ++k) {
      call.in[k].data = s->data_[b.op->inputs[k]];
      call.in[k].desc = &tensors[b.op->inputs[k]];
    }
    call.out.data = s->data_[b.op->outputs[0]];
    call.out.desc = &tensors[b.op->outputs[0]];
    s->calls_.push_back(call);
  }
  s->Reset();
  return s;
}

Session::~Session() {
  if (owns_arena_) platform::AlignedFree(arena_);
  platform::AlignedFree(scratch_);
}

void Session::Reset() {
  pos_ = 0;
  std::memset(arena_, 0, model_->plan().state_bytes);
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

namespace {
void ResolveDims(TensorArg* t, int64_t n_tokens) {
  for (int i = 0; i < t->desc->rank; ++i) t->dims[i] = t->desc->Dim(i, n_tokens);
}
}  // namespace

Status Session::Step(int64_t n_tokens) {
  const Bundle& bundle = model_->bundle();
  if (n_tokens < 1 || n_tokens > bundle.max_tokens()) {
    return ACORN_ERROR(kInvalidArgument, "a step takes 1..%u tokens, not %lld", bundle.max_tokens(),
                       static_cast<long long>(n_tokens));
  }
  if (bundle.context_length() > 0 && pos_ + n_tokens > bundle.context_length()) {
    return ACORN_ERROR(kOutOfRange, "positions %lld..%lld are beyond the context of %u tokens; start a new session "
                       "(Reset) or convert with a longer context", static_cast<long long>(pos_),
                       static_cast<long long>(pos_ + n_tokens - 1), bundle.context_length());
  }
  if (model_->positions_input() >= 0) {
    int32_t* positions = static_cast<int32_t*>(data_[model_->positions_input()]);
    for (int64_t i = 0; i < n_tokens; ++i) positions[i] = static_cast<int32_t>(pos_ + i);
  }
  for (OpCall& call : calls_) {
    call.n_tokens = n_tokens;
    call.pos = pos_;
    for (int k = 0; k < call.n_in; ++k) ResolveDims(&call.in[k], n_tokens);
    ResolveDims(&call.out, n_tokens);
    Status st = model_->ops()[&call - calls_.data()].kernel->fn(call);
    if (!st.ok()) return st;
  }
  pos_ += n_tokens;
  return Status::Ok();
}

Status Session::Forward(const int32_t* tokens, int64_t n, float* logits, bool all_positions) {
  const Bundle& bundle = model_->bundle();
  if (model_->tokens_input() < 0) return ACORN_ERROR(kUnsupported, "this model has no 'tokens' input");
  if (n < 1) return ACORN_ERROR(kInvalidArgument, "no tokens to run");
  if (bundle.context_length() > 0 && pos_ + n > bundle.context_length()) {
    return ACORN_ERROR(kOutOfRange, "%lld tokens at position %lld do not fit the context of %u tokens",
                       static_cast<long long>(n), static_cast<long long>(pos_), bundle.context_length());
  }
  const int64_t vocab = model_->vocab_size();
  if (logits != nullptr && model_->logits_output() < 0) return ACORN_ERROR(kUnsupported, "this model has no 'logits' output");
  int32_t* ids = static_cast<int32_t*>(data_[model_->tokens_input()]);
  for (int64_t done = 0; done < n;) {
    const int64_t chunk = std::min<int64_t>(n - done, bundle.max_tokens());
    std::memcpy(ids, tokens + done, static_cast<size_t>(chunk) * sizeof(int32_t));
    ACORN_RETURN_IF_ERROR(Step(chunk));
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

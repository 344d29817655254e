// Building the CUDA launch plan: pattern matching over the bound op list, one segment at a time.
// A fusion applies only to ops bound to the built-in CUDA kernels, on the same side of the tail
// boundary, whose intermediate results nothing else reads.
#include "program.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "acorn_generated.h"
#include "cuda_plugin.h"
#include "launchers.h"

namespace acorn {
namespace cuda {

namespace {

bool IsHost(Backend b) { return b == Backend::kCpu || b == Backend::kReference; }
bool Is(const OpDesc& op, fb::OpKind k) { return op.kind == static_cast<uint16_t>(k); }

class Builder {
 public:
  Builder(const DeviceProgramSpec& spec, bool fuse) : s_(spec), b_(*spec.bundle), fuse_(fuse) {}

  Result<Program> Build() {
    const size_t n_tensors = b_.tensors().size();
    const int n_ops = static_cast<int>(s_.ops.size());
    readers_.assign(n_tensors, {});
    producer_.assign(n_tensors, -1);
    output_.assign(n_tensors, 0);
    for (int i = 0; i < n_ops; ++i) {
      for (uint32_t t : Op(i).inputs) readers_[t].push_back(i);
      for (uint32_t t : Op(i).outputs) {
        if (producer_[t] < 0) producer_[t] = i;
      }
    }
    for (uint32_t t : b_.graph_outputs()) output_[t] = 1;
    absorbed_.assign(static_cast<size_t>(n_ops), 0);
    // Only ops bound to this backend's own kernels may be fused (an application kernel stays alone).
    const Span<const KernelEntry> builtin = Kernels();
    builtin_begin_ = builtin.begin();
    builtin_end_ = builtin.end();

    prog_.segments.resize(s_.segments.size());
    for (size_t si = 0; si < s_.segments.size(); ++si) {
      const OpSegment& seg = s_.segments[si];
      if (IsHost(seg.backend)) continue;
      BuildSegment(seg, &prog_.segments[si]);
    }
    AssignSlots();
    ACORN_RETURN_IF_ERROR(SizeScratch());
    return std::move(prog_);
  }

 private:
  const OpDesc& Op(int i) const { return *s_.ops[i].op; }
  bool Tail(int i) const { return i >= s_.tail_begin; }
  bool Builtin(int i) const {
    const KernelEntry* k = s_.ops[i].kernel;
    return k >= builtin_begin_ && k < builtin_end_;
  }
  bool Fusable(int i, const OpSegment& seg) const {
    return fuse_ && i >= seg.begin && i < seg.end && Builtin(i) && !absorbed_[i];
  }
  // t is read by op `op` alone and is not a graph output: a fusion may skip writing it.
  bool OnlyReader(uint32_t t, int op) const {
    return !output_[t] && readers_[t].size() == 1 && readers_[t][0] == op;
  }
  const TensorDesc& T(uint32_t t) const { return b_.tensors()[t]; }

  void BuildSegment(const OpSegment& seg, std::vector<Launch>* out) {
    // RoPE ops that feed an attention op: fused into its launch.
    std::map<int, std::pair<int, int>> ropes;
    for (int i = seg.begin; i < seg.end; ++i) {
      if (!Is(Op(i), fb::OpKind::Attention) || !Fusable(i, seg)) continue;
      const uint32_t q = Op(i).inputs[0], k = Op(i).inputs[1];
      const int rq = producer_[q], rk = producer_[k];
      if (rq < 0 || rk < 0 || rq == rk || !Fusable(rq, seg) || !Fusable(rk, seg)) continue;
      if (!Is(Op(rq), fb::OpKind::Rope) || !Is(Op(rk), fb::OpKind::Rope)) continue;
      if (Tail(rq) != Tail(i) || Tail(rk) != Tail(i)) continue;
      if (!OnlyReader(q, i) || !OnlyReader(k, i)) continue;
      if (Op(rq).inputs[1] != Op(rk).inputs[1]) continue;  // one positions tensor
      ropes[i] = {rq, rk};
      absorbed_[rq] = absorbed_[rk] = 1;
    }
    for (int i = seg.begin; i < seg.end; ++i) {
      if (absorbed_[i]) continue;
      Launch l;
      l.op = i;
      l.tail = Tail(i);
      if (!Fusable(i, seg)) {
        out->push_back(l);
        continue;
      }
      const OpDesc& op = Op(i);
      if (Is(op, fb::OpKind::MatMul)) {
        BuildLinear(seg, i, &l);
      } else if (Is(op, fb::OpKind::RmsNorm)) {
        l.kind = LaunchKind::kNorm;
      } else if (Is(op, fb::OpKind::Attention)) {
        l.kind = LaunchKind::kAttention;
        auto it = ropes.find(i);
        if (it != ropes.end()) {
          l.rope_q = it->second.first;
          l.rope_k = it->second.second;
        }
      }
      out->push_back(l);
    }
  }

  void BuildLinear(const OpSegment& seg, int i, Launch* l) {
    l->kind = LaunchKind::kLinear;
    const OpDesc& first = Op(i);
    const uint32_t x = first.inputs[0];
    const TensorDesc& w0 = T(first.inputs[1]);
    l->matmuls[l->n_matmuls++] = i;
    for (int j = i + 1; j < seg.end && l->n_matmuls < 3; ++j) {
      const OpDesc& op = Op(j);
      if (!Fusable(j, seg) || !Is(op, fb::OpKind::MatMul) || op.inputs[0] != x || Tail(j) != Tail(i)) break;
      const TensorDesc& w = T(op.inputs[1]);
      if (w.dtype != w0.dtype || w.shape[1] != w0.shape[1]) break;
      l->matmuls[l->n_matmuls++] = j;
      absorbed_[j] = 1;
    }
    const int next = l->matmuls[l->n_matmuls - 1] + 1;
    if (next >= seg.end || !Fusable(next, seg) || Tail(next) != Tail(i)) return;
    const OpDesc& op = Op(next);
    if (l->n_matmuls == 2 && Is(op, fb::OpKind::SwiGlu)) {
      const uint32_t g = Op(l->matmuls[0]).outputs[0], u = Op(l->matmuls[1]).outputs[0];
      if (op.inputs[0] == g && op.inputs[1] == u && OnlyReader(g, next) && OnlyReader(u, next) &&
          T(Op(l->matmuls[0]).inputs[1]).shape[0] == T(Op(l->matmuls[1]).inputs[1]).shape[0]) {
        l->swiglu_op = next;
        absorbed_[next] = 1;
      }
    } else if (l->n_matmuls == 1 && Is(op, fb::OpKind::Add)) {
      const uint32_t y = first.outputs[0];
      if ((op.inputs[0] == y) != (op.inputs[1] == y) && OnlyReader(y, next)) {
        l->add_op = next;
        absorbed_[next] = 1;
      }
    }
  }

  // The tensor a launch leaves behind for later launches.
  uint32_t LaunchOutput(const Launch& l) const {
    if (l.kind == LaunchKind::kLinear) {
      if (l.swiglu_op >= 0) return Op(l.swiglu_op).outputs[0];
      if (l.add_op >= 0) return Op(l.add_op).outputs[0];
    }
    return Op(l.op).outputs[0];
  }

  // Quantized activations: one slot per (tensor, side of the tail, format), filled by the producing
  // norm or attention launch where it can (Q8_0 only), else by the first product that reads it.
  void AssignSlots() {
    for (std::vector<Launch>& seg : prog_.segments) {
      std::map<std::tuple<uint32_t, bool, ActQuant>, int> slot_of;
      std::map<uint32_t, Launch*> made_by;
      for (Launch& l : seg) {
        if (l.kind == LaunchKind::kLinear) {
          const OpDesc& mm = Op(l.op);
          const ActQuant format = ActQuantFor(T(mm.inputs[1]).dtype);
          if (format != ActQuant::kNone) {
            const uint32_t x = mm.inputs[0];
            const auto key = std::make_tuple(x, l.tail, format);
            auto it = slot_of.find(key);
            if (it != slot_of.end()) {
              l.q8_in = it->second;
            } else {
              l.q8_in = static_cast<int>(prog_.slots.size());
              prog_.slots.push_back({T(x).shape[1], format});
              slot_of[key] = l.q8_in;
              auto p = made_by.find(x);
              Launch* producer = p != made_by.end() ? p->second : nullptr;
              bool can = format == ActQuant::kQ8_0 && producer != nullptr && producer->tail == l.tail &&
                         T(x).shape[1] % kQBlock == 0;
              if (can && producer->kind == LaunchKind::kAttention) {
                can = Op(producer->op).attrs.head_dim % kQBlock == 0;
              }
              can = can && (producer->kind == LaunchKind::kNorm || producer->kind == LaunchKind::kAttention) &&
                    producer->q8_out < 0;
              if (can) {
                producer->q8_out = l.q8_in;
              } else {
                l.quantize_input = true;
              }
            }
          }
        }
        made_by[LaunchOutput(l)] = &l;
      }
    }
  }

  Status SizeScratch() {
    size_t need = 0;
    for (const std::vector<Launch>& seg : prog_.segments) {
      for (const Launch& l : seg) {
        const BoundOp& b = s_.ops[l.op];
        if (l.kind == LaunchKind::kOp && b.kernel->scratch) need = std::max(need, b.kernel->scratch(b_, *b.op, 1));
        if (l.kind == LaunchKind::kAttention) {
          need = std::max(need, AttentionScratchBytes(b.op->attrs.n_heads, b.op->attrs.head_dim, T(b.op->inputs[3]).shape[0]));
        }
      }
    }
    prog_.op_scratch = need;
    return Status::Ok();
  }

  const DeviceProgramSpec& s_;
  const Bundle& b_;
  const bool fuse_;
  Program prog_;
  std::vector<std::vector<int>> readers_;
  std::vector<int> producer_;
  std::vector<uint8_t> output_;
  std::vector<uint8_t> absorbed_;
  const KernelEntry* builtin_begin_ = nullptr;
  const KernelEntry* builtin_end_ = nullptr;
};

}  // namespace

Result<Program> BuildProgram(const DeviceProgramSpec& spec, bool fuse) { return Builder(spec, fuse).Build(); }

std::vector<int> KeepAlive(const DeviceProgramSpec& spec, const Program& program) {
  std::vector<int> keep(spec.bundle->tensors().size(), -1);
  auto until = [&keep](uint32_t t, int op) { keep[t] = std::max(keep[t], op); };
  for (const std::vector<Launch>& seg : program.segments) {
    for (const Launch& l : seg) {
      if (l.kind == LaunchKind::kLinear) {
        const int end = std::max(l.add_op, l.swiglu_op);
        if (end >= 0) until(spec.ops[l.op].op->inputs[0], end);
      } else if (l.kind == LaunchKind::kAttention && l.rope_q >= 0) {
        until(spec.ops[l.rope_q].op->inputs[0], l.op);
        until(spec.ops[l.rope_k].op->inputs[0], l.op);
        until(spec.ops[l.rope_q].op->inputs[1], l.op);
      }
    }
  }
  return keep;
}

}  // namespace cuda
}  // namespace acorn

// The bundle verifier: everything a loaded bundle promises is checked here, once, at load. The
// FlatBuffers verifier proves the buffer is well-formed; the checks after it prove that what the
// buffer says is consistent (sizes, offsets, enum values, graph structure). Errors name the tensor,
// op, segment or byte offset at fault.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>

#include "acorn/bundle.h"
#include "acorn_generated.h"
#include "bundle/segment_codec.h"
#include "core/limits.h"
#include "graph/op_info.h"

namespace acorn {

namespace {

static_assert(static_cast<int>(fb::DType::MAX) + 1 == kDTypeCount, "schema DType and dtype table disagree");
static_assert(static_cast<int>(fb::DType::Q4_0) == static_cast<int>(DType::kQ4_0), "dtype numbering");
static_assert(static_cast<int>(fb::DType::Q4_1) == static_cast<int>(DType::kQ4_1), "dtype numbering");
static_assert(static_cast<int>(fb::DType::Q5_0) == static_cast<int>(DType::kQ5_0), "dtype numbering");
static_assert(static_cast<int>(fb::DType::Q5_1) == static_cast<int>(DType::kQ5_1), "dtype numbering");
static_assert(static_cast<int>(fb::DType::Q2_K) == static_cast<int>(DType::kQ2_K), "dtype numbering");
static_assert(static_cast<int>(fb::DType::Q6_K) == static_cast<int>(DType::kQ6_K), "dtype numbering");
static_assert(static_cast<int>(fb::DType::IQ4_NL) == static_cast<int>(DType::kIQ4_NL), "dtype numbering");
static_assert(static_cast<int>(fb::DType::IQ4_XS) == static_cast<int>(DType::kIQ4_XS), "dtype numbering");
static_assert(static_cast<int>(fb::Storage::Output) == static_cast<int>(Storage::kOutput), "storage numbering");

// Bounds for what a bundle may declare (core/limits.h) keep size arithmetic far from overflow and
// refuse nonsense before anything is allocated.
using limits::kMaxContext;
using limits::kMaxFlatBufferTables;
using limits::kMaxTensorBytes;
using limits::kMaxTokens;
static_assert(static_cast<int>(fb::RopeStyle::Half) == static_cast<int>(RopeStyle::kHalf) &&
              static_cast<int>(fb::RopeStyle::MAX) == static_cast<int>(RopeStyle::kHalf), "rope style numbering");
static_assert(static_cast<int>(fb::PoolMode::Last) == static_cast<int>(PoolMode::kLast) &&
              static_cast<int>(fb::PoolMode::MAX) == static_cast<int>(PoolMode::kLast), "pool mode numbering");

bool AddOverflows(uint64_t a, uint64_t b, uint64_t* sum) {
  *sum = a + b;
  return *sum < a;
}

const char* TensorName(const fb::Tensor* t) { return t->name() ? t->name()->c_str() : "?"; }

}  // namespace

class BundleVerifier {
 public:
  explicit BundleVerifier(Bundle* b) : b_(b) {}

  Status Run() {
    ACORN_RETURN_IF_ERROR(CheckEnvelope());
    ACORN_RETURN_IF_ERROR(CheckSegments());
    ACORN_RETURN_IF_ERROR(CheckGraphLimits());
    ACORN_RETURN_IF_ERROR(CheckTensors());
    ACORN_RETURN_IF_ERROR(CheckOps());
    ACORN_RETURN_IF_ERROR(CheckGraphIo());
    CopyMetadata();
    return Status::Ok();
  }

 private:
  // Size prefix, identifier, FlatBuffers verifier, schema version.
  Status CheckEnvelope() {
    const uint8_t* data = b_->data_;
    const size_t size = b_->size_;
    if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
      return ACORN_ERROR(kInvalidArgument, "bundle buffer at %p is not 8-byte aligned (64-byte alignment is best)",
                         static_cast<const void*>(data));
    }
    if (size < 12) return ACORN_ERROR(kMalformed, "file is %zu bytes, too short to be an acorn bundle", size);
    if (!Bundle::HasIdentifier(data, size)) {
      char found[5] = {};
      for (int i = 0; i < 4; ++i) {
        const char c = static_cast<char>(data[8 + i]);
        found[i] = (c >= 32 && c < 127) ? c : '?';
      }
      return ACORN_ERROR(kMalformed, "not an acorn bundle: identifier at byte 8 is '%s', expected '%s'", found,
                         fb::BundleIdentifier());
    }
    uint32_t prefix;
    std::memcpy(&prefix, data, 4);
    fb_end_ = uint64_t{prefix} + 4;
    if (fb_end_ > size) {
      return ACORN_ERROR(kMalformed, "truncated: the header says the FlatBuffer ends at byte %llu but the file has %zu bytes",
                         static_cast<unsigned long long>(fb_end_), size);
    }
    flatbuffers::Verifier::Options options;
    options.max_tables = kMaxFlatBufferTables;
    flatbuffers::Verifier verifier(data, static_cast<size_t>(fb_end_), options);
    if (!fb::VerifySizePrefixedBundleBuffer(verifier)) {
      return ACORN_ERROR(kMalformed, "the FlatBuffer header (bytes 0..%llu) failed verification: corrupt or truncated",
                         static_cast<unsigned long long>(fb_end_));
    }
    root_ = fb::GetSizePrefixedBundle(data);
    b_->root_ = root_;
    b_->schema_version_ = root_->schema_version();
    if (root_->schema_version() != kSchemaVersion) {
      return ACORN_ERROR(kUnsupported,
                         "bundle schema version %" PRIu32 " is not supported (this build reads version %" PRIu32 "); "
                         "convert the model again with a matching acorn-convert",
                         root_->schema_version(), kSchemaVersion);
    }
    return Status::Ok();
  }

  Status CheckSegments() {
    const auto* segs = root_->segments();
    if (segs == nullptr) return Status::Ok();
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) in the file
    for (uint32_t i = 0; i < segs->size(); ++i) {
      const fb::Segment* s = segs->Get(i);
      SegmentDesc d;
      d.file_offset = s->offset();
      d.stored_size = s->size();
      uint64_t end;
      if (d.file_offset % kSegmentAlignment != 0) {
        return ACORN_ERROR(kMalformed, "segment %" PRIu32 ": offset %llu is not a multiple of %llu", i,
                           static_cast<unsigned long long>(d.file_offset),
                           static_cast<unsigned long long>(kSegmentAlignment));
      }
      if (d.file_offset < fb_end_) {
        return ACORN_ERROR(kMalformed,
                           "segment %" PRIu32 ": offset %llu lies inside the FlatBuffer (which ends at byte %llu)", i,
                           static_cast<unsigned long long>(d.file_offset), static_cast<unsigned long long>(fb_end_));
      }
      if (AddOverflows(d.file_offset, d.stored_size, &end) || end > b_->size_) {
        return ACORN_ERROR(kMalformed,
                           "segment %" PRIu32 ": bytes %llu..%llu lie outside the file (%zu bytes): truncated?", i,
                           static_cast<unsigned long long>(d.file_offset),
                           static_cast<unsigned long long>(d.file_offset + d.stored_size), b_->size_);
      }
      ranges.emplace_back(d.file_offset, end);
      const uint8_t* stored = b_->data_ + d.file_offset;
      switch (s->compression()) {
        case fb::Compression::None:
          d.compression = Compression::kNone;
          if (s->uncompressed_size() != d.stored_size) {
            return ACORN_ERROR(kMalformed,
                               "segment %" PRIu32 ": uncompressed segment declares %llu bytes but stores %llu", i,
                               static_cast<unsigned long long>(s->uncompressed_size()),
                               static_cast<unsigned long long>(d.stored_size));
          }
          d.size = d.stored_size;
          d.data = stored;
          break;
        case fb::Compression::Zstd: {
          d.compression = Compression::kZstd;
          d.size = s->uncompressed_size();
          void* out = nullptr;
          Status st = DecompressSegment(stored, d.stored_size, d.size, &out);
          if (!st.ok()) return Status(st.code(), StrFormat("segment %" PRIu32 ": ", i) + st.message());
          b_->owned_segments_.push_back(out);
          d.data = static_cast<const uint8_t*>(out);
          break;
        }
        default:
          return ACORN_ERROR(kMalformed, "segment %" PRIu32 ": unknown compression %u", i,
                             static_cast<unsigned>(s->compression()));
      }
      b_->segments_.push_back(d);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      if (ranges[i].first < ranges[i - 1].second) {
        return ACORN_ERROR(kMalformed, "segments overlap at file bytes %llu..%llu",
                           static_cast<unsigned long long>(ranges[i].first),
                           static_cast<unsigned long long>(ranges[i - 1].second));
      }
    }
    return Status::Ok();
  }

  Status CheckGraphLimits() {
    const fb::Graph* g = root_->graph();
    if (g != nullptr) {
      b_->max_tokens_ = g->max_tokens();
      b_->context_length_ = g->context_length();
    }
    if (b_->max_tokens_ == 0 || b_->max_tokens_ > kMaxTokens) {
      return ACORN_ERROR(kMalformed, "graph max_tokens %" PRIu32 " is outside 1..%" PRIu32, b_->max_tokens_,
                         kMaxTokens);
    }
    if (b_->context_length_ > kMaxContext) {
      return ACORN_ERROR(kMalformed, "graph context_length %" PRIu32 " exceeds %" PRIu32, b_->context_length_,
                         kMaxContext);
    }
    return Status::Ok();
  }

  Status CheckTensors() {
    const auto* tensors = root_->tensors();
    if (tensors == nullptr) return Status::Ok();
    std::unordered_set<std::string> names;
    b_->tensors_.reserve(tensors->size());
    for (uint32_t i = 0; i < tensors->size(); ++i) {
      const fb::Tensor* t = tensors->Get(i);
      b_->names_.emplace_back(TensorName(t));
      const char* name = b_->names_.back().c_str();
      TensorDesc d;
      d.name = name;
      if (name[0] == '\0') return ACORN_ERROR(kMalformed, "tensor %" PRIu32 " has an empty name", i);
      if (!names.insert(name).second) {
        return ACORN_ERROR(kMalformed, "tensor %" PRIu32 ": duplicate name '%s'", i, name);
      }
      const DTypeInfo* info = FindDType(static_cast<uint32_t>(t->dtype()));
      if (info == nullptr) {
        return ACORN_ERROR(kUnsupported, "tensor '%s': unknown dtype %u", name, static_cast<unsigned>(t->dtype()));
      }
      d.dtype = info->dtype;
      if (static_cast<uint32_t>(t->storage()) > static_cast<uint32_t>(fb::Storage::MAX)) {
        return ACORN_ERROR(kMalformed, "tensor '%s': unknown storage %u", name, static_cast<unsigned>(t->storage()));
      }
      d.storage = static_cast<Storage>(t->storage());
      const auto* shape = t->shape();
      const uint32_t rank = shape ? shape->size() : 0;
      if (rank == 0 || rank > kMaxRank) {
        return ACORN_ERROR(kMalformed, "tensor '%s': rank %" PRIu32 " is outside 1..%d", name, rank, kMaxRank);
      }
      // The FlatBuffers verifier checks a vector's length field, not that 8-byte elements are
      // 8-byte aligned; reading a misaligned int64 would be undefined behaviour.
      if (reinterpret_cast<uintptr_t>(shape->data()) % alignof(int64_t) != 0) {
        return ACORN_ERROR(kMalformed, "tensor '%s': shape vector is misaligned", name);
      }
      d.rank = static_cast<int>(rank);
      uint64_t elems = 1;
      for (uint32_t a = 0; a < rank; ++a) {
        const int64_t dim = shape->Get(a);
        d.shape[a] = dim;
        uint64_t size;
        if (dim == kTokensDim) {
          if (d.symbolic_axis >= 0) return ACORN_ERROR(kMalformed, "tensor '%s': more than one tokens dimension", name);
          if (d.storage == Storage::kConstant || d.storage == Storage::kState) {
            return ACORN_ERROR(kMalformed, "tensor '%s': a %s tensor cannot have a tokens dimension", name,
                               StorageName(d.storage));
          }
          d.symbolic_axis = static_cast<int>(a);
          size = b_->max_tokens_;
        } else if (dim <= 0) {
          return ACORN_ERROR(kMalformed, "tensor '%s': dimension %" PRIu32 " is %lld", name, a,
                             static_cast<long long>(dim));
        } else {
          size = static_cast<uint64_t>(dim);
        }
        if (size > kMaxTensorBytes || elems > kMaxTensorBytes / size) {
          return ACORN_ERROR(kMalformed, "tensor '%s': the product of its dimensions overflows", name);
        }
        elems *= size;
      }
      const uint64_t inner = d.symbolic_axis == d.rank - 1 ? b_->max_tokens_ : static_cast<uint64_t>(d.shape[d.rank - 1]);
      if (info->quantized && (inner % info->block_elems != 0 || d.symbolic_axis == d.rank - 1)) {
        return ACORN_ERROR(
            kMalformed, "tensor '%s': innermost dimension %llu is not a fixed multiple of the %s block (%" PRIu32 ")",
            name, static_cast<unsigned long long>(inner), info->name, info->block_elems);
      }
      if (!RowBytes(d.dtype, elems, &d.max_bytes) || d.max_bytes > kMaxTensorBytes) {
        return ACORN_ERROR(kMalformed, "tensor '%s': byte size overflows", name);
      }
      if (d.storage == Storage::kConstant) ACORN_RETURN_IF_ERROR(CheckConstant(t, &d));
      b_->tensors_.push_back(d);
    }
    return Status::Ok();
  }

  Status CheckConstant(const fb::Tensor* t, TensorDesc* d) {
    if (t->segment() >= b_->segments_.size()) {
      return ACORN_ERROR(kMalformed, "tensor '%s': segment %" PRIu32 " does not exist (the bundle has %zu)", d->name,
                         t->segment(), b_->segments_.size());
    }
    const SegmentDesc& seg = b_->segments_[t->segment()];
    d->segment = t->segment();
    d->offset = t->offset();
    if (d->offset % kTensorAlignment != 0) {
      return ACORN_ERROR(kMalformed, "tensor '%s': offset %llu in segment %" PRIu32 " is not %llu-byte aligned",
                         d->name, static_cast<unsigned long long>(d->offset), d->segment,
                         static_cast<unsigned long long>(kTensorAlignment));
    }
    if (t->size() != d->max_bytes) {
      return ACORN_ERROR(kMalformed, "tensor '%s': stores %llu bytes but %s with this shape needs %llu", d->name,
                         static_cast<unsigned long long>(t->size()), DTypeName(d->dtype),
                         static_cast<unsigned long long>(d->max_bytes));
    }
    uint64_t end;
    if (AddOverflows(d->offset, d->max_bytes, &end) || end > seg.size) {
      return ACORN_ERROR(kMalformed, "tensor '%s': bytes %llu..%llu lie outside segment %" PRIu32 " (%llu bytes)",
                         d->name, static_cast<unsigned long long>(d->offset),
                         static_cast<unsigned long long>(d->offset + d->max_bytes), d->segment,
                         static_cast<unsigned long long>(seg.size));
    }
    d->data = seg.data + d->offset;
    return Status::Ok();
  }

  Status CheckOps() {
    const fb::Graph* g = root_->graph();
    if (g == nullptr || g->ops() == nullptr) return Status::Ok();
    const uint32_t n_tensors = static_cast<uint32_t>(b_->tensors_.size());
    // A planned tensor must be written before it is read; inputs, state and constants exist already.
    std::vector<bool> written(n_tensors, false);
    for (uint32_t i = 0; i < n_tensors; ++i) written[i] = b_->tensors_[i].storage != Storage::kPlanned &&
                                                          b_->tensors_[i].storage != Storage::kOutput;
    for (uint32_t i = 0; i < g->ops()->size(); ++i) {
      const fb::Op* op = g->ops()->Get(i);
      const uint16_t kind = static_cast<uint16_t>(op->kind());
      const OpInfo* info = FindOpInfo(kind);
      OpDesc d;
      d.kind = kind;
      b_->names_.emplace_back(op->name() ? op->name()->c_str() : "");
      d.name = b_->names_.back().c_str();
      if (info == nullptr) {
        return ACORN_ERROR(kUnsupported, "op %" PRIu32 " ('%s'): unknown op kind %u", i, d.name, kind);
      }
      const uint32_t n_in = op->inputs() ? op->inputs()->size() : 0;
      const uint32_t n_out = op->outputs() ? op->outputs()->size() : 0;
      if (n_in < info->min_inputs || n_in > info->max_inputs || n_out != info->outputs) {
        return ACORN_ERROR(kMalformed,
                           "op %" PRIu32 " (%s '%s'): has %" PRIu32 " inputs and %" PRIu32
                           " outputs, expected %u..%u and %u",
                           i, info->name, d.name, n_in, n_out, info->min_inputs, info->max_inputs, info->outputs);
      }
      for (uint32_t k = 0; k < n_in; ++k) {
        const uint32_t t = op->inputs()->Get(k);
        if (t >= n_tensors) {
          return ACORN_ERROR(kMalformed,
                             "op %" PRIu32 " (%s '%s'): input %" PRIu32 " names tensor %" PRIu32 " of %" PRIu32, i,
                             info->name, d.name, k, t, n_tensors);
        }
        if (!written[t]) {
          return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): reads tensor '%s' before any op writes it", i,
                             info->name, d.name, b_->tensors_[t].name);
        }
        d.inputs.push_back(t);
      }
      for (uint32_t k = 0; k < n_out; ++k) {
        const uint32_t t = op->outputs()->Get(k);
        if (t >= n_tensors) {
          return ACORN_ERROR(kMalformed,
                             "op %" PRIu32 " (%s '%s'): output %" PRIu32 " names tensor %" PRIu32 " of %" PRIu32, i,
                             info->name, d.name, k, t, n_tensors);
        }
        const Storage s = b_->tensors_[t].storage;
        if (s != Storage::kPlanned && s != Storage::kOutput) {
          return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): writes %s tensor '%s'", i, info->name, d.name,
                             StorageName(s), b_->tensors_[t].name);
        }
        if (std::find(d.inputs.begin(), d.inputs.end(), t) != d.inputs.end()) {
          return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): tensor '%s' is both input and output", i,
                             info->name, d.name, b_->tensors_[t].name);
        }
        written[t] = true;
        d.outputs.push_back(t);
      }
      ACORN_RETURN_IF_ERROR(CheckAttrs(i, op, *info, &d));
      b_->ops_.push_back(std::move(d));
    }
    return Status::Ok();
  }

  // Attributes are checked against the op kind's facts (graph/op_info.h) and copied into the OpDesc:
  // a step never reads them from the file again.
  Status CheckAttrs(uint32_t i, const fb::Op* op, const OpInfo& info, OpDesc* d) {
    const uint8_t type = static_cast<uint8_t>(op->attrs_type());
    // A union's type without its table is as good as no attributes at all (and a table of the wrong
    // type would be read as another layout).
    const bool present = type != 0 && op->attrs() != nullptr;
    if (type != 0 && type != info.attrs_type) {
      return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): carries attributes of type %u, expected %u", i,
                         info.name, d->name, type, info.attrs_type);
    }
    if (type != 0 && op->attrs() == nullptr) {
      return ACORN_ERROR(kMalformed,
                         "op %" PRIu32 " (%s '%s'): declares attributes of type %u but has no attribute table", i,
                         info.name, d->name, type);
    }
    if (!present && info.attrs_required) {
      return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): attributes missing (this op kind requires them)", i,
                         info.name, d->name);
    }
    OpAttributes& a = d->attrs;
    if (const fb::RopeAttrs* r = op->attrs_as_RopeAttrs()) {
      if (r->head_dim() == 0 || r->head_dim() % 2 != 0 || r->n_heads() == 0 || r->head_dim() > limits::kMaxHeadDim ||
          r->n_heads() > limits::kMaxHeads) {
        return ACORN_ERROR(kMalformed,
                           "op %" PRIu32 " (Rope '%s'): head_dim %" PRIu32 " / n_heads %" PRIu32 " invalid "
                           "(head_dim even, 2..%" PRIu32 "; heads 1..%" PRIu32 ")",
                           i, d->name, r->head_dim(), r->n_heads(), limits::kMaxHeadDim, limits::kMaxHeads);
      }
      if (static_cast<uint32_t>(r->style()) > static_cast<uint32_t>(fb::RopeStyle::MAX)) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (Rope '%s'): unknown rope style %u", i, d->name,
                           static_cast<unsigned>(r->style()));
      }
      if (r->inv_freq() && r->inv_freq()->size() != r->head_dim() / 2) {
        return ACORN_ERROR(kMalformed,
                           "op %" PRIu32 " (Rope '%s'): %" PRIu32 " inverse frequencies for head_dim %" PRIu32, i,
                           d->name, r->inv_freq()->size(), r->head_dim());
      }
      if (!(r->theta() > 0) || !std::isfinite(r->theta()) || !std::isfinite(r->attention_factor())) {
        return ACORN_ERROR(kMalformed,
                           "op %" PRIu32 " (Rope '%s'): theta or attention_factor not a positive finite number", i,
                           d->name);
      }
      a.head_dim = r->head_dim();
      a.n_heads = r->n_heads();
      a.rope_theta = r->theta();
      a.rope_style = static_cast<RopeStyle>(r->style());
      a.rope_attention_factor = r->attention_factor();
      // The frequencies are made here once (theta^(-2i/d) unless the bundle lists scaled ones), so
      // that no step computes a pow per pair.
      a.rope_inv_freq.resize(r->head_dim() / 2);
      for (uint32_t k = 0; k < r->head_dim() / 2; ++k) {
        const float f = r->inv_freq() ? r->inv_freq()->Get(k)
                                      : static_cast<float>(1.0 / std::pow(static_cast<double>(r->theta()),
                                                                          2.0 * k / r->head_dim()));
        if (!std::isfinite(f)) {
          return ACORN_ERROR(kMalformed, "op %" PRIu32 " (Rope '%s'): inverse frequency %" PRIu32 " is not finite", i,
                             d->name, k);
        }
        a.rope_inv_freq[k] = f;
      }
    }
    if (const fb::AttentionAttrs* t = op->attrs_as_AttentionAttrs()) {
      if (t->n_heads() == 0 || t->n_kv_heads() == 0 || t->head_dim() == 0 || t->n_heads() % t->n_kv_heads() != 0 ||
          t->n_heads() > limits::kMaxHeads || t->head_dim() > limits::kMaxHeadDim) {
        return ACORN_ERROR(kMalformed,
                           "op %" PRIu32 " (Attention '%s'): heads %" PRIu32 ", kv heads %" PRIu32
                           ", head_dim %" PRIu32 " are inconsistent "
                           "(heads a multiple of kv heads, at most %" PRIu32 "; head_dim 1..%" PRIu32 ")",
                           i, d->name, t->n_heads(), t->n_kv_heads(), t->head_dim(), limits::kMaxHeads,
                           limits::kMaxHeadDim);
      }
      if (!std::isfinite(t->scale())) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (Attention '%s'): scale is not finite", i, d->name);
      }
      a.n_heads = t->n_heads();
      a.n_kv_heads = t->n_kv_heads();
      a.head_dim = t->head_dim();
      a.attention_scale = t->scale();
      a.causal = t->causal();
    }
    if (const fb::NormAttrs* n = op->attrs_as_NormAttrs()) {
      if (!(n->epsilon() >= 0) || !std::isfinite(n->epsilon())) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (%s '%s'): epsilon is not a finite non-negative number", i,
                           info.name, d->name);
      }
      a.epsilon = n->epsilon();
    }
    a.has_bias = d->inputs.size() == 3 && op->kind() == fb::OpKind::MatMul;
    if (const fb::MatMulAttrs* m = op->attrs_as_MatMulAttrs()) {
      if (m->has_bias() != a.has_bias) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (MatMul '%s'): has_bias disagrees with its %zu inputs", i,
                           d->name, d->inputs.size());
      }
    }
    if (const fb::PoolAttrs* p = op->attrs_as_PoolAttrs()) {
      if (static_cast<uint32_t>(p->mode()) > static_cast<uint32_t>(fb::PoolMode::MAX)) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (Pool '%s'): unknown mode %u", i, d->name,
                           static_cast<unsigned>(p->mode()));
      }
      a.pool_mode = static_cast<PoolMode>(p->mode());
    }
    if (const fb::CopyAttrs* c = op->attrs_as_CopyAttrs()) {
      if (c->row_count() < 0 || c->row_count() > limits::kMaxCopyRows || c->row_begin() < -limits::kMaxCopyRows ||
          c->row_begin() > limits::kMaxCopyRows) {
        return ACORN_ERROR(kMalformed, "op %" PRIu32 " (Copy '%s'): rows %lld + %lld outside +-%lld", i, d->name,
                           static_cast<long long>(c->row_begin()), static_cast<long long>(c->row_count()),
                           static_cast<long long>(limits::kMaxCopyRows));
      }
      a.row_begin = c->row_begin();
      a.row_count = c->row_count();
    }
    return Status::Ok();
  }

  // Metadata and the chat template are read after load (by Chat, Encoder, tools): copied here.
  void CopyMetadata() {
    if (const auto* meta = root_->metadata()) {
      b_->metadata_.reserve(meta->size());
      for (const fb::MetaEntry* e : *meta) {
        Bundle::MetaValue m;
        m.key = e->key()->str();
        m.kind = static_cast<uint8_t>(e->kind());
        if (e->str()) m.str = e->str()->str();
        m.i = e->int_value();
        m.f = e->float_value();
        b_->metadata_.push_back(std::move(m));
      }
    }
    if (root_->chat_template()) b_->chat_template_ = root_->chat_template()->str();
  }

  Status CheckGraphIo() {
    const fb::Graph* g = root_->graph();
    if (g == nullptr) return Status::Ok();
    const uint32_t n = static_cast<uint32_t>(b_->tensors_.size());
    auto check = [&](const flatbuffers::Vector<uint32_t>* list, Storage want, std::vector<uint32_t>* out) -> Status {
      if (list == nullptr) return Status::Ok();
      for (uint32_t t : *list) {
        if (t >= n) {
          return ACORN_ERROR(kMalformed, "graph %s names tensor %" PRIu32 " of %" PRIu32, StorageName(want), t, n);
        }
        if (b_->tensors_[t].storage != want) {
          return ACORN_ERROR(kMalformed, "graph %s '%s' has storage %s", StorageName(want), b_->tensors_[t].name,
                             StorageName(b_->tensors_[t].storage));
        }
        out->push_back(t);
      }
      return Status::Ok();
    };
    ACORN_RETURN_IF_ERROR(check(g->inputs(), Storage::kInput, &b_->graph_inputs_));
    ACORN_RETURN_IF_ERROR(check(g->outputs(), Storage::kOutput, &b_->graph_outputs_));
    return Status::Ok();
  }

  Bundle* b_;
  const fb::Bundle* root_ = nullptr;
  uint64_t fb_end_ = 0;
};

Result<std::unique_ptr<Bundle>> Bundle::Verify(std::unique_ptr<Bundle> bundle) {
  BundleVerifier verifier(bundle.get());
  Status status = verifier.Run();
  if (!status.ok()) return status;
  return bundle;
}

}  // namespace acorn

#include "bundle_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "bundle/segment_codec.h"

namespace acorn {

namespace {
uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

Result<uint64_t> BytesFor(const std::string& name, DType dtype, const std::vector<int64_t>& shape, bool allow_tokens) {
  if (shape.empty() || shape.size() > static_cast<size_t>(kMaxRank)) {
    return ACORN_ERROR(kInvalidArgument, "tensor '%s': rank %zu is outside 1..%d", name.c_str(), shape.size(), kMaxRank);
  }
  uint64_t elems = 1;
  for (int64_t d : shape) {
    if (d == kTokensDim && allow_tokens) continue;  // size is planned by the loader
    if (d <= 0) return ACORN_ERROR(kInvalidArgument, "tensor '%s': dimension %lld", name.c_str(), static_cast<long long>(d));
    if (elems > (uint64_t{1} << 46) / static_cast<uint64_t>(d)) {
      return ACORN_ERROR(kInvalidArgument, "tensor '%s': too large", name.c_str());
    }
    elems *= static_cast<uint64_t>(d);
  }
  uint64_t bytes = 0;
  if (!RowBytes(dtype, elems, &bytes)) {
    return ACORN_ERROR(kInvalidArgument, "tensor '%s': %llu elements are not whole %s blocks", name.c_str(),
                       static_cast<unsigned long long>(elems), DTypeName(dtype));
  }
  return bytes;
}
}  // namespace

// Where the bytes go: a file or a vector. Offsets are tracked so that padding is exact.
class BundleWriter::Sink {
 public:
  explicit Sink(FILE* f) : file_(f) {}
  explicit Sink(std::vector<uint8_t>* v) : vec_(v) {}
  Status Put(const void* data, uint64_t n) {
    if (n == 0) return Status::Ok();
    if (file_ != nullptr) {
      if (std::fwrite(data, 1, n, file_) != n) return ACORN_ERROR(kIo, "write failed at byte %llu (disk full?)", static_cast<unsigned long long>(pos_));
    } else {
      const uint8_t* p = static_cast<const uint8_t*>(data);
      vec_->insert(vec_->end(), p, p + n);
    }
    pos_ += n;
    return Status::Ok();
  }
  Status PadTo(uint64_t offset) {
    static const uint8_t kZeros[4096] = {};
    while (pos_ < offset) {
      const uint64_t n = std::min<uint64_t>(offset - pos_, sizeof kZeros);
      ACORN_RETURN_IF_ERROR(Put(kZeros, n));
    }
    return Status::Ok();
  }
  uint64_t pos() const { return pos_; }

 private:
  FILE* file_ = nullptr;
  std::vector<uint8_t>* vec_ = nullptr;
  uint64_t pos_ = 0;
};

BundleWriter::BundleWriter() { segments_.emplace_back(); }

void BundleWriter::SetString(const std::string& key, const std::string& value) {
  metadata_.push_back({key, fb::MetaKind::String, value, 0, 0});
}
bool BundleWriter::GetString(const std::string& key, std::string* value) const {
  for (auto it = metadata_.rbegin(); it != metadata_.rend(); ++it) {
    if (it->key == key && it->kind == fb::MetaKind::String) {
      *value = it->str;
      return true;
    }
  }
  return false;
}
void BundleWriter::SetInt(const std::string& key, int64_t value) { metadata_.push_back({key, fb::MetaKind::Int, "", value, 0}); }
void BundleWriter::SetFloat(const std::string& key, double value) {
  metadata_.push_back({key, fb::MetaKind::Float, "", 0, value});
}

void BundleWriter::SetLimits(uint32_t max_tokens, uint32_t context_length) {
  max_tokens_ = max_tokens;
  context_length_ = context_length;
}

uint32_t BundleWriter::AddSegment(Compression compression, int zstd_level) {
  SegmentEntry s;
  s.compression = compression;
  s.level = zstd_level;
  segments_.push_back(std::move(s));
  return static_cast<uint32_t>(segments_.size() - 1);
}

Result<uint32_t> BundleWriter::AddEntry(TensorEntry entry) {
  for (const TensorEntry& t : tensors_) {
    if (t.name == entry.name) return ACORN_ERROR(kInvalidArgument, "tensor '%s' added twice", entry.name.c_str());
  }
  tensors_.push_back(std::move(entry));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

Result<uint32_t> BundleWriter::AddConstant(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                                           Fill fill, uint32_t segment) {
  if (segment >= segments_.size()) return ACORN_ERROR(kInvalidArgument, "tensor '%s': no segment %u", name.c_str(), segment);
  ACORN_ASSIGN_OR_RETURN(uint64_t bytes, BytesFor(name, dtype, shape, false));
  TensorEntry t{name, dtype, shape, Storage::kConstant, segment, 0, bytes, std::move(fill)};
  SegmentEntry& seg = segments_[segment];
  t.offset = AlignUp(seg.size, kTensorAlignment);
  ACORN_ASSIGN_OR_RETURN(uint32_t index, AddEntry(std::move(t)));
  seg.size = tensors_[index].offset + bytes;
  seg.tensors.push_back(index);
  return index;
}

Result<uint32_t> BundleWriter::AddConstant(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                                           std::vector<uint8_t> bytes, uint32_t segment) {
  auto shared = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  const std::string n = name;
  return AddConstant(
      name, dtype, shape,
      [shared, n](uint8_t* dst, uint64_t size) -> Status {
        if (shared->size() != size) {
          return ACORN_ERROR(kInvalidArgument, "tensor '%s': %zu bytes given, %llu expected", n.c_str(), shared->size(),
                             static_cast<unsigned long long>(size));
        }
        std::memcpy(dst, shared->data(), size);
        return Status::Ok();
      },
      segment);
}

Result<uint32_t> BundleWriter::AddTensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                                         Storage storage) {
  if (storage == Storage::kConstant) return ACORN_ERROR(kInvalidArgument, "tensor '%s': use AddConstant", name.c_str());
  ACORN_ASSIGN_OR_RETURN(uint64_t bytes, BytesFor(name, dtype, shape, storage != Storage::kState));
  (void)bytes;
  return AddEntry(TensorEntry{name, dtype, shape, storage, 0, 0, 0, nullptr});
}

Status BundleWriter::AddOp(fb::OpKind kind, const std::vector<uint32_t>& inputs, const std::vector<uint32_t>& outputs,
                           const OpAttributes& attrs, const std::string& name) {
  for (uint32_t t : inputs) {
    if (t >= tensors_.size()) return ACORN_ERROR(kInvalidArgument, "op '%s': input tensor %u does not exist", name.c_str(), t);
  }
  for (uint32_t t : outputs) {
    if (t >= tensors_.size()) return ACORN_ERROR(kInvalidArgument, "op '%s': output tensor %u does not exist", name.c_str(), t);
  }
  ops_.push_back({kind, inputs, outputs, attrs, name});
  return Status::Ok();
}

std::vector<uint8_t> BundleWriter::BuildFlatBuffer() const {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  // Scalars must always be present so that the buffer's size does not depend on their values
  // (segment offsets are filled in after the size is known).
  b.ForceDefaults(true);

  std::vector<flatbuffers::Offset<fb::MetaEntry>> meta;
  for (const MetaEntry& m : metadata_) {
    auto key = b.CreateString(m.key);
    auto str = m.kind == fb::MetaKind::String ? b.CreateString(m.str) : 0;
    meta.push_back(fb::CreateMetaEntry(b, key, m.kind, str, m.i, m.f));
  }

  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  std::vector<uint32_t> graph_inputs, graph_outputs;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorEntry& t = tensors_[i];
    auto name = b.CreateString(t.name);
    auto shape = b.CreateVector(t.shape);
    tensors.push_back(fb::CreateTensor(b, name, static_cast<fb::DType>(t.dtype), shape, static_cast<fb::Storage>(t.storage),
                                       t.segment, t.offset, t.size));
    if (t.storage == Storage::kInput) graph_inputs.push_back(static_cast<uint32_t>(i));
    if (t.storage == Storage::kOutput) graph_outputs.push_back(static_cast<uint32_t>(i));
  }

  std::vector<flatbuffers::Offset<fb::Segment>> segments;
  for (const SegmentEntry& s : segments_) {
    const bool z = s.compression == Compression::kZstd;
    segments.push_back(fb::CreateSegment(b, s.file_offset, z ? s.compressed.size() : s.size,
                                         z ? fb::Compression::Zstd : fb::Compression::None, s.size));
  }

  std::vector<flatbuffers::Offset<fb::Op>> ops;
  for (const OpEntry& op : ops_) {
    const OpAttributes& a = op.attrs;
    fb::OpAttrs type = fb::OpAttrs::NONE;
    flatbuffers::Offset<void> attrs = 0;
    switch (op.kind) {
      case fb::OpKind::RmsNorm:
      case fb::OpKind::LayerNorm:
        type = fb::OpAttrs::NormAttrs;
        attrs = fb::CreateNormAttrs(b, a.epsilon).Union();
        break;
      case fb::OpKind::MatMul:
        type = fb::OpAttrs::MatMulAttrs;
        attrs = fb::CreateMatMulAttrs(b, op.inputs.size() == 3).Union();
        break;
      case fb::OpKind::Rope: {
        type = fb::OpAttrs::RopeAttrs;
        auto inv = a.rope_inv_freq.empty() ? 0 : b.CreateVector(a.rope_inv_freq);
        attrs = fb::CreateRopeAttrs(b, a.head_dim, a.n_heads, a.rope_theta, static_cast<fb::RopeStyle>(a.rope_style), inv, a.rope_attention_factor).Union();
        break;
      }
      case fb::OpKind::Attention:
        type = fb::OpAttrs::AttentionAttrs;
        attrs = fb::CreateAttentionAttrs(b, a.n_heads, a.n_kv_heads, a.head_dim, a.attention_scale, a.causal).Union();
        break;
      case fb::OpKind::Pool:
        type = fb::OpAttrs::PoolAttrs;
        attrs = fb::CreatePoolAttrs(b, static_cast<fb::PoolMode>(a.pool_mode)).Union();
        break;
      case fb::OpKind::Copy:
        type = fb::OpAttrs::CopyAttrs;
        attrs = fb::CreateCopyAttrs(b, a.row_begin, a.row_count).Union();
        break;
      default:
        break;
    }
    auto name = b.CreateString(op.name);
    ops.push_back(fb::CreateOp(b, op.kind, b.CreateVector(op.inputs), b.CreateVector(op.outputs), type, attrs, name));
  }

  auto graph = fb::CreateGraph(b, b.CreateString("main"), b.CreateVector(ops), b.CreateVector(graph_inputs),
                               b.CreateVector(graph_outputs), max_tokens_, context_length_);
  flatbuffers::Offset<fb::Tokenizer> tokenizer = tokenizer_ ? tokenizer_(b) : 0;
  auto chat = chat_template_.empty() ? 0 : b.CreateString(chat_template_);
  auto root = fb::CreateBundle(b, kSchemaVersion, b.CreateVector(meta), b.CreateVector(tensors), b.CreateVector(segments),
                               graph, tokenizer, chat);
  fb::FinishSizePrefixedBundleBuffer(b, root);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

Status BundleWriter::WriteAll(Sink* sink, const Progress& progress) {
  // Compressed segments are materialized and compressed first: their stored size goes in the header.
  for (SegmentEntry& s : segments_) {
    if (s.compression != Compression::kZstd) continue;
    std::vector<uint8_t> raw(s.size, 0);
    for (uint32_t t : s.tensors) ACORN_RETURN_IF_ERROR(tensors_[t].fill(raw.data() + tensors_[t].offset, tensors_[t].size));
    ACORN_RETURN_IF_ERROR(CompressSegment(raw.data(), raw.size(), s.level, &s.compressed));
  }
  // Two passes over the header: the first gives its size, which fixes the segment offsets; the second
  // writes them. ForceDefaults keeps the size identical between the passes.
  const uint64_t header_size = BuildFlatBuffer().size();
  uint64_t cursor = AlignUp(header_size, kSegmentAlignment);
  uint64_t total = 0;
  for (SegmentEntry& s : segments_) {
    s.file_offset = cursor;
    const uint64_t stored = s.compression == Compression::kZstd ? s.compressed.size() : s.size;
    cursor = AlignUp(cursor + stored, kSegmentAlignment);
    total += stored;
  }
  const std::vector<uint8_t> header = BuildFlatBuffer();
  if (header.size() != header_size) return ACORN_ERROR(kInternal, "bundle header changed size between passes");
  ACORN_RETURN_IF_ERROR(sink->Put(header.data(), header.size()));

  uint64_t done = 0;
  std::vector<uint8_t> buffer;
  for (SegmentEntry& s : segments_) {
    ACORN_RETURN_IF_ERROR(sink->PadTo(s.file_offset));
    if (s.compression == Compression::kZstd) {
      ACORN_RETURN_IF_ERROR(sink->Put(s.compressed.data(), s.compressed.size()));
      done += s.compressed.size();
      if (progress) progress(done, total);
      continue;
    }
    for (uint32_t index : s.tensors) {
      TensorEntry& t = tensors_[index];
      ACORN_RETURN_IF_ERROR(sink->PadTo(s.file_offset + t.offset));
      buffer.assign(t.size, 0);
      Status st = t.fill(buffer.data(), t.size);
      if (!st.ok()) return Status(st.code(), "tensor '" + t.name + "': " + st.message());
      ACORN_RETURN_IF_ERROR(sink->Put(buffer.data(), buffer.size()));
      done += t.size;
      if (progress) progress(done, total);
    }
  }
  // The file ends on a segment boundary so that the last segment can be mapped in whole pages.
  return sink->PadTo(AlignUp(sink->pos(), kSegmentAlignment));
}

namespace {

// Creates a new file next to `path` that nobody else can have prepared: O_EXCL fails on anything
// already there (a symbolic link included, which O_NOFOLLOW also refuses to follow), and the name is
// unique to this process and call.
Result<FILE*> CreateTemp(const std::string& path, std::string* tmp) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t salt = (static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) * 31) ^
                          (counter.fetch_add(1) << 20);
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".tmp.%ld.%llx", static_cast<long>(getpid()),
                  static_cast<unsigned long long>(salt & 0xffffffffffull));
    *tmp = path + suffix;
    const int fd = open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return ACORN_ERROR(kIo, "%s: cannot create the temporary output file: %s", tmp->c_str(), std::strerror(errno));
    }
    FILE* f = fdopen(fd, "wb");
    if (f == nullptr) {
      const int err = errno;
      close(fd);
      std::remove(tmp->c_str());
      return ACORN_ERROR(kIo, "%s: %s", tmp->c_str(), std::strerror(err));
    }
    return f;
  }
  return ACORN_ERROR(kIo, "%s: cannot find an unused temporary file name next to it", path.c_str());
}

}  // namespace

Status BundleWriter::Write(const std::string& path, const Progress& progress, const Check& check) {
  // A name of this process's own: concurrent writers of one path (parallel tests) never share a
  // temporary file, and the rename makes whichever finishes last the complete bundle.
  std::string tmp;
  ACORN_ASSIGN_OR_RETURN(FILE* f, CreateTemp(path, &tmp));
  Sink sink(f);
  Status st = WriteAll(&sink, progress);
  if (std::fclose(f) != 0 && st.ok()) st = ACORN_ERROR(kIo, "%s: close failed: %s", tmp.c_str(), std::strerror(errno));
  if (st.ok() && check) st = check(tmp);
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    st = ACORN_ERROR(kIo, "%s: cannot rename to %s: %s", tmp.c_str(), path.c_str(), std::strerror(errno));
  }
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

Result<std::vector<uint8_t>> BundleWriter::WriteToMemory() {
  std::vector<uint8_t> out;
  Sink sink(&out);
  ACORN_RETURN_IF_ERROR(WriteAll(&sink, nullptr));
  return out;
}

}  // namespace acorn

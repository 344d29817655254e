#include "gguf_reader.h"

#include <cstring>
#include <limits>

#include "core/limits.h"

namespace acorn {
namespace convert {

namespace {

struct TypeSize {
  uint32_t type;
  const char* name;
  uint32_t block_elems, block_bytes;
};

// ggml's type table (gguf-py's GGML_QUANT_SIZES), so that tensors of every known type can be
// bounds-checked and named in errors even though only five are imported.
constexpr TypeSize kTypes[] = {
    {0, "F32", 1, 4},         {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 40},
    {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},       {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},  {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},    {41, "Q1_0", 128, 18},
};

const TypeSize* FindType(uint32_t type) {
  for (const TypeSize& t : kTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
constexpr uint64_t kMaxNameLength = 1024;   // keys and tensor names are short; longer is corruption

// A cursor over the file that refuses to move past its end; every read reports failure instead.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : p_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  template <typename T>
  bool Read(T* out) {
    if (left() < sizeof(T)) return false;
    std::memcpy(out, p_ + pos_, sizeof(T));  // little-endian, as the rest of acorn
    pos_ += sizeof(T);
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > left()) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool String(std::string* out, uint64_t max_length) {
    uint64_t n = 0;
    if (!Read(&n) || n > left() || n > max_length) return false;
    out->assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
};

// Bytes of one scalar of `type`; 0 for string, array and unknown types.
uint64_t ScalarBytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: case GgufValueType::kInt8: case GgufValueType::kBool: return 1;
    case GgufValueType::kUint16: case GgufValueType::kInt16: return 2;
    case GgufValueType::kUint32: case GgufValueType::kInt32: case GgufValueType::kFloat32: return 4;
    case GgufValueType::kUint64: case GgufValueType::kInt64: case GgufValueType::kFloat64: return 8;
    default: return 0;
  }
}

bool KnownValueType(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::kFloat64); }

// Reads one scalar into i/u/f. The caller has checked that the type is a scalar type.
bool ReadScalar(Cursor* c, GgufValueType type, int64_t* i, uint64_t* u, double* f) {
  *i = 0;
  *u = 0;
  *f = 0;
  switch (type) {
    case GgufValueType::kUint8: { uint8_t v; if (!c->Read(&v)) return false; *u = v; *i = v; return true; }
    case GgufValueType::kInt8: { int8_t v; if (!c->Read(&v)) return false; *i = v; *u = static_cast<uint64_t>(*i); return true; }
    case GgufValueType::kBool: {
      uint8_t v;
      if (!c->Read(&v) || v > 1) return false;
      *i = v;
      *u = v;
      return true;
    }
    case GgufValueType::kUint16: { uint16_t v; if (!c->Read(&v)) return false; *u = v; *i = v; return true; }
    case GgufValueType::kInt16: { int16_t v; if (!c->Read(&v)) return false; *i = v; *u = static_cast<uint64_t>(*i); return true; }
    case GgufValueType::kUint32: { uint32_t v; if (!c->Read(&v)) return false; *u = v; *i = v; return true; }
    case GgufValueType::kInt32: { int32_t v; if (!c->Read(&v)) return false; *i = v; *u = static_cast<uint64_t>(*i); return true; }
    case GgufValueType::kUint64: { uint64_t v; if (!c->Read(&v)) return false; *u = v; *i = static_cast<int64_t>(v); return true; }
    case GgufValueType::kInt64: { int64_t v; if (!c->Read(&v)) return false; *i = v; *u = static_cast<uint64_t>(v); return true; }
    case GgufValueType::kFloat32: { float v; if (!c->Read(&v)) return false; *f = v; return true; }
    case GgufValueType::kFloat64: { double v; if (!c->Read(&v)) return false; *f = v; return true; }
    default: return false;
  }
}

class Parser {
 public:
  Parser(const uint8_t* data, size_t size, const std::string& label) : c_(data, size), label_(label) {}

  Status Error(const char* what, const std::string& where) const {
    return ACORN_ERROR(kMalformed, "%s: %s%s%s at byte %zu of %zu; the file is truncated or not a GGUF file "
                       "(download it again, or re-export it with llama.cpp's convert_hf_to_gguf.py)",
                       label_.c_str(), what, where.empty() ? "" : " in ", where.c_str(), c_.pos(), c_.pos() + c_.left());
  }

  Status Value(GgufValueType type, const std::string& key, uint32_t depth, GgufValue* out) {
    out->type = type;
    if (type == GgufValueType::kString) {
      if (!c_.String(&out->s, limits::kMaxGgufStringBytes)) {
        return Error("a string runs past the end of the file or is longer than the limit", key);
      }
      return Status::Ok();
    }
    if (type != GgufValueType::kArray) {
      if (!ReadScalar(&c_, type, &out->i, &out->u, &out->f)) return Error("a value runs past the end of the file (or a bool is not 0/1)", key);
      return Status::Ok();
    }
    uint32_t raw = 0;
    if (!c_.Read(&raw) || !c_.Read(&out->count)) return Error("an array header is cut off", key);
    if (!KnownValueType(raw)) return Error("an array has an unknown element type", key);
    out->elem_type = static_cast<GgufValueType>(raw);
    const uint64_t elem = ScalarBytes(out->elem_type);
    // The smallest encoding of each element bounds the count before anything is allocated.
    const uint64_t min_elem = elem != 0 ? elem : out->elem_type == GgufValueType::kString ? 8 : 12;
    if (out->count > c_.left() / min_elem) return Error("an array's element count exceeds the bytes left", key);
    if (out->count > limits::kMaxGgufArrayElements) return Error("an array has more elements than the limit", key);
    if (out->elem_type == GgufValueType::kString) {
      out->strings.resize(static_cast<size_t>(out->count));
      for (std::string& s : out->strings) {
        if (!c_.String(&s, limits::kMaxGgufStringBytes)) {
          return Error("a string in an array runs past the end of the file or is longer than the limit", key);
        }
      }
    } else if (out->elem_type == GgufValueType::kArray) {
      if (depth >= limits::kMaxGgufArrayDepth) return Error("arrays are nested too deeply", key);
      // Each element is an array body (element type, count, elements) without its own type tag.
      for (uint64_t n = 0; n < out->count; ++n) {
        GgufValue inner;
        ACORN_RETURN_IF_ERROR(Value(GgufValueType::kArray, key, depth + 1, &inner));
      }
    } else {
      const bool is_float = out->elem_type == GgufValueType::kFloat32 || out->elem_type == GgufValueType::kFloat64;
      (is_float ? out->floats.reserve(out->count) : out->ints.reserve(out->count));
      for (uint64_t n = 0; n < out->count; ++n) {
        int64_t i;
        uint64_t u;
        double f;
        if (!ReadScalar(&c_, out->elem_type, &i, &u, &f)) return Error("an array element is cut off (or a bool is not 0/1)", key);
        if (is_float) {
          out->floats.push_back(f);
        } else {
          out->ints.push_back(i);
        }
      }
    }
    return Status::Ok();
  }

  Status Run(uint32_t* version, uint64_t* alignment, std::map<std::string, GgufValue>* kv, std::vector<GgufTensor>* tensors,
             const uint8_t* base, size_t size) {
    uint32_t magic = 0;
    if (!c_.Read(&magic)) return Error("the file is shorter than the 4-byte magic", "");
    if (std::memcmp(&magic, "GGUF", 4) != 0) {
      return ACORN_ERROR(kMalformed, "%s: not a GGUF file (the first bytes are not \"GGUF\"); acorn-convert reads GGUF files "
                         "and Hugging Face model directories", label_.c_str());
    }
    if (!c_.Read(version)) return Error("the version is cut off", "");
    if (*version == 0x02000000u || *version == 0x03000000u) {
      return ACORN_ERROR(kUnsupported, "%s: a big-endian GGUF file; acorn reads little-endian GGUF only (convert the "
                         "model again with llama.cpp's convert_hf_to_gguf.py without --bigendian)", label_.c_str());
    }
    if (*version != 2 && *version != 3) {
      return ACORN_ERROR(kUnsupported, "%s: GGUF version %u is not supported (acorn reads versions 2 and 3; version 1 "
                         "files can be upgraded with llama.cpp's gguf tools)", label_.c_str(), *version);
    }
    uint64_t n_tensors = 0, n_kv = 0;
    if (!c_.Read(&n_tensors) || !c_.Read(&n_kv)) return Error("the header is cut off", "");
    // Each key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info
    // 8 + 4 + 4 + 8; counts beyond that are lies, refused before anything is allocated.
    if (n_kv > c_.left() / 13) return Error("the key/value count exceeds what the file can hold", "the header");
    if (n_tensors > c_.left() / 24) return Error("the tensor count exceeds what the file can hold", "the header");
    if (n_kv > limits::kMaxGgufKeys) return Error("the key/value count exceeds the limit", "the header");
    if (n_tensors > limits::kMaxGgufTensors) return Error("the tensor count exceeds the limit", "the header");

    for (uint64_t n = 0; n < n_kv; ++n) {
      std::string key;
      if (!c_.String(&key, kMaxNameLength)) return Error("a metadata key is cut off or too long", "key #" + std::to_string(n));
      uint32_t raw = 0;
      if (!c_.Read(&raw)) return Error("a value type is cut off", key);
      if (!KnownValueType(raw)) return Error(("unknown value type " + std::to_string(raw)).c_str(), key);
      GgufValue v;
      ACORN_RETURN_IF_ERROR(Value(static_cast<GgufValueType>(raw), key, 0, &v));
      if (!kv->emplace(key, std::move(v)).second) return Error("a metadata key appears twice", key);
    }
    auto align = kv->find("general.alignment");
    if (align != kv->end()) {
      // Signed types: a negative value is refused through its huge unsigned reading.
      if (!align->second.IsInteger() || align->second.u == 0 || align->second.u > limits::kMaxGgufAlignment ||
          (align->second.u & (align->second.u - 1)) != 0) {
        return Error("general.alignment is not a power of two between 1 and 2^20", "the metadata");
      }
      *alignment = align->second.u;
    }

    std::map<std::string, int> seen;
    tensors->reserve(static_cast<size_t>(n_tensors));
    for (uint64_t n = 0; n < n_tensors; ++n) {
      GgufTensor t;
      const std::string where = "tensor info #" + std::to_string(n);
      if (!c_.String(&t.name, kMaxNameLength)) return Error("a tensor name is cut off or too long", where);
      uint32_t dims = 0;
      if (!c_.Read(&dims)) return Error("a dimension count is cut off", t.name);
      if (dims == 0 || dims > kMaxDims) return Error("a tensor has 0 or more than 4 dimensions", t.name);
      t.ne.resize(dims);
      uint64_t elems = 1;
      for (uint64_t& d : t.ne) {
        if (!c_.Read(&d)) return Error("a dimension is cut off", t.name);
        if (d == 0 || elems > limits::kMaxTensorBytes / d) {
          return Error("a dimension is zero, or the tensor has more elements than the limit", t.name);
        }
        elems *= d;
      }
      if (!c_.Read(&t.type) || !c_.Read(&t.offset)) return Error("a tensor type or offset is cut off", t.name);
      if (t.offset % *alignment != 0) return Error("a tensor offset is not aligned to general.alignment", t.name);
      if (const TypeSize* ts = FindType(t.type)) {
        if (t.ne[0] % ts->block_elems != 0) {
          // ggml itself cannot make such a tensor (the K-quants need rows of 256): the file is damaged.
          return ACORN_ERROR(kMalformed, "%s: tensor %s has type %s, whose blocks hold %u values, but its rows hold "
                             "%llu, not a whole number of blocks; the file is damaged or was written by a broken "
                             "tool (re-export it with llama.cpp's convert_hf_to_gguf.py and llama-quantize)",
                             label_.c_str(), t.name.c_str(), ts->name, ts->block_elems,
                             static_cast<unsigned long long>(t.ne[0]));
        }
        if (elems / ts->block_elems > limits::kMaxTensorBytes / ts->block_bytes) return Error("a tensor is too large", t.name);
        t.bytes = elems / ts->block_elems * ts->block_bytes;
      }
      if (!seen.emplace(t.name, 0).second) return Error("a tensor name appears twice", t.name);
      tensors->push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment; every tensor of a known type
    // must lie inside the file.
    const uint64_t header_end = c_.pos();
    const uint64_t data_start = (header_end + *alignment - 1) / *alignment * *alignment;
    for (GgufTensor& t : *tensors) {
      if (t.bytes == 0) continue;
      if (data_start > size || t.offset > size - data_start || t.bytes > size - data_start - t.offset) {
        return ACORN_ERROR(kMalformed, "%s: tensor %s (%s, %llu bytes at offset %llu) lies beyond the end of the file "
                           "(%zu bytes); the file is truncated: download or convert it again", label_.c_str(),
                           t.name.c_str(), GgmlTypeName(t.type).c_str(), static_cast<unsigned long long>(t.bytes),
                           static_cast<unsigned long long>(data_start + t.offset), size);
      }
      t.data = base + data_start + t.offset;
    }
    return Status::Ok();
  }

 private:
  Cursor c_;
  const std::string& label_;
};

}  // namespace

std::string GgmlTypeName(uint32_t type) {
  const TypeSize* t = FindType(type);
  return t != nullptr ? t->name : "type " + std::to_string(type);
}

bool GgufValue::IsInteger() const {
  switch (type) {
    case GgufValueType::kUint8: case GgufValueType::kInt8: case GgufValueType::kUint16: case GgufValueType::kInt16:
    case GgufValueType::kUint32: case GgufValueType::kInt32: case GgufValueType::kUint64: case GgufValueType::kInt64:
      return true;
    default: return false;
  }
}

std::string GgufValue::TypeName() const {
  static const char* const kNames[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                       "bool", "string", "array", "uint64", "int64", "float64"};
  auto name = [](GgufValueType t) { return std::string(kNames[static_cast<uint32_t>(t)]); };
  return type == GgufValueType::kArray ? "array of " + name(elem_type) : name(type);
}

uint64_t GgufTensor::Elements() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;  // overflow ruled out by the parser
  return n;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  ACORN_ASSIGN_OR_RETURN(platform::MappedFile file, platform::MapFile(path.c_str()));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->label_ = path;
  f->file_ = std::move(file);
  ACORN_RETURN_IF_ERROR(f->ParseAll(f->file_.data(), f->file_.size()));
  return f;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data, size_t size, const std::string& label) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->label_ = label;
  ACORN_RETURN_IF_ERROR(f->ParseAll(data, size));
  return f;
}

Status GgufFile::ParseAll(const uint8_t* data, size_t size) {
  Parser parser(data, size, label_);
  ACORN_RETURN_IF_ERROR(parser.Run(&version_, &alignment_, &kv_, &tensors_, data, size));
  for (size_t i = 0; i < tensors_.size(); ++i) tensor_index_[tensors_[i].name] = i;
  return Status::Ok();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<int64_t> GgufFile::GetInt(const std::string& key, int64_t fallback) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->IsInteger()) {
    return ACORN_ERROR(kMalformed, "%s: %s is a %s, expected an integer", label_.c_str(), key.c_str(), v->TypeName().c_str());
  }
  if (v->type == GgufValueType::kUint64 && v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return ACORN_ERROR(kMalformed, "%s: %s = %llu is out of range", label_.c_str(), key.c_str(),
                       static_cast<unsigned long long>(v->u));
  }
  return v->i;
}

Result<double> GgufFile::GetFloat(const std::string& key, double fallback) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->IsFloat()) return v->f;
  if (v->IsInteger()) return static_cast<double>(v->i);
  return ACORN_ERROR(kMalformed, "%s: %s is a %s, expected a number", label_.c_str(), key.c_str(), v->TypeName().c_str());
}

Result<std::string> GgufFile::GetString(const std::string& key, const std::string& fallback) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->type != GgufValueType::kString) {
    return ACORN_ERROR(kMalformed, "%s: %s is a %s, expected a string", label_.c_str(), key.c_str(), v->TypeName().c_str());
  }
  return v->s;
}

Result<bool> GgufFile::GetBool(const std::string& key, bool fallback) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->type != GgufValueType::kBool && !v->IsInteger()) {
    return ACORN_ERROR(kMalformed, "%s: %s is a %s, expected a bool", label_.c_str(), key.c_str(), v->TypeName().c_str());
  }
  return v->i != 0;
}

}  // namespace convert
}  // namespace acorn

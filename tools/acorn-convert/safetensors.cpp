#include "safetensors.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "acorn/bundle.h"
#include "acorn/half.h"
#include "core/limits.h"
#include "input_file.h"
#include "json_access.h"

namespace acorn {
namespace convert {

using tool::Json;

int64_t SourceTensor::Elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // bounded by ParseFile
  return n;
}

namespace {

const char* const kIndexName = "model.safetensors.index.json";

// Resolves a shard name inside the checkpoint. A Hugging Face hub cache snapshot
// (.../models--org--name/snapshots/<revision>/) holds symbolic links into the repository's blobs/
// directory; those are the one place outside the directory a shard may lead to.
Result<std::string> ResolveShard(const std::string& dir, const std::string& name, const std::string& source) {
  Result<std::string> inside = tool::ResolveInside(dir, name, source);
  if (inside.ok() || inside.status().code() != ErrorCode::kMalformed || name.empty() || name[0] == '/') return inside;
  char buf[PATH_MAX];
  if (realpath(dir.c_str(), buf) == nullptr) return inside;
  const std::string real_dir = buf;
  const size_t snap = real_dir.rfind("/snapshots/");
  if (snap == std::string::npos || real_dir.find('/', snap + 11) != std::string::npos) return inside;
  const std::string blobs = real_dir.substr(0, snap) + "/blobs/";
  if (realpath((dir + "/" + name).c_str(), buf) == nullptr) return inside;
  const std::string real = buf;
  if (real.compare(0, blobs.size(), blobs) == 0) return real;
  return inside;
}

}  // namespace

Status SafetensorsCheckpoint::ParseIndex(const std::string& text, const std::string& label,
                                         std::vector<std::string>* files) {
  ACORN_ASSIGN_OR_RETURN(Json j, tool::ParseJson(text.data(), text.size(), label));
  const Json* map = nullptr;
  ACORN_RETURN_IF_ERROR(tool::JsonOptionalObject(j, "weight_map", label, &map));
  if (map == nullptr) return ACORN_ERROR(kMalformed, "%s: not a valid safetensors index (no weight_map object)", label.c_str());
  std::set<std::string> unique;
  for (auto it = map->begin(); it != map->end(); ++it) {
    std::string file;
    ACORN_RETURN_IF_ERROR(tool::JsonAs(it.value(), label + ": weight_map." + it.key(), &file));
    unique.insert(file);
  }
  files->assign(unique.begin(), unique.end());
  return Status::Ok();
}

Result<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::Open(const std::string& dir) {
  std::unique_ptr<SafetensorsCheckpoint> ckpt(new SafetensorsCheckpoint());
  std::vector<std::string> names;
  const std::string index_path = dir + "/" + kIndexName;
  std::string source = dir;
  if (tool::PathExists(index_path)) {
    std::string text;
    ACORN_RETURN_IF_ERROR(tool::ReadRegularFile(index_path, limits::kMaxJsonBytes, "the safetensors index", &text));
    ACORN_RETURN_IF_ERROR(ParseIndex(text, index_path, &names));
    source = index_path;
  } else {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return ACORN_ERROR(kNotFound, "%s: cannot open the model directory", dir.c_str());
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0) names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
  }
  if (names.empty()) {
    return ACORN_ERROR(kNotFound, "%s: no *.safetensors files (PyTorch .bin checkpoints are not supported: re-save "
                       "with save_pretrained(safe_serialization=True))", dir.c_str());
  }
  for (const std::string& name : names) {
    ACORN_ASSIGN_OR_RETURN(std::string path, ResolveShard(dir, name, source));
    ACORN_RETURN_IF_ERROR(tool::CheckRegularFile(path, "a safetensors shard"));
    ACORN_RETURN_IF_ERROR(ckpt->AddFile(path));
  }
  return ckpt;
}

Status SafetensorsCheckpoint::ParseFile(const uint8_t* base, size_t size, const std::string& label,
                                        std::vector<SourceTensor>* out) {
  const char* path = label.c_str();
  if (size < 8) return ACORN_ERROR(kMalformed, "%s: %zu bytes is too short for a safetensors file", path, size);
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);
  if (header_len > size - 8) {
    return ACORN_ERROR(kMalformed, "%s: header length %llu runs beyond the end of the file (%zu bytes); the file is "
                       "truncated or not safetensors", path, static_cast<unsigned long long>(header_len), size);
  }
  if (header_len > limits::kMaxSafetensorsHeaderBytes) {
    return ACORN_ERROR(kMalformed, "%s: header length %llu exceeds the limit of %llu bytes", path,
                       static_cast<unsigned long long>(header_len),
                       static_cast<unsigned long long>(limits::kMaxSafetensorsHeaderBytes));
  }
  ACORN_ASSIGN_OR_RETURN(Json header, tool::ParseJson(reinterpret_cast<const char*>(base + 8),
                                                      static_cast<size_t>(header_len), label + " (header)"));
  if (!header.is_object()) return ACORN_ERROR(kMalformed, "%s: the header is not a JSON object", path);
  const uint8_t* data = base + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const Json& t = it.value();
    const std::string where = label + ": tensor '" + it.key() + "'";
    if (!t.is_object()) return ACORN_ERROR(kMalformed, "%s is not an object", where.c_str());
    SourceTensor s;
    s.name = it.key();
    std::string dtype;
    ACORN_RETURN_IF_ERROR(tool::JsonRequire(t, "dtype", where, &dtype));
    const Json* shape = nullptr;
    const Json* offsets = nullptr;
    ACORN_RETURN_IF_ERROR(tool::JsonOptionalArray(t, "shape", where, &shape));
    ACORN_RETURN_IF_ERROR(tool::JsonOptionalArray(t, "data_offsets", where, &offsets));
    if (shape == nullptr || offsets == nullptr) {
      return ACORN_ERROR(kMalformed, "%s lacks shape or data_offsets", where.c_str());
    }
    if (offsets->size() != 2) {
      return ACORN_ERROR(kMalformed, "%s: data_offsets has %zu entries, expected [begin, end]", where.c_str(),
                         offsets->size());
    }
    uint64_t begin = 0, end = 0;
    ACORN_RETURN_IF_ERROR(tool::JsonAs((*offsets)[0], where + " data_offsets[0]", &begin));
    ACORN_RETURN_IF_ERROR(tool::JsonAs((*offsets)[1], where + " data_offsets[1]", &end));
    if (shape->size() > static_cast<size_t>(kMaxRank)) {
      return ACORN_ERROR(kMalformed, "%s has %zu dimensions (at most %d)", where.c_str(), shape->size(), kMaxRank);
    }
    uint64_t n = 1;
    for (size_t i = 0; i < shape->size(); ++i) {
      uint64_t d = 0;
      ACORN_RETURN_IF_ERROR(tool::JsonAs((*shape)[i], where + " shape[" + std::to_string(i) + "]", &d));
      if (d != 0 && n > limits::kMaxTensorBytes / d) {
        return ACORN_ERROR(kMalformed, "%s: shape is too large (more than %llu elements)", where.c_str(),
                           static_cast<unsigned long long>(limits::kMaxTensorBytes));
      }
      n *= d;
      s.shape.push_back(static_cast<int64_t>(d));
    }
    size_t elem = 0;
    if (dtype == "F32") {
      s.dtype = SourceDType::kF32;
      elem = 4;
    } else if (dtype == "F16") {
      s.dtype = SourceDType::kF16;
      elem = 2;
    } else if (dtype == "BF16") {
      s.dtype = SourceDType::kBF16;
      elem = 2;
    }
    if (end < begin || end > data_size) {
      return ACORN_ERROR(kMalformed, "%s: data_offsets [%llu, %llu] do not lie inside the %llu data bytes of the file",
                         where.c_str(), static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end),
                         static_cast<unsigned long long>(data_size));
    }
    if (end > begin) ranges.push_back({begin, end, &it.key()});
    if (elem == 0) {
      // Integer buffers that are not weights: cached rotary tables, BERT's position_ids.
      if (s.name.find("rotary_emb") != std::string::npos || s.name.find("position_ids") != std::string::npos) continue;
      return ACORN_ERROR(kUnsupported, "%s has dtype %s; acorn-convert reads F32, F16 and BF16 weights", where.c_str(),
                         dtype.c_str());
    }
    if (end - begin != n * elem) {
      return ACORN_ERROR(kMalformed, "%s: data_offsets [%llu, %llu] hold %llu bytes, but %llu elements of %s need %llu",
                         where.c_str(), static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end),
                         static_cast<unsigned long long>(end - begin), static_cast<unsigned long long>(n),
                         dtype.c_str(), static_cast<unsigned long long>(n * elem));
    }
    s.data = data + begin;
    s.bytes = end - begin;
    out->push_back(std::move(s));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      return ACORN_ERROR(kMalformed, "%s: tensors '%s' and '%s' overlap in the data (bytes %llu..%llu and %llu..%llu)",
                         path, ranges[i - 1].name->c_str(), ranges[i].name->c_str(),
                         static_cast<unsigned long long>(ranges[i - 1].begin),
                         static_cast<unsigned long long>(ranges[i - 1].end),
                         static_cast<unsigned long long>(ranges[i].begin), static_cast<unsigned long long>(ranges[i].end));
    }
  }
  return Status::Ok();
}

Status SafetensorsCheckpoint::AddFile(const std::string& path) {
  ACORN_ASSIGN_OR_RETURN(platform::MappedFile file, platform::MapFile(path.c_str()));
  std::vector<SourceTensor> parsed;
  ACORN_RETURN_IF_ERROR(ParseFile(file.data(), file.size(), path, &parsed));
  for (SourceTensor& s : parsed) {
    if (tensors_.count(s.name) != 0) {
      return ACORN_ERROR(kMalformed, "%s: tensor '%s' also appears in another shard of the checkpoint", path.c_str(),
                         s.name.c_str());
    }
    std::string name = s.name;
    tensors_.emplace(std::move(name), std::move(s));
  }
  files_.push_back(std::move(file));
  return Status::Ok();
}

const SourceTensor* SafetensorsCheckpoint::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void SafetensorsCheckpoint::ReadFloats(const SourceTensor& t, int64_t begin, int64_t count, float* out) {
  switch (t.dtype) {
    case SourceDType::kF32:
      std::memcpy(out, t.data + begin * 4, static_cast<size_t>(count) * 4);
      break;
    case SourceDType::kF16:
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + (begin + i) * 2, 2);
        out[i] = F16ToF32(h);
      }
      break;
    case SourceDType::kBF16:
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + (begin + i) * 2, 2);
        out[i] = BF16ToF32(h);
      }
      break;
  }
}

}  // namespace convert
}  // namespace acorn

#include "safetensors.h"

#include <cstring>
#include <dirent.h>
#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "acorn/half.h"

namespace acorn {
namespace convert {

int64_t SourceTensor::Elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::Open(const std::string& dir) {
  std::unique_ptr<SafetensorsCheckpoint> ckpt(new SafetensorsCheckpoint());
  std::vector<std::string> files;
  const std::string index_path = dir + "/model.safetensors.index.json";
  std::ifstream index(index_path);
  if (index) {
    nlohmann::json j = nlohmann::json::parse(index, nullptr, false);
    if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return ACORN_ERROR(kMalformed, "%s: not a valid safetensors index (no weight_map)", index_path.c_str());
    }
    std::set<std::string> unique;
    for (auto& kv : j["weight_map"].items()) {
      if (kv.value().is_string()) unique.insert(kv.value().get<std::string>());
    }
    files.assign(unique.begin(), unique.end());
  } else {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return ACORN_ERROR(kNotFound, "%s: cannot open the model directory", dir.c_str());
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0) files.push_back(name);
    }
    closedir(d);
    std::sort(files.begin(), files.end());
  }
  if (files.empty()) {
    return ACORN_ERROR(kNotFound, "%s: no *.safetensors files (PyTorch .bin checkpoints are not supported: re-save "
                       "with save_pretrained(safe_serialization=True))", dir.c_str());
  }
  for (const std::string& f : files) ACORN_RETURN_IF_ERROR(ckpt->AddFile(dir + "/" + f));
  return ckpt;
}

Status SafetensorsCheckpoint::AddFile(const std::string& path) {
  ACORN_ASSIGN_OR_RETURN(platform::MappedFile file, platform::MapFile(path.c_str()));
  const uint8_t* base = file.data();
  const size_t size = file.size();
  if (size < 8) return ACORN_ERROR(kMalformed, "%s: too short for safetensors", path.c_str());
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);
  if (header_len > size - 8) return ACORN_ERROR(kMalformed, "%s: header length %llu beyond the file", path.c_str(),
                                                static_cast<unsigned long long>(header_len));
  nlohmann::json header = nlohmann::json::parse(base + 8, base + 8 + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return ACORN_ERROR(kMalformed, "%s: header is not JSON", path.c_str());
  const uint8_t* data = base + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (auto& kv : header.items()) {
    if (kv.key() == "__metadata__") continue;
    const nlohmann::json& t = kv.value();
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
      return ACORN_ERROR(kMalformed, "%s: tensor '%s' lacks dtype, shape or data_offsets", path.c_str(), kv.key().c_str());
    }
    SourceTensor s;
    s.name = kv.key();
    const std::string dtype = t["dtype"].get<std::string>();
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
    } else {
      // Integer buffers (e.g. GPTQ) are not weights this converter reads; skip only those we never use.
      // Integer buffers that are not weights: cached rotary tables, BERT's position_ids.
      if (s.name.find("rotary_emb") != std::string::npos || s.name.find("position_ids") != std::string::npos) continue;
      return ACORN_ERROR(kUnsupported, "%s: tensor '%s' has dtype %s; acorn-convert reads F32, F16 and BF16 weights",
                         path.c_str(), s.name.c_str(), dtype.c_str());
    }
    uint64_t n = 1;
    for (const auto& d : t["shape"]) {
      const int64_t v = d.get<int64_t>();
      if (v < 0) return ACORN_ERROR(kMalformed, "%s: tensor '%s' has a negative dimension", path.c_str(), s.name.c_str());
      s.shape.push_back(v);
      n *= static_cast<uint64_t>(v);
    }
    const uint64_t begin = t["data_offsets"][0].get<uint64_t>();
    const uint64_t end = t["data_offsets"][1].get<uint64_t>();
    if (end < begin || end > data_size || end - begin != n * elem) {
      return ACORN_ERROR(kMalformed, "%s: tensor '%s' data offsets %llu..%llu do not fit its shape or the file",
                         path.c_str(), s.name.c_str(), static_cast<unsigned long long>(begin),
                         static_cast<unsigned long long>(end));
    }
    s.data = data + begin;
    s.bytes = end - begin;
    tensors_[s.name] = s;
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

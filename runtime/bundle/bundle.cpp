// Opening a bundle: take the bytes (map, read or the caller's buffer), then hand them to the verifier.
// Accessors that are more than a field read live here too.
#include "acorn/bundle.h"

#include <cstring>

#include "acorn_generated.h"

namespace acorn {

const char* StorageName(Storage storage) {
  switch (storage) {
    case Storage::kConstant: return "constant";
    case Storage::kPlanned: return "planned";
    case Storage::kState: return "state";
    case Storage::kInput: return "input";
    case Storage::kOutput: return "output";
  }
  return "unknown";
}

uint64_t TensorDesc::Elements(int64_t tokens) const {
  uint64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= static_cast<uint64_t>(Dim(i, tokens));
  return n;
}

Result<std::unique_ptr<Bundle>> Bundle::Open(const char* path, LoadMode mode) {
  Result<platform::MappedFile> file =
      mode == LoadMode::kMap ? platform::MapFile(path) : platform::ReadFile(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<Bundle> bundle(new Bundle());
  bundle->file_ = std::move(file).value();
  bundle->data_ = bundle->file_.data();
  bundle->size_ = bundle->file_.size();
  bundle->mapped_ = mode == LoadMode::kMap;
  Result<std::unique_ptr<Bundle>> verified = Verify(std::move(bundle));
  if (!verified.ok()) return Status(verified.status().code(), std::string(path) + ": " + verified.status().message());
  return verified;
}

Result<std::unique_ptr<Bundle>> Bundle::FromBuffer(const uint8_t* data, size_t size) {
  if (data == nullptr && size != 0) return ACORN_ERROR(kInvalidArgument, "bundle buffer is null");
  std::unique_ptr<Bundle> bundle(new Bundle());
  bundle->data_ = data;
  bundle->size_ = size;
  return Verify(std::move(bundle));
}

bool Bundle::HasIdentifier(const uint8_t* data, size_t size) {
  // The FlatBuffer is size-prefixed, so its identifier sits 4 bytes later than in a plain buffer.
  return data != nullptr && size >= 12 && std::memcmp(data + 8, fb::BundleIdentifier(), 4) == 0;
}

Bundle::~Bundle() {
  for (void* p : owned_segments_) platform::AlignedFree(p);
}

int Bundle::FindTensor(const char* name) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (std::strcmp(tensors_[i].name, name) == 0) return static_cast<int>(i);
  }
  return -1;
}

const Bundle::MetaValue* Bundle::FindMeta(const char* key, uint8_t kind) const {
  for (const MetaValue& m : metadata_) {
    if (m.kind == kind && m.key == key) return &m;
  }
  return nullptr;
}

bool Bundle::GetString(const char* key, std::string* value) const {
  const MetaValue* m = FindMeta(key, static_cast<uint8_t>(fb::MetaKind::String));
  if (m != nullptr) *value = m->str;
  return m != nullptr;
}

bool Bundle::GetInt(const char* key, int64_t* value) const {
  const MetaValue* m = FindMeta(key, static_cast<uint8_t>(fb::MetaKind::Int));
  if (m != nullptr) *value = m->i;
  return m != nullptr;
}

bool Bundle::GetFloat(const char* key, double* value) const {
  const MetaValue* m = FindMeta(key, static_cast<uint8_t>(fb::MetaKind::Float));
  if (m != nullptr) *value = m->f;
  return m != nullptr;
}

}  // namespace acorn

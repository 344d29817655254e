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

Bundle::~Bundle() {
  for (void* p : owned_segments_) platform::AlignedFree(p);
}

int Bundle::FindTensor(const char* name) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (std::strcmp(tensors_[i].name, name) == 0) return static_cast<int>(i);
  }
  return -1;
}

namespace {
const fb::MetaEntry* FindMeta(const fb::Bundle* root, const char* key, fb::MetaKind kind) {
  if (root->metadata() == nullptr) return nullptr;
  for (const fb::MetaEntry* e : *root->metadata()) {
    if (e->kind() == kind && std::strcmp(e->key()->c_str(), key) == 0) return e;
  }
  return nullptr;
}
}  // namespace

bool Bundle::GetString(const char* key, std::string* value) const {
  const fb::MetaEntry* e = FindMeta(root_, key, fb::MetaKind::String);
  if (e == nullptr) return false;
  *value = e->str() ? e->str()->str() : std::string();
  return true;
}

bool Bundle::GetInt(const char* key, int64_t* value) const {
  const fb::MetaEntry* e = FindMeta(root_, key, fb::MetaKind::Int);
  if (e == nullptr) return false;
  *value = e->int_value();
  return true;
}

bool Bundle::GetFloat(const char* key, double* value) const {
  const fb::MetaEntry* e = FindMeta(root_, key, fb::MetaKind::Float);
  if (e == nullptr) return false;
  *value = e->float_value();
  return true;
}

}  // namespace acorn

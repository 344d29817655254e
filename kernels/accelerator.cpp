// Finding the accelerator libraries. libacorn itself links no accelerator: libacorn_cuda brings the
// CUDA backend when the application links it (resolving the weak reference below, which the static
// library forces with --undefined, see kernels/cuda/CMakeLists.txt), or when it can be loaded by
// name next to libacorn. A CPU-only application thus carries no CUDA code and needs no driver.
#include "accelerator.h"

#include "acorn/acorn.h"
#include "acorn/platform.h"

extern "C" const acorn::AcceleratorPlugin* acorn_cuda_plugin(void) __attribute__((weak));

namespace acorn {

namespace {

struct PluginLookup {
  const AcceleratorPlugin* plugin = nullptr;
  std::string why;
};

PluginLookup LookUpCuda() {
  PluginLookup r;
  using Entry = const AcceleratorPlugin* (*)();
  Entry entry = acorn_cuda_plugin;
  if (entry == nullptr) {
    Result<void*> symbol = platform::LoadSymbol(ACORN_CUDA_LIBRARY_NAME, "acorn_cuda_plugin");
    if (!symbol.ok()) {
      r.why = "the CUDA backend (" ACORN_CUDA_LIBRARY_NAME ") is not linked in and could not be loaded: " +
              symbol.status().message() + "; install acorn's cuda component or link acorn::cuda";
      return r;
    }
    entry = reinterpret_cast<Entry>(symbol.value());
  }
  const AcceleratorPlugin* p = entry();
  if (p == nullptr || p->abi != AcceleratorPluginAbi() || p->backend != Backend::kCuda || p->accelerator == nullptr) {
    r.why = "the CUDA backend library is from another version of acorn than " ACORN_VERSION_STRING
            "; install the two from the same build";
    return r;
  }
  r.plugin = p;
  return r;
}

}  // namespace

uint32_t AcceleratorPluginAbi() {
  return (ACORN_VERSION_MAJOR << 20) | (ACORN_VERSION_MINOR << 10) | ACORN_VERSION_PATCH;
}

const AcceleratorPlugin* FindAcceleratorPlugin(Backend backend, std::string* why) {
  if (backend != Backend::kCuda) {
    if (why != nullptr) *why = std::string("the ") + BackendName(backend) + " backend is the host's";
    return nullptr;
  }
  // Looked up once per process: loading a library is not something to repeat per model.
  static const PluginLookup cuda = LookUpCuda();
  if (cuda.plugin == nullptr && why != nullptr) *why = cuda.why;
  return cuda.plugin;
}

Accelerator* FindAccelerator(Backend backend) {
  const AcceleratorPlugin* p = FindAcceleratorPlugin(backend);
  return p != nullptr ? p->accelerator : nullptr;
}

}  // namespace acorn

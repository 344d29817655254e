// libFuzzer target for the loader: any byte string either loads (and then plans) or is refused with
// a Status. Run through the "fuzz" preset; docs/TESTING.md has the commands.
#include <cstdint>
#include <cstring>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/memory_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into a buffer of exactly `size` bytes so that AddressSanitizer sees any read past the end.
  std::vector<uint8_t> bytes(data, data + size);
  auto bundle = acorn::Bundle::FromBuffer(bytes.data(), bytes.size());
  if (!bundle.ok()) {
    if (bundle.status().message().empty()) __builtin_trap();  // every refusal must say why
    return 0;
  }
  auto plan = acorn::PlanMemory(**bundle);
  (void)plan;
  // Touch every constant byte range the loader vouched for.
  uint8_t sum = 0;
  for (const acorn::TensorDesc& t : (*bundle)->tensors()) {
    if (t.data != nullptr && t.max_bytes > 0) sum ^= t.data[0] ^ t.data[t.max_bytes - 1];
  }
  volatile uint8_t sink = sum;
  (void)sink;
  return 0;
}

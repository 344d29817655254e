// libFuzzer target for the whole path an app takes with a downloaded bundle: bytes -> Bundle::FromBuffer
// -> Model (reference or cpu kernels) -> Session -> one Forward step of 1 or 2 tokens -> read the
// logits. The verifier promises that a bundle it accepts never crashes a step; this target holds it to
// that. Links: acorn (runtime, interpreter, kernel table, reference and cpu kernels).
//
// The input is the bundle itself, so the bundle seeds serve here unchanged; the backend and the token
// ids come from a hash of the input, so that every mutation may change them too and a reproducer
// replays exactly. Now and then an id is out of range, which Forward must refuse cleanly.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/model.h"

namespace {

// What one step may take from this process: a bundle that plans a bigger arena is a valid bundle
// (a large model), not a finding; an app sizes its sessions the same way from Model::plan().
constexpr uint64_t kMaxArenaForFuzzing = uint64_t{64} << 20;
constexpr int64_t kMaxLogitsForFuzzing = int64_t{16} << 20;  // floats

uint64_t Fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// ACORN_FUZZ_VERBOSE=1 says how far each input got, for replaying a reproducer or checking seeds.
bool Verbose() {
  static const bool verbose = std::getenv("ACORN_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

void RequireMessage(const acorn::Status& st, const char* stage) {
  if (st.ok()) return;
  if (st.message().empty()) __builtin_trap();  // every refusal must say why
  if (Verbose()) std::fprintf(stderr, "model_step: %s refused: %s\n", stage, st.message().c_str());
}

int32_t TokenId(uint64_t bits, int64_t vocab) {
  if ((bits & 31) == 0) {  // out of range, one time in 32
    switch ((bits >> 5) & 3) {
      case 0: return -1;
      case 1: return static_cast<int32_t>(vocab > INT32_MAX ? INT32_MAX : vocab);
      case 2: return INT32_MIN;
      default: return INT32_MAX;
    }
  }
  return vocab > 0 ? static_cast<int32_t>((bits >> 7) % static_cast<uint64_t>(vocab)) : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into a buffer of exactly `size` bytes so that AddressSanitizer sees any read past the end.
  // The buffer outlives everything built on it below (FromBuffer does not copy).
  std::vector<uint8_t> bytes(data, data + size);
  const uint64_t h = Fnv1a(data, size);

  auto bundle = acorn::Bundle::FromBuffer(bytes.data(), bytes.size());
  if (!bundle.ok()) {
    RequireMessage(bundle.status(), "Bundle::FromBuffer");
    return 0;
  }
  acorn::ModelOptions options;
  options.backends = {(h & 1) ? acorn::Backend::kCpu : acorn::Backend::kReference};
  auto model = acorn::Model::FromBundle(std::move(bundle).value(), options);
  if (!model.ok()) {
    RequireMessage(model.status(), "Model::FromBundle");
    return 0;
  }
  const std::shared_ptr<const acorn::Model> m = std::move(model).value();
  if (m->plan().arena_bytes > kMaxArenaForFuzzing) {
    if (Verbose()) std::fprintf(stderr, "model_step: arena of %llu bytes, skipped\n",
                                static_cast<unsigned long long>(m->plan().arena_bytes));
    return 0;
  }

  acorn::SessionOptions session_options;
  session_options.threads = 1 + static_cast<int>((h >> 1) & 1);  // the pool's 1- and 2-thread paths
  auto session = acorn::Session::Create(m, session_options);
  if (!session.ok()) {
    RequireMessage(session.status(), "Session::Create");
    return 0;
  }
  if (m->tokens_input() < 0) return 0;  // an encoder or a graph without token ids: nothing to step

  const int64_t n = 1 + static_cast<int64_t>((h >> 2) & 1);
  const int64_t vocab = m->vocab_size();
  int32_t ids[2] = {TokenId(h >> 3, vocab), TokenId(h >> 23, vocab)};
  std::vector<float> logits;
  float* out = nullptr;
  if (m->logits_output() >= 0 && vocab > 0 && vocab * n <= kMaxLogitsForFuzzing) {
    logits.assign(static_cast<size_t>(vocab * n), 0.0f);
    out = logits.data();
  }
  const acorn::Status st = (*session)->Forward(ids, n, out, /*all_positions=*/true);
  RequireMessage(st, "Forward");
  if (!st.ok()) {
    if ((*session)->position() != 0) __builtin_trap();  // a failed Forward leaves the position alone
    return 0;
  }
  if ((*session)->position() != n) __builtin_trap();
  // Read every logit back: the buffer Forward filled must be whole (AddressSanitizer watches the reads).
  uint32_t acc = 0;
  for (float v : logits) {
    uint32_t u;
    std::memcpy(&u, &v, sizeof(u));
    acc ^= u;
  }
  if (Verbose()) std::fprintf(stderr, "model_step: %lld token(s) stepped, %lld logits read\n",
                              static_cast<long long>(n), static_cast<long long>(logits.size()));
  volatile uint32_t sink = acc;
  (void)sink;
  return 0;
}

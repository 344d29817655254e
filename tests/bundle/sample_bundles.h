// Small bundles for the loader tests, built with the real BundleWriter: a tiny graph that exercises
// every storage kind, and a helper that writes a bundle file of a requested size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_writer.h"

namespace acorn {
namespace testing {

struct SampleOptions {
  bool compress = false;        // put the weights in a zstd segment
  uint32_t vocab = 64;
  uint32_t hidden = 64;
  uint32_t max_tokens = 8;
  uint32_t context = 16;
};

// embedding -> rms norm -> matmul (q8_0) -> logits, plus a state tensor and metadata.
std::vector<uint8_t> MakeSampleBundle(const SampleOptions& options = SampleOptions());

// Deterministic pseudo-random bytes.
std::vector<uint8_t> PseudoRandomBytes(size_t n, uint32_t seed);

}  // namespace testing
}  // namespace acorn

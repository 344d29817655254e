// Writes a seed corpus for bundle_fuzzer: valid bundles of several shapes, compressed and not.
#include <cstdio>
#include <string>

#include "../bundle/sample_bundles.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  int n = 0;
  for (bool compress : {false, true}) {
    for (uint32_t hidden : {32u, 64u}) {
      acorn::testing::SampleOptions o;
      o.compress = compress;
      o.hidden = hidden;
      o.vocab = 32;
      const std::vector<uint8_t> bytes = acorn::testing::MakeSampleBundle(o);
      const std::string path = std::string(argv[1]) + "/seed" + std::to_string(n++) + ".acorn";
      FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) return 1;
      std::fclose(f);
    }
  }
  std::printf("wrote %d seeds to %s\n", n, argv[1]);
  return 0;
}

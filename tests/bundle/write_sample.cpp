// Writes the loader tests' sample bundle to a file (used by scripts/demo.sh until the chat demo
// and its default model exist).
#include <cstdio>

#include "sample_bundles.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: acorn_write_sample OUT.acorn\n");
    return 2;
  }
  acorn::testing::SampleOptions o;
  o.compress = true;
  const std::vector<uint8_t> bytes = acorn::testing::MakeSampleBundle(o);
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fprintf(stderr, "acorn_write_sample: cannot write %s\n", argv[1]);
    return 1;
  }
  std::fclose(f);
  return 0;
}

// acorn-tokenize-bench: encode throughput on one core (MB/s of input text), not a test.
// usage: acorn-tokenize-bench TOKENIZER_JSON TEXT_FILE [--repeat N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "acorn/tokenizer.h"
#include "tokenizer_json.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: acorn-tokenize-bench TOKENIZER_JSON TEXT_FILE [--repeat N]\n");
    return 2;
  }
  int repeat = 5;
  if (argc >= 5 && std::string(argv[3]) == "--repeat") repeat = std::atoi(argv[4]);
  auto spec = acorn::LoadTokenizerJsonFile(argv[1]);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    return 1;
  }
  auto tokenizer = acorn::Tokenizer::Create(std::move(spec).value());
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", tokenizer.status().ToString().c_str());
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  double best = 1e30;
  size_t tokens = 0;
  for (int r = 0; r < repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    tokens = tokenizer->Encode(text, false).size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s < best) best = s;
  }
  std::printf("%zu bytes -> %zu tokens, best of %d: %.3f s, %.2f MB/s\n", text.size(), tokens, repeat, best,
              text.size() / best / 1e6);
  return 0;
}

// Writes the generated seed corpora: OUT/bundle/ (valid bundles of several shapes, compressed and
// not) and OUT/model_step/ (the same, plus tiny real LLaMA bundles converted from the transformers
// fixtures of tests/fixtures/llama when the converter is built). Generated rather than committed so
// that they follow the bundle format; scripts/fuzz.sh runs this before fuzzing.
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "../bundle/sample_bundles.h"

#if defined(ACORN_FUZZ_LLAMA_SEEDS)
#include "hf_config.h"
#include "llama_graph.h"
#include "safetensors.h"
#endif

namespace {

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

#if defined(ACORN_FUZZ_LLAMA_SEEDS)
// A fixture converted with a small step and context, so that each seed stays small and a step is
// fast (the fuzzer runs thousands per second).
bool WriteLlamaSeed(const std::string& fixture, acorn::DType dtype, bool compress, const std::string& path) {
  const std::string dir = std::string(ACORN_LLAMA_FIXTURES) + "/" + fixture;
  auto config = acorn::convert::ReadLlamaConfig(dir);
  if (!config.ok()) {
    std::fprintf(stderr, "make_seeds: %s\n", config.status().message().c_str());
    return false;
  }
  auto ckpt = acorn::convert::SafetensorsCheckpoint::Open(dir);
  if (!ckpt.ok()) {
    std::fprintf(stderr, "make_seeds: %s\n", ckpt.status().message().c_str());
    return false;
  }
  acorn::convert::ConvertOptions options;
  options.dtype = dtype;
  options.compress = compress;
  options.max_tokens = 2;
  options.context = 8;
  acorn::BundleWriter writer;
  acorn::Status st =
      acorn::convert::BuildLlamaBundle(*config, acorn::convert::CheckpointWeights(**ckpt), options, &writer);
  if (!st.ok()) {
    std::fprintf(stderr, "make_seeds: %s: %s\n", fixture.c_str(), st.message().c_str());
    return false;
  }
  auto bytes = writer.WriteToMemory();
  if (!bytes.ok()) {
    std::fprintf(stderr, "make_seeds: %s: %s\n", fixture.c_str(), bytes.status().message().c_str());
    return false;
  }
  return WriteFile(path, *bytes);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR   (writes OUT_DIR/bundle and OUT_DIR/model_step)\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string bundle_dir = out + "/bundle", step_dir = out + "/model_step";
  for (const std::string& d : {out, bundle_dir, step_dir}) mkdir(d.c_str(), 0755);
  int n = 0;
  for (bool compress : {false, true}) {
    for (uint32_t hidden : {32u, 64u}) {
      acorn::testing::SampleOptions o;
      o.compress = compress;
      o.hidden = hidden;
      o.vocab = 32;
      const std::vector<uint8_t> bytes = acorn::testing::MakeSampleBundle(o);
      const std::string name = "/sample" + std::to_string(n++) + ".acorn";
      if (!WriteFile(bundle_dir + name, bytes) || !WriteFile(step_dir + name, bytes)) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", name.c_str());
        return 1;
      }
    }
  }
#if defined(ACORN_FUZZ_LLAMA_SEEDS)
  struct LlamaSeed {
    const char* fixture;
    acorn::DType dtype;
    bool compress;
    const char* name;
  };
  const LlamaSeed llama[] = {
      {"tiny_mqa_big_context", acorn::DType::kF32, false, "llama_mqa_f32"},
      {"tiny_mqa_big_context", acorn::DType::kF16, true, "llama_mqa_f16_zstd"},
      {"tiny_mqa_big_context", acorn::DType::kQ8_0, false, "llama_mqa_q8_0"},
      {"tiny_mqa_big_context", acorn::DType::kQ4_0, false, "llama_mqa_q4_0"},
      {"mha_untied", acorn::DType::kQ4_0, false, "llama_mha_q4_0"},
  };
  for (const LlamaSeed& s : llama) {
    if (!WriteLlamaSeed(s.fixture, s.dtype, s.compress, step_dir + "/" + s.name + ".acorn")) return 1;
    ++n;
  }
#endif
  std::printf("make_seeds: wrote %d seeds under %s\n", n, out.c_str());
  return 0;
}

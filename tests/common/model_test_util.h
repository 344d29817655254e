// Helpers shared by the end-to-end decoder tests (LLaMA on the CPU and CUDA, GGUF import): the
// transformers fixtures of tests/fixtures/llama, converting them once per test binary, running a
// bundle, and comparing logits. A test binary that links this defines ACORN_FIXTURES (the llama
// fixtures folder) and ACORN_CONVERT_BIN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "acorn/model.h"

namespace acorn {
namespace model_test {

// The fixtures of tests/fixtures/llama (made by scripts/fixtures/make_llama_fixtures.py).
extern const char* const kFixtures[5];

std::string FixtureDir(const std::string& name);
int RunCommand(const std::string& cmd);
// Converts a fixture once per (dtype, max_tokens, context) and caches the bundle path.
std::string Convert(const std::string& name, const std::string& dtype, int max_tokens = 8, int context = 0);
nlohmann::json ReadJson(const std::string& path);
std::vector<int32_t> Ids(const nlohmann::json& j);

// A fixture's prompt, transformers' greedy continuation of it and logits of every prompt position
// ([prompt, vocab]). Fails the calling test, and returns empty logits, when a file is missing.
struct Reference {
  std::vector<int32_t> prompt, greedy;
  std::vector<float> logits;
  int64_t vocab = 0;
};
Reference LoadReference(const std::string& fixture);

// Tests parameterized by fixture name, with its Reference in members after LoadFixture().
class FixtureTest : public ::testing::TestWithParam<const char*> {
 protected:
  void LoadFixture();
  std::vector<int32_t> prompt_, greedy_;
  std::vector<float> ref_;
  int64_t vocab_ = 0;
};

struct ModelRun {
  std::vector<float> logits;  // [n, vocab]
  std::vector<int32_t> greedy;
  int64_t vocab = 0;
};

// Runs `prompt` (logits of every position), then `greedy` greedy steps, on 2 threads by default.
ModelRun RunModel(const std::string& bundle, const std::vector<int32_t>& prompt, int greedy, const ModelOptions& options,
                  int threads = 2);
ModelRun RunModel(const std::string& bundle, const std::vector<int32_t>& prompt, int greedy, Backend backend,
                  int threads = 2);

// max |a - b| / max |b|
double RelMaxDiff(const std::vector<float>& a, const std::vector<float>& b);
// Smallest cosine similarity over rows of [rows, cols].
double MinRowCosine(const std::vector<float>& a, const std::vector<float>& b, int64_t cols);

}  // namespace model_test
}  // namespace acorn

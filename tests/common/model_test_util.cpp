#include "model_test_util.h"

#include "npy.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

namespace acorn {
namespace model_test {

const char* const kFixtures[5] = {"mha_untied", "gqa_tied_llama3", "sharded_f16", "qwen2_bias", "tiny_mqa_big_context"};

std::string FixtureDir(const std::string& name) { return std::string(ACORN_FIXTURES) + "/" + name; }

int RunCommand(const std::string& cmd) {
  const int status = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Convert(const std::string& name, const std::string& dtype, int max_tokens, int context) {
  static std::map<std::string, std::string> cache;
  const std::string key = name + "/" + dtype + "/" + std::to_string(max_tokens) + "/" + std::to_string(context);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const std::string out = ::testing::TempDir() + "/llama_" + name + "_" + dtype + "_" + std::to_string(max_tokens) + "_" +
                          std::to_string(context) + ".acorn";
  std::string cmd = std::string(ACORN_CONVERT_BIN) + " " + FixtureDir(name) + " -o " + out + " --quiet --dtype " + dtype +
                    " --max-tokens " + std::to_string(max_tokens);
  if (context > 0) cmd += " --context " + std::to_string(context);
  EXPECT_EQ(RunCommand(cmd), 0) << cmd;
  cache[key] = out;
  return out;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<int32_t> Ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

Reference LoadReference(const std::string& fixture) {
  Reference r;
  const std::string dir = FixtureDir(fixture);
  std::ifstream probe(dir + "/config.json");
  if (!probe.good()) {
    ADD_FAILURE() << "fixture missing: " << dir << " (made by scripts/fixtures/make_llama_fixtures.py)";
    return r;
  }
  r.prompt = Ids(ReadJson(dir + "/prompt.json")["tokens"]);
  const nlohmann::json greedy = ReadJson(dir + "/greedy.json");
  EXPECT_EQ(Ids(greedy["prompt"]), r.prompt) << fixture << ": greedy.json is for another prompt";
  r.greedy = Ids(greedy["greedy"]);
  auto logits = ReadNpy(dir + "/logits.npy");
  if (!logits.ok()) {
    ADD_FAILURE() << logits.status().ToString();
    return r;
  }
  r.logits = std::move(logits->data);
  r.vocab = logits->shape[1];
  return r;
}

void FixtureTest::LoadFixture() {
  Reference r = LoadReference(GetParam());
  prompt_ = r.prompt;
  greedy_ = r.greedy;
  ref_ = std::move(r.logits);
  vocab_ = r.vocab;
}

ModelRun RunModel(const std::string& bundle, const std::vector<int32_t>& prompt, int greedy, const ModelOptions& options,
                  int threads) {
  auto model = Model::Load(bundle.c_str(), options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  ModelRun r;
  if (!model.ok()) return r;
  SessionOptions so;
  so.threads = threads;
  auto session = Session::Create(*model, so);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return r;
  r.vocab = (*model)->vocab_size();
  const int64_t n = static_cast<int64_t>(prompt.size());
  r.logits.resize(static_cast<size_t>(n * r.vocab));
  Status st = (*session)->Forward(prompt.data(), n, r.logits.data(), true);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<float> step(r.logits.end() - r.vocab, r.logits.end());
  for (int g = 0; g < greedy && st.ok(); ++g) {
    const int32_t next = static_cast<int32_t>(std::max_element(step.begin(), step.end()) - step.begin());
    r.greedy.push_back(next);
    st = (*session)->Forward(&next, 1, step.data(), false);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return r;
}

ModelRun RunModel(const std::string& bundle, const std::vector<int32_t>& prompt, int greedy, Backend backend, int threads) {
  ModelOptions mo;
  mo.backends = {backend};
  return RunModel(bundle, prompt, greedy, mo, threads);
}

double RelMaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

double MinRowCosine(const std::vector<float>& a, const std::vector<float>& b, int64_t cols) {
  if (a.size() != b.size() || b.empty()) return -1;
  double worst = 1;
  for (size_t r = 0; r * cols < a.size(); ++r) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double x = a[r * cols + c], y = b[r * cols + c];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    worst = std::min(worst, ab / std::sqrt(aa * bb));
  }
  return worst;
}

}  // namespace model_test
}  // namespace acorn

#include "bert_common.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

namespace acorn {
namespace bert_test {

int RunCommand(const std::string& cmd) {
  const int status = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Convert(const std::string& dir, const std::string& dtype, int max_tokens) {
  static std::map<std::string, std::string> cache;
  const std::string key = dir + "|" + dtype + "|" + std::to_string(max_tokens);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const std::string base = dir.substr(dir.find_last_of('/') + 1);
  const std::string out = ::testing::TempDir() + "/bert_" + base + "_" + dtype + "_" + std::to_string(max_tokens) + ".acorn";
  const std::string cmd = std::string(ACORN_CONVERT_BIN) + " " + dir + " -o " + out + " --quiet --dtype " + dtype +
                          " --max-tokens " + std::to_string(max_tokens);
  const bool ok = RunCommand(cmd) == 0;
  EXPECT_TRUE(ok) << cmd;
  cache[key] = ok ? out : "";
  return cache[key];
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<Sequence> ReadSequences(const nlohmann::json& list) {
  std::vector<Sequence> out;
  for (const auto& s : list) {
    Sequence q;
    q.ids = s["ids"].get<std::vector<int32_t>>();
    if (s.contains("token_types")) q.types = s["token_types"].get<std::vector<int32_t>>();
    out.push_back(q);
  }
  return out;
}

std::vector<EncoderOutput> EncodeAll(const std::string& bundle, const std::vector<Sequence>& seqs, Backend backend,
                                     int threads) {
  std::vector<EncoderOutput> outputs;
  ModelOptions mo;
  mo.backends = {backend};
  auto model = Model::Load(bundle.c_str(), mo);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return outputs;
  SessionOptions so;
  so.threads = threads;
  auto encoder = Encoder::Create(*model, so);
  EXPECT_TRUE(encoder.ok()) << encoder.status().ToString();
  if (!encoder.ok()) return outputs;
  std::vector<EncoderInput> inputs;
  for (const Sequence& s : seqs) {
    EncoderInput in;
    in.ids = Span<const int32_t>(s.ids.data(), s.ids.size());
    in.token_types = Span<const int32_t>(s.types.data(), s.types.size());
    inputs.push_back(in);
  }
  Status st = (*encoder)->Encode(Span<const EncoderInput>(inputs.data(), inputs.size()), &outputs);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return outputs;
}

double RelMaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

double Cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

}  // namespace bert_test
}  // namespace acorn

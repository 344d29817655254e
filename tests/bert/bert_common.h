// Helpers shared by the BERT tests: convert a checkpoint once, encode through the Encoder API,
// compare with references.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acorn/encoder.h"

namespace acorn {
namespace bert_test {

int RunCommand(const std::string& cmd);
// Converts `dir` once per (dtype, max_tokens) for this test binary; "" when conversion failed.
std::string Convert(const std::string& dir, const std::string& dtype, int max_tokens);
nlohmann::json ReadJson(const std::string& path);

struct Sequence {
  std::vector<int32_t> ids, types;
};
std::vector<Sequence> ReadSequences(const nlohmann::json& list);

// Encodes `seqs` as one Encode call on a fresh Encoder.
std::vector<EncoderOutput> EncodeAll(const std::string& bundle, const std::vector<Sequence>& seqs,
                                     Backend backend = Backend::kCpu, int threads = 2);

// max |a - b| / max |b|
double RelMaxDiff(const std::vector<float>& a, const std::vector<float>& b);
double Cosine(const float* a, const float* b, size_t n);

}  // namespace bert_test
}  // namespace acorn

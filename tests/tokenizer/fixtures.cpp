#include "fixtures.h"

#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "tokenizer_json.h"

namespace acorn_test {

using nlohmann::json;

// ACORN_TOKENIZER_GOLDENS_DIR may point at another corpus.json / goldens.json pair (for example one
// made by `make_goldens.py --random N --out DIR`); tokenizer files still come from the fixtures.
std::string FixturePath(const std::string& name) {
  const char* dir = std::getenv("ACORN_TOKENIZER_GOLDENS_DIR");
  if (dir && (name == "corpus.json" || name == "goldens.json")) return std::string(dir) + "/" + name;
  return std::string(ACORN_TOKENIZER_FIXTURES) + "/" + name;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

std::string Decompress(const std::string& compressed, const std::string& path) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(), ZSTD_freeDStream);
  ZSTD_initDStream(stream.get());
  std::string out;
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    size_t r = ZSTD_decompressStream(stream.get(), &o, &in);
    if (ZSTD_isError(r)) {
      std::fprintf(stderr, "%s: zstd: %s\n", path.c_str(), ZSTD_getErrorName(r));
      std::abort();
    }
    out.append(chunk.data(), o.pos);
  }
  return out;
}

std::string BaseText(const std::string& name) { return ReadFixture(name + ".tokenizer.json"); }

}  // namespace

std::string ReadFixture(const std::string& name) {
  std::string path = FixturePath(name);
  std::ifstream probe(path);
  if (probe) return ReadFileOrDie(path);
  return Decompress(ReadFileOrDie(path + ".zst"), path + ".zst");
}

namespace {

// Mirrors apply_variant in scripts/tokenizer/make_goldens.py.
std::string ApplyVariant(const json& variant) {
  json j = json::parse(BaseText(variant["base"].get<std::string>()));
  if (variant.contains("set")) {
    for (auto& [key, value] : variant["set"].items()) j[key] = value;
  }
  int next_id = static_cast<int>(j["model"]["vocab"].size());
  for (const json& t : j["added_tokens"]) next_id = std::max(next_id, t["id"].get<int>() + 1);
  if (variant.contains("add_tokens")) {
    for (json t : variant["add_tokens"]) {
      t["id"] = next_id++;
      j["added_tokens"].push_back(t);
    }
  }
  return j.dump();
}

}  // namespace

std::string TokenizerJsonText(const std::string& name) {
  static const json variants = json::parse(ReadFileOrDie(FixturePath("variants.json")));
  for (const json& v : variants) {
    if (v["name"] == name) return ApplyVariant(v);
  }
  return BaseText(name);
}

const acorn::Tokenizer& GetTokenizer(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<acorn::Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return *it->second;
  auto spec = acorn::ParseTokenizerJson(TokenizerJsonText(name));
  if (!spec.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), spec.status().ToString().c_str());
    std::abort();
  }
  auto tok = acorn::Tokenizer::Create(std::move(spec).value());
  if (!tok.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), tok.status().ToString().c_str());
    std::abort();
  }
  auto owned = std::make_unique<acorn::Tokenizer>(std::move(tok).value());
  return *cache.emplace(name, std::move(owned)).first->second;
}

const json& Corpus() {
  static const json corpus = json::parse(ReadFileOrDie(FixturePath("corpus.json")));
  return corpus;
}

const json& Goldens() {
  static const json goldens = json::parse(ReadFileOrDie(FixturePath("goldens.json")));
  return goldens;
}

std::string CorpusBytes(const json& entry) {
  if (entry.contains("text")) return entry["text"].get<std::string>();
  std::string hex = entry["hex"].get<std::string>(), out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace acorn_test

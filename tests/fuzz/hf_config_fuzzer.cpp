// libFuzzer target for the Hugging Face JSON files the converter reads besides the weights: the input
// is read as a LLaMA-family config.json (ParseLlamaConfig + CheckLlamaConfig), as a BERT config.json
// (ReadBertConfig, through a file, as acorn-convert reads it) and as a tokenizer_config.json
// (ApplyTokenizerConfig, then its chat template through ChatTemplate::Parse and Render, as a chat app
// does with the bundle's template). Each must answer with a value or a Status, never an exception or
// a crash.
// A LLaMA config the checks accept, when small, is built with random weights and loaded back: what
// the converter accepts the loader must accept too. Links: acorn_convert_lib.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acorn/bundle.h"
#include "acorn/chat_template.h"
#include "acorn/model.h"
#include "bert_config.h"
#include "bundle_writer.h"
#include "hf_config.h"
#include "hf_tokenizer.h"
#include "llama_graph.h"

namespace {

void RequireMessage(const acorn::Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

// A directory of our own for the BERT config.json, made once per process and removed at exit. Plain
// char arrays: they outlive the atexit handler, which a static std::string would not.
char g_dir[] = "/tmp/acorn_hf_config_fuzz.XXXXXX";
char g_file[sizeof(g_dir) + 16];

void RemoveScratch() {
  std::remove(g_file);
  std::remove(g_dir);
}

const char* ScratchDir() {
  static const bool made = [] {
    if (mkdtemp(g_dir) == nullptr) std::abort();
    std::snprintf(g_file, sizeof(g_file), "%s/config.json", g_dir);
    std::atexit(RemoveScratch);
    return true;
  }();
  (void)made;
  return g_dir;
}

// Weights a random-weight build of `c` writes, in elements; 0 when a product would pass 2^40.
double ParamCount(const acorn::convert::LlamaConfig& c) {
  const double h = static_cast<double>(c.hidden), q = static_cast<double>(c.heads * c.head_dim),
               kv = static_cast<double>(c.kv_heads) * static_cast<double>(c.head_dim);
  const double layer = h * q * 2 + h * kv * 2 + 3 * h * static_cast<double>(c.intermediate);
  return static_cast<double>(c.vocab) * h * 2 + static_cast<double>(c.layers) * layer;
}

void BuildAndLoad(const acorn::convert::LlamaConfig& c) {
  acorn::convert::ConvertOptions options;
  options.dtype = acorn::DType::kF32;
  options.max_tokens = 2;
  options.context = 8;
  acorn::convert::RandomWeights weights(1);
  weights.set_tied(c.tie_embeddings);
  acorn::BundleWriter writer;
  acorn::Status st = acorn::convert::BuildLlamaBundle(c, weights, options, &writer);
  RequireMessage(st);
  if (!st.ok()) return;
  auto bytes = writer.WriteToMemory();
  RequireMessage(bytes.status());
  if (!bytes.ok()) return;
  auto bundle = acorn::Bundle::FromBuffer(bytes->data(), bytes->size());
  if (!bundle.ok()) {
    std::fprintf(stderr, "the loader refuses a bundle built from an accepted config: %s\n",
                 bundle.status().message().c_str());
    __builtin_trap();
  }
  acorn::ModelOptions model_options;
  model_options.backends = {acorn::Backend::kReference};
  auto model = acorn::Model::FromBundle(std::move(bundle).value(), model_options);
  if (!model.ok()) {
    std::fprintf(stderr, "the model of an accepted config does not bind: %s\n", model.status().message().c_str());
    __builtin_trap();
  }
}

// The chat template of a tokenizer_config.json the converter accepted, parsed and rendered.
void ParseChatTemplate(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  auto t = j.find("chat_template");
  if (t == j.end() || !t->is_string()) return;
  auto tmpl = acorn::ChatTemplate::Parse(t->get<std::string>(), "<s>", "</s>");
  RequireMessage(tmpl.status());
  if (!tmpl.ok()) return;
  tmpl->set_now(1721952000);  // 26 Jul 2024
  const std::vector<acorn::ChatMessage> messages = {{"system", "s"}, {"user", "u"}, {"assistant", "a"}, {"user", "v"}};
  for (bool add : {false, true}) RequireMessage(tmpl->Render(messages, add).status());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  auto llama = acorn::convert::ParseLlamaConfig(text, "config.json");
  RequireMessage(llama.status());
  if (llama.ok()) {
    const acorn::Status st = acorn::convert::CheckLlamaConfig(*llama, "config.json");
    RequireMessage(st);
    if (st.ok() && llama->layers <= 2 && ParamCount(*llama) <= double(1 << 15)) BuildAndLoad(*llama);
  }

  const std::string dir = ScratchDir();
  FILE* f = std::fopen(g_file, "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  auto bert = acorn::convert::ReadBertConfig(dir);
  RequireMessage(bert.status());
  if (bert.ok()) RequireMessage(acorn::convert::CheckBertConfig(*bert, "config.json"));

  acorn::BundleWriter writer;
  const acorn::Status st = acorn::convert::ApplyTokenizerConfig(text, "tokenizer_config.json", &writer);
  RequireMessage(st);
  if (st.ok()) ParseChatTemplate(text);
  return 0;
}

// acorn-run: runs token ids through a bundle once, as one prompt; writes the logits of every
// position as .npy and/or prints greedily generated ids.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "tool_main.h"
#include "acorn/encoder.h"
#include "acorn/model.h"
#include "acorn/platform.h"
#include "npy.h"

namespace {

const char* kHelp =
    "usage: acorn-run --model M.acorn --tokens 1,2,3 [options]\n"
    "\n"
    "Runs the token ids as one prompt through a decoder bundle.\n"
    "\n"
    "options:\n"
    "  --model FILE          the bundle (from acorn-convert)\n"
    "  --tokens IDS          comma-separated token ids of the prompt\n"
    "  --prompt TEXT         the prompt as text, encoded with the bundle's tokenizer (special tokens\n"
    "                        such as BOS added as the tokenizer says); with --greedy the\n"
    "                        continuation is also printed decoded, on a second line\n"
    "  --logits-out FILE     write float32 logits of every prompt position as .npy, shape\n"
    "                        [n_tokens, vocab]\n"
    "  --greedy N            generate N ids greedily after the prompt and print them on one line,\n"
    "                        comma-separated\n"
    "  --threads N           CPU threads (default: all)\n"
    "  --backend LIST        comma-separated backend preference: cuda, cpu, reference (default\n"
    "                        cpu); an op the first lacks goes to the next, the reference kernels\n"
    "                        last; \"cuda,cpu\" also falls back to the CPU where no GPU is usable\n"
    "  --zero-copy           cuda: read the weights in place from the mapped file (the integrated-\n"
    "                        GPU path) instead of uploading them\n"
    "  --no-mmap             read the model into memory instead of mapping it: for a file that may\n"
    "                        change or be truncated while acorn runs (see docs/FORMAT.md)\n"
    "encoder bundles (BERT): the ids run as one sequence through the Encoder API\n"
    "  --token-types IDS     comma-separated token type ids, one per token (default all 0)\n"
    "  --hidden-out FILE     write the last hidden states as .npy, shape [n_tokens, hidden]\n"
    "  --embedding-out FILE  write the pooled sentence embedding as .npy, shape [hidden]\n"
    "  -h, --help            this message\n";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "acorn-run: %s\n", msg.c_str());
  return 1;
}

bool ParseIds(const std::string& s, std::vector<int32_t>* out) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > INT32_MAX) return false;
    out->push_back(static_cast<int32_t>(v));
  }
  return !out->empty();
}

// Encoder bundles: one sequence through the Encoder API; hidden states and embedding as .npy, the
// class logits (classifier bundles) printed.
int RunEncoder(std::shared_ptr<const acorn::Model> model, const std::vector<int32_t>& tokens,
               const std::vector<int32_t>& types, int threads, const std::string& hidden_out,
               const std::string& embedding_out) {
  acorn::SessionOptions so;
  so.threads = threads;
  auto encoder = acorn::Encoder::Create(model, so);
  if (!encoder.ok()) return Fail(encoder.status().ToString());
  acorn::EncoderInput in;
  in.ids = acorn::Span<const int32_t>(tokens.data(), tokens.size());
  in.token_types = acorn::Span<const int32_t>(types.data(), types.size());
  std::vector<acorn::EncoderOutput> out;
  acorn::Status st = (*encoder)->Encode(acorn::Span<const acorn::EncoderInput>(&in, 1), &out);
  if (!st.ok()) return Fail(st.ToString());
  const int64_t H = (*encoder)->hidden_size();
  if (!hidden_out.empty()) st = acorn::WriteNpy(hidden_out, out[0].hidden.data(), {out[0].tokens, H});
  if (st.ok() && !embedding_out.empty()) st = acorn::WriteNpy(embedding_out, out[0].embedding.data(), {H});
  if (!st.ok()) return Fail(st.ToString());
  for (size_t i = 0; i < out[0].logits.size(); ++i) std::printf("%s%.6g", i ? "," : "", out[0].logits[i]);
  if (!out[0].logits.empty()) std::printf("\n");
  return 0;
}

}  // namespace

static int Main(int argc, char** argv) {
  std::string model_path, logits_out, backends = "cpu";
  std::vector<int32_t> tokens;
  std::vector<int32_t> token_types;
  std::string hidden_out, embedding_out;
  std::string prompt;
  bool has_prompt = false;
  int greedy = 0, threads = 0;
  bool zero_copy = false, no_mmap = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--model" && has_value) {
      model_path = argv[++i];
    } else if (arg == "--tokens" && has_value) {
      if (!ParseIds(argv[++i], &tokens)) return Fail("--tokens needs comma-separated non-negative ids, e.g. 1,2,3");
    } else if (arg == "--logits-out" && has_value) {
      logits_out = argv[++i];
    } else if (arg == "--greedy" && has_value) {
      greedy = std::atoi(argv[++i]);
      if (greedy < 0) return Fail("--greedy needs a count >= 0");
    } else if (arg == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
      if (threads < 1) return Fail("--threads needs a count >= 1");
    } else if (arg == "--backend" && has_value) {
      backends = argv[++i];
    } else if (arg == "--zero-copy") {
      zero_copy = true;
    } else if (arg == "--no-mmap") {
      no_mmap = true;
    } else if (arg == "--token-types" && has_value) {
      if (!ParseIds(argv[++i], &token_types)) return Fail("--token-types needs comma-separated ids, e.g. 0,0,1");
    } else if (arg == "--hidden-out" && has_value) {
      hidden_out = argv[++i];
    } else if (arg == "--embedding-out" && has_value) {
      embedding_out = argv[++i];
    } else if (arg == "--prompt" && has_value) {
      prompt = argv[++i];
      has_prompt = true;
    } else {
      std::fprintf(stderr, "acorn-run: unknown or incomplete option '%s'\n\n%s", arg.c_str(), kHelp);
      return 2;
    }
  }
  if (model_path.empty() || (tokens.empty() == !has_prompt)) {
    std::fprintf(stderr, "acorn-run: --model and one of --tokens or --prompt are required\n\n%s", kHelp);
    return 2;
  }

  acorn::ModelOptions options;
  if (no_mmap) options.load_mode = acorn::LoadMode::kRead;
  if (acorn::Status st = acorn::ParseBackendList(backends, &options.backends); !st.ok()) return Fail(st.message());
  options.accelerator.zero_copy = zero_copy;
  auto model = acorn::Model::Load(model_path.c_str(), options);
  if (!model.ok()) return Fail(model.status().ToString());
  std::string architecture;
  if ((*model)->bundle().GetString("general.architecture", &architecture) && architecture == "bert") {
    if (has_prompt) {
      if ((*model)->tokenizer() == nullptr) return Fail(model_path + " has no tokenizer; pass token ids with --tokens");
      tokens.clear();
      acorn::Status st = (*model)->tokenizer()->Encode(prompt, acorn::TokenizeOptions(), &tokens);
      if (!st.ok()) return Fail("cannot encode the prompt: " + st.ToString());
    }
    return RunEncoder(*model, tokens, token_types, threads, hidden_out, embedding_out);
  }
  const int64_t vocab = (*model)->vocab_size();
  if (has_prompt) {
    const acorn::Tokenizer* tokenizer = (*model)->tokenizer();
    if (tokenizer == nullptr) {
      return Fail(model_path + " has no tokenizer (its checkpoint had no tokenizer.json or tokenizer.model); "
                  "pass token ids with --tokens");
    }
    tokens.clear();
    acorn::Status st = tokenizer->Encode(prompt, acorn::TokenizeOptions(), &tokens);
    if (!st.ok()) return Fail("cannot encode the prompt: " + st.ToString());
    if (tokens.empty()) return Fail("the prompt encodes to no tokens");
  }
  if ((*model)->tokens_input() < 0 || vocab == 0) return Fail(model_path + ": not a decoder bundle (no tokens input or logits output)");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= vocab) {
      return Fail("token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) + " is outside the vocabulary of " +
                  std::to_string(vocab));
    }
  }
  acorn::SessionOptions so;
  so.threads = threads;
  auto session = acorn::Session::Create(*model, so);
  if (!session.ok()) return Fail(session.status().ToString());
  acorn::Session& s = **session;

  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<float> logits(static_cast<size_t>(logits_out.empty() ? vocab : n * vocab));
  acorn::Status st = s.Forward(tokens.data(), n, logits.data(), !logits_out.empty());
  if (!st.ok()) return Fail(st.ToString());
  if (!logits_out.empty()) {
    st = acorn::WriteNpy(logits_out, logits.data(), {n, vocab});
    if (!st.ok()) return Fail(st.ToString());
  }
  if (greedy > 0) {
    const float* last = logits.data() + (logits_out.empty() ? 0 : (n - 1) * vocab);
    std::vector<float> step(static_cast<size_t>(vocab));
    std::string line;
    for (int g = 0; g < greedy; ++g) {
      const int32_t next = static_cast<int32_t>(std::max_element(last, last + vocab) - last);
      line += (g ? "," : "") + std::to_string(next);
      if (g + 1 == greedy) break;
      st = s.Forward(&next, 1, step.data(), false);
      if (!st.ok()) return Fail(st.ToString());
      last = step.data();
    }
    std::printf("%s\n", line.c_str());
    if (has_prompt) {
      std::vector<int32_t> ids;
      std::stringstream ls(line);
      std::string id;
      while (std::getline(ls, id, ',')) ids.push_back(std::atoi(id.c_str()));
      std::printf("%s\n", (*model)->tokenizer()->Decode(acorn::Span<const int32_t>(ids.data(), ids.size())).c_str());
    }
  }
  return 0;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-run", Main, argc, argv); }

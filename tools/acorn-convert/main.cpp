// acorn-convert: Hugging Face checkpoint directory or GGUF file -> .acorn bundle.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tool_main.h"
#include "acorn/chat_template.h"
#include "acorn/platform.h"
#include "bert_convert.h"
#include "core/limits.h"
#include "input_file.h"
#include "bundle_writer.h"
#include "gguf_import.h"
#include "hf_config.h"
#include "hf_tokenizer.h"
#include "llama_graph.h"
#include "safetensors.h"
#include "verify_bundle.h"

namespace {

const char* kHelp =
    "usage: acorn-convert SRC -o OUT.acorn [options]\n"
    "\n"
    "Converts a Hugging Face model directory (config.json + *.safetensors, optionally sharded with\n"
    "model.safetensors.index.json) of a LLaMA-family decoder (LlamaForCausalLM, MistralForCausalLM,\n"
    "Qwen2ForCausalLM) into one acorn bundle. Weights may be f32, f16 or bf16; tied embeddings,\n"
    "grouped-query attention, q/k/v biases and rope types default, linear and llama3 are supported.\n"
    "A SRC ending in .gguf is read as a GGUF file (v2/v3, llama or bert architecture; tensors F32, F16, BF16,\n"
    "Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, mixed freely): each tensor\n"
    "keeps its own type and is copied without requantization unless --dtype asks for one type for all; the\n"
    "tokenizer and the chat template come along. Other GGUF types (IQ1-IQ3, TQ*, ...) are refused, naming the tensor.\n"
    "\n"
    "Inputs are checked before use (shapes against acorn's limits, finite weights, files inside the\n"
    "checkpoint directory). The bundle is written to a temporary file next to OUT, loaded back and run\n"
    "for one token, and only then renamed to OUT: a bundle the runtime would refuse is never left behind.\n"
    "Exit status: 0 converted, 1 refused or failed (the message says why), 2 bad command line.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE      the bundle to write (required)\n"
    "  --dtype TYPE           weight type for matrices: f32, f16 (default), q8_0, q4_0, q4_1, q5_0,\n"
    "                         q5_1 (block types quantized as llama.cpp's reference quantizers), or a\n"
    "                         llama.cpp preset mix: q2_k, q3_k_s, q3_k_m, q3_k (= q3_k_m), q3_k_l,\n"
    "                         q4_k_s, q4_k_m, q4_k (= q4_k_m), q5_k_s, q5_k_m, q5_k (= q5_k_m), q6_k\n"
    "                         (Q6_K output, more bits for attn_v, attn_output, ffn_down where\n"
    "                         llama-quantize gives them); norms and biases stay f32 (GGUF: default is\n"
    "                         each tensor's own type)\n"
    "  --compress             store the weights zstd-compressed (smaller file, no zero-copy load)\n"
    "  --max-tokens N         tokens per step the arena is planned for (default 128); longer\n"
    "                         prompts are processed in chunks of N\n"
    "  --context N            positions a session can hold (default: min(max_position_embeddings,\n"
    "                         4096)); the KV cache takes layers x 2 x N x kv_heads x head_dim x 4 bytes\n"
    "  --random-weights       ignore any weights: write deterministic random ones of the shapes\n"
    "                         config.json gives (benchmark models; SRC needs only config.json)\n"
    "  --quiet                no progress output\n"
    "  -h, --help             this message\n";

struct Args {
  std::string src, out;
  acorn::convert::ConvertOptions options;
  bool quiet = false;
  bool random = false;
  bool dtype_given = false;
};

int Usage(const char* msg) {
  std::fprintf(stderr, "acorn-convert: %s\n\n%s", msg, kHelp);
  return 2;
}

bool ParseUint(const char* s, uint32_t max, uint32_t* out) {
  if (*s < '0' || *s > '9') return false;  // strtoul would accept "-1" as a huge number
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || v == 0 || v > max) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "acorn-convert: %s\n", message.c_str());
  return 1;
}

int Run(int argc, char** argv);

}  // namespace

// Every error is a message and exit code 1; the handlers below are the last line of defence for an
// exception that escaped a reader (none should), so that it is still not an abort.
static int Main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const nlohmann::json::exception& e) {
    return Fail(std::string("malformed JSON in the input: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Fail("out of memory (the input asks for more memory than this machine has)");
  } catch (const std::exception& e) {
    return Fail(std::string("internal error: ") + e.what());
  }
}

namespace {

int Run(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "-o" || arg == "--output") {
      const char* v = next("-o");
      if (!v) return Usage("-o needs a file name");
      a.out = v;
    } else if (arg == "--dtype") {
      const char* v = next("--dtype");
      acorn::DType d;
      acorn::convert::QuantPreset preset;
      if (v && acorn::convert::ParseQuantPreset(v, &preset)) {  // llama.cpp's mixes; q6_k is one too
        a.options.preset = preset;
        a.options.dtype = acorn::convert::QuantPresetBaseType(preset);
        a.dtype_given = true;
        continue;
      }
      // The K-quants are written only in llama.cpp's preset mixes above; IQ4 is only read.
      if (!v || !acorn::ParseDType(v, &d) || d == acorn::DType::kBF16 || d == acorn::DType::kI32 ||
          d == acorn::DType::kI8 || acorn::GetDTypeInfo(d).block_elems > acorn::kQBlock || d == acorn::DType::kIQ4_NL) {
        return Usage("--dtype must be one of f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k, "
                     "q3_k_l, q4_k_s, q4_k_m, q4_k, q5_k_s, q5_k_m, q5_k, q6_k");
      }
      a.options.dtype = d;
      a.dtype_given = true;
    } else if (arg == "--compress") {
      a.options.compress = true;
    } else if (arg == "--max-tokens") {
      const char* v = next("--max-tokens");
      if (!v || !ParseUint(v, acorn::limits::kMaxTokens, &a.options.max_tokens)) {
        return Usage(("--max-tokens needs a number from 1 to " + std::to_string(acorn::limits::kMaxTokens)).c_str());
      }
    } else if (arg == "--context") {
      const char* v = next("--context");
      if (!v || !ParseUint(v, acorn::limits::kMaxContext, &a.options.context)) {
        return Usage(("--context needs a number from 1 to " + std::to_string(acorn::limits::kMaxContext)).c_str());
      }
    } else if (arg == "--random-weights") {
      a.random = true;
    } else if (arg == "--quiet") {
      a.quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(("unknown option " + arg).c_str());
    } else if (a.src.empty()) {
      a.src = arg;
    } else {
      return Usage(("unexpected argument " + arg).c_str());
    }
  }
  if (a.src.empty()) return Usage("SRC (a Hugging Face model directory) is required");
  if (a.out.empty()) return Usage("-o OUT.acorn is required");
  // A GGUF file must be a regular file (a FIFO would hang the mapping), a checkpoint a directory.
  if (acorn::convert::IsGgufPath(a.src)) {
    acorn::Status st = acorn::tool::CheckRegularFile(a.src, "a GGUF model");
    if (!st.ok()) return Fail(st.message());
  } else {
    struct stat sb;
    if (stat(a.src.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) {
      return Fail(a.src + ": not a directory; SRC must be a Hugging Face model directory or a .gguf file");
    }
  }
  // BERT-family encoders (config.json model_type "bert") take their own path.
  if (!acorn::convert::IsGgufPath(a.src) && acorn::convert::IsBertDirectory(a.src)) {
    return acorn::convert::ConvertBertDirectory(a.src, a.out, a.options, a.random, a.quiet);
  }

  const uint64_t start = acorn::platform::NowNanos();
  std::unique_ptr<acorn::convert::GgufFile> gguf;  // outlives the writer's fills, which read from it
  if (acorn::convert::IsGgufPath(a.src)) {
    auto opened = acorn::convert::GgufFile::Open(a.src);
    if (!opened.ok()) return Fail(opened.status().message());
    gguf = std::move(opened).value();
    auto arch = gguf->GetString("general.architecture", "");
    if (arch.ok() && *arch == "bert") {
      return acorn::convert::ConvertBertGguf(*gguf, a.out, a.options, a.dtype_given, a.quiet);
    }
  }
  auto config = gguf ? acorn::convert::LlamaConfigFromGguf(*gguf) : acorn::convert::ReadLlamaConfig(a.src);
  if (!config.ok()) return Fail(config.status().message());
  acorn::BundleWriter writer;
  acorn::Status st;
  std::unique_ptr<acorn::convert::SafetensorsCheckpoint> ckpt;
  if (a.random) {
    acorn::convert::RandomWeights weights(1234);
    weights.set_tied(config->tie_embeddings);
    writer.SetString("general.source", "random weights (acorn-convert --random-weights)");
    st = acorn::convert::BuildLlamaBundle(*config, weights, a.options, &writer);
  } else if (gguf) {
    st = acorn::convert::ImportGguf(*gguf, *config, a.dtype_given, a.quiet, &a.options, &writer);
  } else {
    auto opened = acorn::convert::SafetensorsCheckpoint::Open(a.src);
    if (!opened.ok()) return Fail(opened.status().message());
    ckpt = std::move(opened).value();
    st = acorn::convert::BuildLlamaBundle(*config, acorn::convert::CheckpointWeights(*ckpt), a.options, &writer);
  }
  if (!st.ok()) return Fail(a.src + ": " + st.message());
  // The tokenizer and chat template of a Hugging Face directory (GGUF files carry their own).
  std::string tokenizer = "from the GGUF file";
  if (!gguf) {
    st = acorn::convert::AttachHfTokenizer(a.src, &writer, &tokenizer);
    if (!st.ok()) return Fail(st.message());
    if (tokenizer == "none" && !a.quiet) {
      std::fprintf(stderr, "acorn-convert: note: %s has no tokenizer.json or tokenizer.model; the bundle will take "
                   "token ids only\n", a.src.c_str());
    }
  }
  // A template acorn cannot render is kept (a later acorn may), but the user hears about it now.
  if (!a.quiet && !writer.chat_template().empty()) {
    std::string bos, eos;
    (void)writer.GetString("tokenizer.bos_token", &bos);  // absent: the template sees none
    (void)writer.GetString("tokenizer.eos_token", &eos);
    auto chat = acorn::ChatTemplate::Parse(writer.chat_template(), bos, eos);
    acorn::Status rendered = chat.ok() ? chat->Render({{"user", "Hello"}}, true).status() : chat.status();
    if (!rendered.ok()) {
      std::fprintf(stderr, "acorn-convert: note: the chat template is kept, but acorn cannot render it (%s); "
                   "acorn-chat will refuse this bundle, acorn-run takes raw prompts\n", rendered.message().c_str());
    }
  }
  if (!a.quiet) {
    std::fprintf(stderr, "acorn-convert: %s (%lld layers, hidden %lld, vocab %lld) -> %s as %s\n",
                 config->architecture.c_str(), static_cast<long long>(config->layers),
                 static_cast<long long>(config->hidden), static_cast<long long>(config->vocab), a.out.c_str(),
                 acorn::DTypeName(a.options.dtype));
  }
  st = acorn::convert::WriteVerified(&writer, a.out, a.quiet);
  if (!st.ok()) return Fail(st.message());
  if (!a.quiet) {
    std::fprintf(stderr, "acorn-convert: wrote %s in %.1f s\n", a.out.c_str(),
                 (acorn::platform::NowNanos() - start) / 1e9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-convert", Main, argc, argv); }

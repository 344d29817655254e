// acorn-chat: a terminal chat with a model bundle. Reads like a tour of the public API: load a
// Model, open a Chat (which owns a Session), and stream each reply through a callback.
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "tool_main.h"
#include "acorn/chat.h"
#include "acorn/model.h"
#include "acorn/platform.h"

namespace {

const char* kHelp =
    "usage: acorn-chat --model M.acorn [options]\n"
    "\n"
    "Chats with a model bundle in the terminal, streaming each reply. Typed lines are your messages;\n"
    "commands: /reset (forget the conversation), /stats (speed of the last reply), /quit.\n"
    "Ctrl-C stops the current reply and keeps the conversation; Ctrl-C at the prompt quits.\n"
    "With --prompt, or with lines on standard input that is not a terminal, it answers and exits.\n"
    "\n"
    "options:\n"
    "  --model FILE          the bundle (needs a tokenizer and a chat template)\n"
    "  --system TEXT         system prompt\n"
    "  --prompt TEXT         answer this one message and exit\n"
    "  --max-tokens N        reply length limit (default 256)\n"
    "  --temp T              temperature; 0 is greedy (default 0.7)\n"
    "  --top-k K             (default 40; 0 off)      --top-p P   (default 0.95)\n"
    "  --min-p P             (default 0.05)           --repeat-penalty R (default 1.1)\n"
    "  --seed S              sampling seed; same seed, same output (default 0)\n"
    "  --sliding-window      drop the oldest turns when the context is full, instead of an error\n"
    "  --threads N           CPU threads (default: all)\n"
    "  --backend LIST        backend preference: cuda, cpu, reference (default cpu); \"cuda,cpu\"\n"
    "                        runs on the GPU where there is one and on the CPU elsewhere\n"
    "  --no-mmap             read the model into memory instead of mapping it: for a file that may\n"
    "                        change or be truncated while acorn runs (see docs/FORMAT.md)\n"
    "  --color / --no-color  force colours on or off (default: on when stdout is a terminal)\n"
    "  -h, --help            this message\n";

std::atomic<bool> g_interrupted{false};
void OnSigint(int) { g_interrupted = true; }

int Fail(const std::string& msg) {
  std::fprintf(stderr, "acorn-chat: %s\n", msg.c_str());
  return 1;
}

}  // namespace

static int Main(int argc, char** argv) {
  std::string model_path, prompt, backends = "cpu";
  bool has_prompt = false;
  int threads = 0, color = -1;
  bool no_mmap = false;
  acorn::ChatOptions options;
  options.generate.sampler.temperature = 0.7f;
  options.generate.sampler.repetition_penalty = 1.1f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool v = i + 1 < argc;
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--model" && v) {
      model_path = argv[++i];
    } else if (a == "--system" && v) {
      options.system_prompt = argv[++i];
    } else if (a == "--prompt" && v) {
      prompt = argv[++i];
      has_prompt = true;
    } else if (a == "--max-tokens" && v) {
      options.generate.max_new_tokens = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--temp" && v) {
      options.generate.sampler.temperature = static_cast<float>(std::atof(argv[++i]));
    } else if (a == "--top-k" && v) {
      options.generate.sampler.top_k = std::atoi(argv[++i]);
    } else if (a == "--top-p" && v) {
      options.generate.sampler.top_p = static_cast<float>(std::atof(argv[++i]));
    } else if (a == "--min-p" && v) {
      options.generate.sampler.min_p = static_cast<float>(std::atof(argv[++i]));
    } else if (a == "--repeat-penalty" && v) {
      options.generate.sampler.repetition_penalty = static_cast<float>(std::atof(argv[++i]));
    } else if (a == "--seed" && v) {
      options.generate.sampler.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--sliding-window") {
      options.sliding_window = true;
    } else if (a == "--threads" && v) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--backend" && v) {
      backends = argv[++i];
    } else if (a == "--no-mmap") {
      no_mmap = true;
    } else if (a == "--color") {
      color = 1;
    } else if (a == "--no-color") {
      color = 0;
    } else {
      std::fprintf(stderr, "acorn-chat: unknown or incomplete option '%s'\n\n%s", a.c_str(), kHelp);
      return 2;
    }
  }
  if (model_path.empty()) {
    std::fprintf(stderr, "acorn-chat: --model is required\n\n%s", kHelp);
    return 2;
  }
  const bool interactive = !has_prompt && isatty(STDIN_FILENO);
  const bool colors = color >= 0 ? color == 1 : isatty(STDOUT_FILENO) != 0;
  const char* c_user = colors ? "\033[1;32m" : "";
  const char* c_info = colors ? "\033[2m" : "";
  const char* c_off = colors ? "\033[0m" : "";

  acorn::ModelOptions model_options;
  if (no_mmap) model_options.load_mode = acorn::LoadMode::kRead;
  if (acorn::Status st = acorn::ParseBackendList(backends, &model_options.backends); !st.ok()) return Fail(st.message());
  const uint64_t load_start = acorn::platform::NowNanos();
  auto model = acorn::Model::Load(model_path.c_str(), model_options);
  if (!model.ok()) return Fail(model.status().ToString());
  acorn::SessionOptions session_options;
  session_options.threads = threads;
  auto chat = acorn::Chat::Create(*model, session_options, options);
  if (!chat.ok()) return Fail(chat.status().ToString());
  const double load_ms = (acorn::platform::NowNanos() - load_start) / 1e6;
  if (interactive) {
    std::printf("%sacorn-chat: %s loaded in %.0f ms (%s template, context %lld). /reset /stats /quit, Ctrl-C stops a reply.%s\n",
                c_info, model_path.c_str(), load_ms, acorn::ChatFamilyName((*chat)->family()),
                static_cast<long long>((*chat)->session().context_length()), c_off);
  }
  // No SA_RESTART: Ctrl-C at the prompt interrupts the read, which ends the chat.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSigint;
  sigaction(SIGINT, &sa, nullptr);

  acorn::GenerateResult last;
  bool have_last = false;
  auto reply = [&](const std::string& text) -> bool {
    g_interrupted = false;
    acorn::GenerateResult result;
    acorn::Status st = (*chat)->Reply(
        text,
        [&](const std::string& piece) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
          return !g_interrupted.load();
        },
        &result);
    std::printf("\n");
    if (!st.ok()) {
      std::fprintf(stderr, "acorn-chat: %s\n", st.message().c_str());
      return false;
    }
    if (result.reason == acorn::StopReason::kCancelled && interactive) std::printf("%s[stopped]%s\n", c_info, c_off);
    if (result.reason == acorn::StopReason::kContextFull) {
      std::printf("%s[the context is full: /reset, or restart with --sliding-window]%s\n", c_info, c_off);
    }
    last = result;
    have_last = true;
    return true;
  };

  if (has_prompt) return reply(prompt) ? 0 : 1;

  std::string line;
  bool ok = true;
  for (;;) {
    if (interactive) {
      std::printf("%s> %s", c_user, c_off);
      std::fflush(stdout);
    }
    g_interrupted = false;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      (*chat)->Reset();
      std::printf("%s[conversation reset]%s\n", c_info, c_off);
      continue;
    }
    if (line == "/stats") {
      if (!have_last) {
        std::printf("%s[no reply yet]%s\n", c_info, c_off);
        continue;
      }
      const acorn::GenerateStats& s = last.stats;
      std::printf("%sload %.0f ms | prompt %lld tokens, time to first token %.0f ms (%.1f t/s) | reply %lld tokens "
                  "at %.1f t/s (%s) | context used %lld / %lld%s\n",
                  c_info, load_ms, static_cast<long long>(s.prompt_tokens), s.prefill_ms, s.PrefillTokensPerSecond(),
                  static_cast<long long>(s.generated_tokens), s.DecodeTokensPerSecond(), acorn::StopReasonName(last.reason),
                  static_cast<long long>((*chat)->session().position()),
                  static_cast<long long>((*chat)->session().context_length()), c_off);
      continue;
    }
    if (interactive) std::printf("%s", c_off);
    ok = reply(line) && ok;
    if (!interactive && !ok) break;
  }
  return ok ? 0 : 1;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-chat", Main, argc, argv); }

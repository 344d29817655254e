// acorn-bench: prompt processing (ppN) and generation (tgN) speed of a decoder bundle, in the
// manner of llama-bench: each test repeated, the median reported, with peak memory.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tool_main.h"
#include "acorn/model.h"
#include "acorn/platform.h"
#include "cpu/cpu_kernels.h"
#include "cpu/thread_pool.h"
#include "interpreter/bound_graph.h"

namespace {

const char* kHelp =
    "usage: acorn-bench -m M.acorn [options]\n"
    "\n"
    "Measures prompt processing (pp: one prompt of P tokens, from an empty context) and text\n"
    "generation (tg: N single-token steps from an empty context) in tokens per second.\n"
    "Each test runs once to warm up, then R times; the median and the spread are printed.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE     the bundle\n"
    "  -p, --n-prompt LIST  prompt lengths, comma-separated (default 512; 0 skips)\n"
    "  -n, --n-gen LIST     generation lengths (default 128; 0 skips)\n"
    "  -t, --threads LIST   thread counts (default: all hardware threads)\n"
    "  -r, --repetitions R  measured runs per test (default 5)\n"
    "  --backend LIST       backend preference: cuda, cpu, reference (default cpu); ops the first\n"
    "                       lacks go to the next\n"
    "  --zero-copy          cuda: use the weights in place from the mapped file instead of\n"
    "                       uploading them (the integrated-GPU path; slow on a discrete GPU)\n"
    "  --no-fuse            cuda: one kernel per op (to see what fusion gains)\n"
    "  --no-graphs          cuda: launch one-token steps' kernels directly, not from a graph\n"
    "  --profile            print where each test's time went: cpu/reference, per op (name with\n"
    "                       layers folded, time, rate of weight reads); cuda, per kernel launch\n"
    "                       (graphs off). Adds a little time of its own\n"
    "  --bf16               cpu: multiply f32/f16 weights in bf16 where the CPU has AMX-BF16\n"
    "                       (ModelOptions::cpu_bf16_products; faster prompts, 8-bit factors)\n"
    "  --cpu-isa NAME       the CPU kernels' instruction-set path: scalar, avx2, avx512, amx (x86-64);\n"
    "                       neon, neon_dotprod, neon_i8mm (ARM64). Default: the best this CPU runs\n"
    "  --bandwidth          also measure memory bandwidth, the decode limit: streaming reads with\n"
    "                       each thread count, and with --backend cuda the device's copy rate\n"
    "                       (bytes read + written); needs no model\n"
    "  -h, --help           this message\n";

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Sums n 64-bit words (n a multiple of 32) in four 64-byte vector accumulators, so that the loop
// issues full-width loads with no dependency chain: it must be limited by memory, not by the core
// (a scalar loop was, at about 11 GB/s per core). On x86-64 the compiler makes an AVX-512, an AVX2
// and a baseline copy and the loader picks the best this CPU runs.
using Words64 = uint64_t __attribute__((vector_size(64)));
#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : defined(__GNUC__))
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
uint64_t SumWords(const uint64_t* p, size_t n) {
  Words64 acc[4] = {};
  for (size_t i = 0; i < n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      Words64 v;
      std::memcpy(&v, p + i + 8 * j, sizeof v);
      acc[j] += v;
    }
  }
  const Words64 s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  uint64_t total = 0;
  for (int j = 0; j < 8; ++j) total += s[j];
  return total;
}

// Streaming read bandwidth: every thread sums its share of a buffer far larger than the caches
// (read only, all threads at once, median of the repetitions after one warm-up pass). This is the
// physical limit of batch-1 decode, which reads every weight once per token. The buffer comes from
// LargeAlloc, in large pages where the system grants them, as the weights repacked at load do.
double ReadBandwidthGBs(int threads, int reps) {
  const size_t bytes = size_t{1} << 30;
  const size_t n = bytes / sizeof(uint64_t);
  uint64_t* buf = static_cast<uint64_t*>(acorn::platform::LargeAlloc(bytes));
  if (buf == nullptr) return 0;
  for (size_t i = 0; i < n; ++i) buf[i] = i;
  auto made = acorn::cpu::ThreadPool::Create(threads);
  if (!made.ok()) {
    std::fprintf(stderr, "acorn-bench: %s\n", made.status().ToString().c_str());
    acorn::platform::LargeFree(buf, bytes);
    return 0;
  }
  acorn::cpu::ThreadPool& pool = **made;
  std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);
  std::vector<double> rates;
  for (int r = 0; r <= reps; ++r) {
    // Items of 32 words (4 vectors of 64 bytes).
    auto body = [&](int64_t begin, int64_t end) {
      const uint64_t sum = SumWords(buf + begin * 32, static_cast<size_t>(end - begin) * 32);
      sums[static_cast<size_t>(begin * threads / static_cast<int64_t>(n / 32)) * 8] += sum;
    };
    const uint64_t start = acorn::platform::NowNanos();
    acorn::cpu::ParallelFor(&pool, static_cast<int64_t>(n / 32), body);
    const double sec = (acorn::platform::NowNanos() - start) / 1e9;
    if (r > 0) rates.push_back(bytes / sec / 1e9);
  }
  acorn::platform::LargeFree(buf, bytes);
  return Median(rates);
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "acorn-bench: %s\n", msg.c_str());
  return 1;
}

}  // namespace

static int Main(int argc, char** argv) {
  std::string model_path, backends = "cpu";
  std::vector<int> prompts = {512}, gens = {128}, threads = {acorn::platform::HardwareThreads()};
  int reps = 5;
  bool bandwidth = false, zero_copy = false, fuse = true, graphs = true, profile = false, bf16 = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool v = i + 1 < argc;
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if ((a == "-m" || a == "--model") && v) {
      model_path = argv[++i];
    } else if ((a == "-p" || a == "--n-prompt") && v) {
      prompts = ParseList(argv[++i]);
    } else if ((a == "-n" || a == "--n-gen") && v) {
      gens = ParseList(argv[++i]);
    } else if ((a == "-t" || a == "--threads") && v) {
      threads = ParseList(argv[++i]);
    } else if ((a == "-r" || a == "--repetitions") && v) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--bandwidth") {
      bandwidth = true;
    } else if (a == "--zero-copy") {
      zero_copy = true;
    } else if (a == "--no-fuse") {
      fuse = false;
    } else if (a == "--no-graphs") {
      graphs = false;
    } else if (a == "--profile") {
      profile = true;
    } else if (a == "--bf16") {
      bf16 = true;
    } else if (a == "--backend" && v) {
      backends = argv[++i];
    } else if (a == "--cpu-isa" && v) {
      const std::string name = argv[++i];
      std::string supported;
      bool known = false;
      for (acorn::cpu::Isa isa : acorn::cpu::kAllIsas) {
        if (acorn::cpu::IsaSupported(isa)) supported += std::string(supported.empty() ? "" : ", ") + acorn::cpu::IsaName(isa);
        if (name == acorn::cpu::IsaName(isa)) known = true;
      }
      bool forced = false;
      for (acorn::cpu::Isa isa : acorn::cpu::kAllIsas) {
        if (name == acorn::cpu::IsaName(isa)) forced = acorn::cpu::ForceIsa(isa);
      }
      if (!forced) {
        return Fail("--cpu-isa " + name + (known ? ": this CPU does not run it" : ": no such path") +
                    "; this CPU runs: " + supported);
      }
    } else {
      std::fprintf(stderr, "acorn-bench: unknown or incomplete option '%s'\n\n%s", a.c_str(), kHelp);
      return 2;
    }
  }
  acorn::ModelOptions options;
  if (acorn::Status st = acorn::ParseBackendList(backends, &options.backends); !st.ok()) return Fail(st.message());
  options.accelerator.zero_copy = zero_copy;
  options.accelerator.fuse = fuse;
  options.accelerator.graphs = graphs;
  options.accelerator.profile = profile;
  options.cpu_bf16_products = bf16;
  if (bandwidth) {
    for (int t : threads) std::printf("memory read bandwidth, %d threads: %.1f GB/s (median of %d)\n", t, ReadBandwidthGBs(t, reps), reps);
    for (acorn::Backend b : options.backends) {
      acorn::Accelerator* acc = acorn::FindAccelerator(b);
      if (acc == nullptr) continue;
      auto gbs = acc->MemoryBandwidthGBs(options.accelerator);
      if (!gbs.ok()) return Fail(gbs.status().ToString());
      std::printf("%s device memory bandwidth (copy, bytes read + written): %.0f GB/s (median of %d)\n",
                  acorn::BackendName(b), *gbs, reps);
    }
    if (model_path.empty()) return 0;
  }
  if (model_path.empty()) {
    std::fprintf(stderr, "acorn-bench: -m MODEL is required\n\n%s", kHelp);
    return 2;
  }
  const uint64_t load_start = acorn::platform::NowNanos();
  auto model = acorn::Model::Load(model_path.c_str(), options);
  if (!model.ok()) return Fail(model.status().ToString());
  const double load_ms = (acorn::platform::NowNanos() - load_start) / 1e6;
  const acorn::Bundle& bundle = (*model)->bundle();
  const int64_t vocab = (*model)->vocab_size();
  if ((*model)->tokens_input() < 0 || vocab == 0) return Fail("not a decoder bundle");
  uint64_t weight_bytes = 0;
  for (const acorn::TensorDesc& t : bundle.tensors()) {
    if (t.storage == acorn::Storage::kConstant) weight_bytes += t.max_bytes;
  }
  std::string dtype = "?";
  bundle.GetString("general.weight_dtype", &dtype);
  std::printf("model: %s (%s, %.2f GiB of weights, context %u, max %u tokens per step), load %.1f ms, CPU path %s\n",
              model_path.c_str(), dtype.c_str(), weight_bytes / 1073741824.0, bundle.context_length(),
              bundle.max_tokens(), load_ms, acorn::cpu::IsaName(acorn::cpu::ActiveIsa()));
  if (const acorn::DeviceModel* dev = (*model)->bound().device_model.get()) {
    if (dev->zero_copy()) {
      std::printf("device: %s, weights used in place (zero-copy)\n", dev->device_name().c_str());
    } else {
      std::printf("device: %s, weights uploaded: %.2f GiB in %.0f ms\n", dev->device_name().c_str(),
                  dev->uploaded_bytes() / 1073741824.0, dev->upload_ms());
    }
  }
  std::printf("| backend | threads | test | t/s (median) | min | max | runs |\n|---|---|---|---|---|---|---|\n");

  for (int t : threads) {
    acorn::SessionOptions so;
    so.threads = t;
    so.profile = profile;
    auto session = acorn::Session::Create(*model, so);
    if (!session.ok()) return Fail(session.status().ToString());
    acorn::Session& s = **session;
    std::vector<int32_t> ids;
    uint32_t state = 12345;
    auto next_id = [&]() {
      state = state * 1664525u + 1013904223u;
      return static_cast<int32_t>((state >> 8) % static_cast<uint32_t>(vocab));
    };
    auto run_test = [&](bool prompt, int n) -> int {
      if (n <= 0) return 0;
      if (static_cast<int64_t>(n) + (prompt ? 0 : 1) > s.context_length()) {
        std::fprintf(stderr, "acorn-bench: %s%d needs a context of %d; the bundle has %lld (convert with --context)\n",
                     prompt ? "pp" : "tg", n, n, static_cast<long long>(s.context_length()));
        return 1;
      }
      std::vector<double> rates;
      for (int r = 0; r <= reps; ++r) {  // run 0 warms up
        s.Reset();
        ids.resize(static_cast<size_t>(n));
        for (int32_t& id : ids) id = next_id();
        const uint64_t start = acorn::platform::NowNanos();
        acorn::Status st;
        if (prompt) {
          st = s.Forward(ids.data(), n, nullptr, false);
        } else {
          for (int k = 0; k < n && st.ok(); ++k) st = s.Forward(&ids[k], 1, nullptr, false);
        }
        if (!st.ok()) {
          std::fprintf(stderr, "acorn-bench: %s\n", st.ToString().c_str());
          return 1;
        }
        const double sec = (acorn::platform::NowNanos() - start) / 1e9;
        if (r > 0) rates.push_back(n / sec);
      }
      std::printf("| %s | %d | %s%d | %.2f | %.2f | %.2f | %d |\n", backends.c_str(), t, prompt ? "pp" : "tg", n,
                  Median(rates), *std::min_element(rates.begin(), rates.end()),
                  *std::max_element(rates.begin(), rates.end()), reps);
      for (const std::string& report : {s.HostProfile(), s.DeviceProfile()}) {
        if (!report.empty()) std::printf("%s%d:\n%s", prompt ? "pp" : "tg", n, report.c_str());
      }
      std::fflush(stdout);
      return 0;
    };
    for (int p : prompts) {
      if (run_test(true, p)) return 1;
    }
    for (int g : gens) {
      if (run_test(false, g)) return 1;
    }
  }
  const uint64_t arena = (*model)->plan().arena_bytes;
  std::printf("peak RSS %.1f MiB (weights %.1f MiB mapped, arena %.1f MiB)\n",
              acorn::platform::PeakRssBytes() / 1048576.0, weight_bytes / 1048576.0, arena / 1048576.0);
  return 0;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-bench", Main, argc, argv); }

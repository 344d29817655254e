// acorn-bert-bench: sentences per second of an encoder bundle at a given batch size and sequence
// length (random ids, [CLS] first and [SEP] last), embeddings only. Used by scripts/bench_bert.sh.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "acorn/encoder.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: acorn-bert-bench MODEL.acorn BATCH SEQ_LEN [THREADS] [SECONDS] [--profile]\n"
                         "  --profile: also print where the time went, per op (Session::HostProfile)\n");
    return 2;
  }
  const int batch = std::atoi(argv[2]), len = std::atoi(argv[3]);
  const int threads = argc > 4 ? std::atoi(argv[4]) : 0;
  const double seconds = argc > 5 ? std::atof(argv[5]) : 3.0;
  auto model = acorn::Model::Load(argv[1]);
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().ToString().c_str()), 1;
  acorn::SessionOptions so;
  so.threads = threads;
  so.profile = argc > 6 && std::string(argv[6]) == "--profile";
  auto encoder = acorn::Encoder::Create(*model, so);
  if (!encoder.ok()) return std::fprintf(stderr, "%s\n", encoder.status().ToString().c_str()), 1;
  std::vector<std::vector<int32_t>> ids(batch, std::vector<int32_t>(len));
  uint32_t seed = 1;
  for (auto& s : ids) {
    for (auto& t : s) t = 1000 + static_cast<int32_t>((seed = seed * 1664525u + 1013904223u) >> 20) % 20000;
    s.front() = 101;
    s.back() = 102;
  }
  std::vector<acorn::EncoderInput> in(batch);
  for (int i = 0; i < batch; ++i) in[i].ids = acorn::Span<const int32_t>(ids[i].data(), ids[i].size());
  acorn::EncodeOptions eo;
  eo.hidden_states = false;
  std::vector<acorn::EncoderOutput> out;
  auto run = [&] {
    acorn::Status st = (*encoder)->Encode(acorn::Span<const acorn::EncoderInput>(in.data(), in.size()), &out, eo);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      std::exit(1);
    }
  };
  run();  // warm-up
  (void)(*encoder)->HostProfile();  // the profile covers the measured runs
  int iters = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || iters < 3) {
    run();
    ++iters;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::printf("acorn batch %d len %d: %.1f sentences/s (%d batches, %.3f s)\n", batch, len, iters * batch / elapsed, iters,
              elapsed);
  std::printf("%s", (*encoder)->HostProfile().c_str());
  return 0;
}

// acorn-bert-bench: sentences per second of an encoder bundle at a given batch size and sequence
// length (random ids, [CLS] first and [SEP] last), embeddings only. Used by scripts/bench_bert.sh.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "acorn/encoder.h"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  bool profile = false, bf16 = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--profile") {
      profile = true;
    } else if (a == "--bf16") {
      bf16 = true;
    } else {
      args.push_back(a);
    }
  }
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: acorn-bert-bench MODEL.acorn BATCH SEQ_LEN [THREADS] [SECONDS] [--profile] [--bf16]\n"
                         "  --profile: also print where the time went, per op (Session::HostProfile)\n"
                         "  --bf16: multiply f32/f16 weights in bf16 where the CPU has AMX-BF16\n"
                         "          (ModelOptions::cpu_bf16_products; the profile's weights column says where)\n");
    return 2;
  }
  const int batch = std::atoi(args[1].c_str()), len = std::atoi(args[2].c_str());
  const int threads = args.size() > 3 ? std::atoi(args[3].c_str()) : 0;
  const double seconds = args.size() > 4 ? std::atof(args[4].c_str()) : 3.0;
  acorn::ModelOptions mo;
  mo.cpu_bf16_products = bf16;
  auto model = acorn::Model::Load(args[0].c_str(), mo);
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().ToString().c_str()), 1;
  acorn::SessionOptions so;
  so.threads = threads;
  so.profile = profile;
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
  if (bf16) {
    // What the bf16 products cost in accuracy: these embeddings against f32 products' (cosine of
    // normalized vectors, the worst sentence of the batch).
    auto f32_model = acorn::Model::Load(args[0].c_str());
    if (!f32_model.ok()) return std::fprintf(stderr, "%s\n", f32_model.status().ToString().c_str()), 1;
    acorn::SessionOptions fo;
    fo.threads = threads;
    auto f32_encoder = acorn::Encoder::Create(*f32_model, fo);
    if (!f32_encoder.ok()) return std::fprintf(stderr, "%s\n", f32_encoder.status().ToString().c_str()), 1;
    std::vector<acorn::EncoderOutput> want;
    acorn::Status st = (*f32_encoder)->Encode(acorn::Span<const acorn::EncoderInput>(in.data(), in.size()), &want, eo);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
    double worst = 1.0;
    for (int i = 0; i < batch; ++i) {
      double dot = 0, a2 = 0, b2 = 0;
      for (size_t k = 0; k < out[i].embedding.size(); ++k) {
        dot += static_cast<double>(out[i].embedding[k]) * want[i].embedding[k];
        a2 += static_cast<double>(out[i].embedding[k]) * out[i].embedding[k];
        b2 += static_cast<double>(want[i].embedding[k]) * want[i].embedding[k];
      }
      const double cos = dot / std::sqrt(a2 * b2);
      worst = cos < worst ? cos : worst;
    }
    std::printf("embeddings against f32 products: min cosine %.6f over %d sentences\n", worst, batch);
  }
  return 0;
}

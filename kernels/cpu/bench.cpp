// acorn_kernel_bench: MatMul throughput on this machine. Decode (T=1) is memory-bound, so it is
// reported as GB/s of weights streamed; prefill (T tokens, default 64) as GFLOP/s (2*T*K*N flops),
// with the weights in cache (hot) and streamed from memory (cold).
//   acorn_kernel_bench [K N [dtype [isa [T]]]]
// defaults: K=2048 N=8192, every weight type ("all": the block types, f16, f32), the best ("best")
// ISA (scalar, avx2, avx512).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "acorn/half.h"
#include "cpu_kernels.h"
#include "reference_kernels.h"
#include "row_bytes.h"

namespace {

using acorn::DType;
using Clock = std::chrono::steady_clock;

const char* Name(DType t) { return acorn::DTypeName(t); }

std::vector<uint8_t> MakeWeights(DType wtype, int64_t K, int64_t N, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(K));
  const size_t row_bytes = acorn::kernels::StoredRowBytes(wtype, K);
  std::vector<uint8_t> w(row_bytes * N);
  for (int64_t n = 0; n < N; ++n) {
    for (float& v : row) v = dist(rng);
    uint8_t* dst = w.data() + n * row_bytes;
    if (!acorn::ref::QuantizeRow(wtype, row.data(), dst, K)) {
      // IQ4 (read, not written): random quants and scales under a small fp16 d at the block's start.
      const size_t block = acorn::GetDTypeInfo(wtype).block_bytes;
      for (size_t i = 0; i < row_bytes; ++i) dst[i] = static_cast<uint8_t>(rng());
      for (size_t b = 0; b < row_bytes; b += block) {
        const uint16_t d = acorn::F32ToF16(0.01f);
        std::memcpy(dst + b, &d, 2);
      }
    }
  }
  return w;
}

// Best of several runs, in seconds: the machine's capability, not its noise (other processes
// share these cores). Each run uses the next of `copies` weight buffers: one buffer measures
// weights in cache ("hot"); enough buffers to exceed the last-level cache measure streaming from
// memory ("cold"), as in a real decode step.
double TimeMatMul(acorn::cpu::ThreadPool* pool, int64_t T, int64_t K, int64_t N,
                  const std::vector<std::vector<uint8_t>>& copies, DType wtype, double min_seconds,
                  bool panels = false) {
  std::vector<float> x(static_cast<size_t>(T * K)), y(static_cast<size_t>(T * N));
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  std::vector<uint8_t> scratch(acorn::cpu::MatMulScratchBytes(T, K, wtype, pool ? pool->size() : 1) + 1);
  double best = 1e30, total = 0.0;
  const int min_runs = std::max<int>(10, static_cast<int>(copies.size()));
  for (int i = 0; i < min_runs || total < min_seconds; ++i) {
    const std::vector<uint8_t>& w = copies[static_cast<size_t>(i) % copies.size()];
    const auto t0 = Clock::now();
    if (panels) {
      acorn::cpu::MatMulRowPanels(pool, x.data(), T, K, w.data(), wtype, N, nullptr, y.data(), scratch.data());
    } else {
      acorn::cpu::MatMul(pool, x.data(), T, K, w.data(), wtype, N, nullptr, y.data(), scratch.data());
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t K = argc > 2 ? std::atoll(argv[1]) : 2048;
  const int64_t N = argc > 2 ? std::atoll(argv[2]) : 8192;
  const int64_t TP = argc > 5 ? std::atoll(argv[5]) : 64;
  if (argc > 4 && std::strcmp(argv[4], "best") != 0) {
    bool found = false;
    for (acorn::cpu::Isa isa : acorn::cpu::kAllIsas) {
      if (std::strcmp(argv[4], acorn::cpu::IsaName(isa)) == 0) found = acorn::cpu::ForceIsa(isa);
    }
    if (!found) {
      std::fprintf(stderr, "isa %s unknown or not supported here\n", argv[4]);
      return 1;
    }
  }
  std::mt19937 rng(1);
  std::printf("isa %s, K=%lld N=%lld\n", acorn::cpu::IsaName(acorn::cpu::ActiveIsa()), static_cast<long long>(K),
              static_cast<long long>(N));
  const DType types[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_1,  DType::kQ5_0, DType::kQ5_1,
                         DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,  DType::kQ5_K, DType::kQ6_K,
                         DType::kIQ4_NL, DType::kIQ4_XS, DType::kF16, DType::kF32};
  constexpr size_t kColdBytes = size_t{1} << 29;  // 512 MiB of weights: beyond any cache
  for (DType wtype : types) {
    if (argc > 3 && std::strcmp(argv[3], "all") != 0 && std::strcmp(argv[3], Name(wtype)) != 0) continue;
    std::vector<std::vector<uint8_t>> hot(1, MakeWeights(wtype, K, N, rng));
    std::vector<std::vector<uint8_t>> cold((kColdBytes + hot[0].size() - 1) / hot[0].size(), hot[0]);
    const double gb = hot[0].size() * 1e-9;
    for (int threads : {1, 2}) {
      auto made = acorn::cpu::ThreadPool::Create(threads);
      if (!made.ok()) {
        std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
        return 1;
      }
      acorn::cpu::ThreadPool& pool = **made;
      const double s_hot = TimeMatMul(&pool, 1, K, N, hot, wtype, 0.5);
      const double s_cold = TimeMatMul(&pool, 1, K, N, cold, wtype, 0.5);
      const double s64 = TimeMatMul(&pool, TP, K, N, hot, wtype, 0.5);
      const double s64_cold = TimeMatMul(&pool, TP, K, N, cold, wtype, 0.5);
      std::printf("%-5s threads=%d  T=1 hot: %7.1f us %5.1f GB/s  cold: %7.1f us %5.1f GB/s   "
                  "T=%lld hot: %7.2f ms %6.1f GFLOP/s  cold: %6.1f GFLOP/s\n",
                  Name(wtype), threads, s_hot * 1e6, gb / s_hot, s_cold * 1e6, gb / s_cold, static_cast<long long>(TP),
                  s64 * 1e3, 2.0 * TP * K * N / s64 * 1e-9, 2.0 * TP * K * N / s64_cold * 1e-9);
      if (acorn::cpu::MatMulRepacks(wtype)) {  // the layout the CPU backend repacks to at load
        std::vector<std::vector<uint8_t>> p_hot(1, std::vector<uint8_t>(acorn::cpu::RowPanelBytes(wtype, K, N)));
        acorn::cpu::RepackRowPanels(&pool, hot[0].data(), wtype, K, N, p_hot[0].data());
        std::vector<std::vector<uint8_t>> p_cold(cold.size(), p_hot[0]);
        const double r_hot = TimeMatMul(&pool, 1, K, N, p_hot, wtype, 0.5, true);
        const double r_cold = TimeMatMul(&pool, 1, K, N, p_cold, wtype, 0.5, true);
        const double r64 = TimeMatMul(&pool, TP, K, N, p_hot, wtype, 0.5, true);
        const double r64_cold = TimeMatMul(&pool, TP, K, N, p_cold, wtype, 0.5, true);
        std::printf("%-5s threads=%d  T=1 hot: %7.1f us %5.1f GB/s  cold: %7.1f us %5.1f GB/s   "
                    "T=%lld hot: %7.2f ms %6.1f GFLOP/s  cold: %6.1f GFLOP/s  (16-row panels)\n",
                    Name(wtype), threads, r_hot * 1e6, gb / r_hot, r_cold * 1e6, gb / r_cold, static_cast<long long>(TP),
                    r64 * 1e3, 2.0 * TP * K * N / r64 * 1e-9, 2.0 * TP * K * N / r64_cold * 1e-9);
      }
    }
  }
  return 0;
}

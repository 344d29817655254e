// Helpers of the CUDA tests: skipping without a device, device buffers, and the split layout the
// backend repacks q8_0/q4_0 weights into (built here independently, from the layout's definition in
// kernels/cuda/device_types.h).
#pragma once

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstring>
#include <string>
#include <vector>

#include "cuda/device_types.h"

namespace acorn {
namespace test {

// Empty when a CUDA device is usable, else why not.
inline std::string NoGpuReason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable CUDA device (") + cudaGetErrorString(e) + ")";
  }
  return n > 0 ? std::string() : std::string("no CUDA device");
}

#define ACORN_SKIP_WITHOUT_GPU()                                                      \
  do {                                                                                \
    const std::string acorn_no_gpu_ = ::acorn::test::NoGpuReason();                   \
    if (!acorn_no_gpu_.empty()) GTEST_SKIP() << acorn_no_gpu_ << ": GPU test skipped"; \
  } while (0)

// A device allocation, freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes) != cudaSuccess) ptr_ = nullptr;
  }
  template <class T>
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size() * sizeof(T)) {
    if (ptr_) cudaMemcpy(ptr_, host.data(), bytes_, cudaMemcpyHostToDevice);
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  // Fills with a bit pattern that is NaN as float, so that unwritten outputs show.
  void Poison() { cudaMemset(ptr_, 0xff, bytes_); }
  template <class T>
  std::vector<T> Read() const {
    std::vector<T> v(bytes_ / sizeof(T));
    cudaMemcpy(v.data(), ptr_, bytes_, cudaMemcpyDeviceToHost);
    return v;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Waits for the device and returns its error, if any, as text (empty when fine).
inline std::string Sync() {
  const cudaError_t e = cudaDeviceSynchronize();
  return e == cudaSuccess ? std::string() : std::string(cudaGetErrorString(e));
}

// Canonical q8_0/q4_0 rows to the split layout: every block's quants, then every block's scale.
inline std::vector<uint8_t> SplitBlocks(const std::vector<uint8_t>& canonical, DType t, int64_t rows, int64_t cols) {
  const int qb = cuda::SplitQuantBytes(t);
  const int block = t == DType::kQ4_0 ? 18 : 34;
  const int64_t blocks = rows * (cols / kQBlock);
  std::vector<uint8_t> out(cuda::SplitBytes(t, rows, cols), 0);
  const uint64_t scales = cuda::SplitScalesOffset(t, rows, cols);
  for (int64_t i = 0; i < blocks; ++i) {
    std::memcpy(out.data() + scales + i * 2, canonical.data() + i * block, 2);
    std::memcpy(out.data() + i * qb, canonical.data() + i * block + 2, static_cast<size_t>(qb));
  }
  return out;
}

inline cuda::WeightView View(const DeviceBuffer& b, DType t, int64_t rows, int64_t cols, WeightLayout layout) {
  cuda::WeightView w;
  w.data = b.as<const uint8_t>();
  w.rows = rows;
  w.cols = cols;
  w.dtype = t;
  w.layout = layout;
  if (layout == WeightLayout::kSplitBlocks) {
    w.scales = reinterpret_cast<const uint16_t*>(w.data + cuda::SplitScalesOffset(t, rows, cols));
  }
  return w;
}

}  // namespace test
}  // namespace acorn

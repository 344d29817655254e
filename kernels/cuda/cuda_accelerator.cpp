// The CUDA accelerator: finds out whether a usable device is here and hands model preparation to
// CudaModel. No device, a driver older than the runtime this was built with, a device this build
// has no kernels for: each gets its own message, and the interpreter falls back to the next
// backend in the user's list.
#include "cuda_accelerator.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "cuda_check.h"
#include "cuda_model.h"
#include "launchers.h"
#include "program.h"

namespace acorn {
namespace cuda {

namespace {

class CudaAccelerator : public Accelerator {
 public:
  Backend backend() const override { return Backend::kCuda; }

  Status Probe(const AcceleratorOptions& options) override {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      if (e == cudaErrorInsufficientDriver) {
        int runtime = 0;
        cudaRuntimeGetVersion(&runtime);
        return ACORN_ERROR(kUnsupported, "the NVIDIA driver is missing or older than this build's CUDA runtime "
                           "%d.%d needs (%s)", runtime / 1000, runtime % 1000 / 10, cudaGetErrorString(e));
      }
      return ACORN_ERROR(kUnsupported, "no usable CUDA device: %s", cudaGetErrorString(e));
    }
    if (count == 0) return ACORN_ERROR(kUnsupported, "no CUDA device is present");
    if (options.device < 0 || options.device >= count) {
      return ACORN_ERROR(kInvalidArgument, "CUDA device %d does not exist (this machine has %d)", options.device, count);
    }
    ACORN_CUDA_TRY(cudaSetDevice(options.device), "selecting the device");
    std::lock_guard<std::mutex> lock(mu_);
    if (prepared_.size() < static_cast<size_t>(count)) prepared_.resize(static_cast<size_t>(count), false);
    if (!prepared_[options.device]) {  // function attributes are set per device
      ACORN_RETURN_IF_ERROR(PrepareKernels());
      prepared_[options.device] = true;
    }
    return Status::Ok();
  }

  bool unified_memory(const AcceleratorOptions& options) override {
    int integrated = 0;
    if (cudaDeviceGetAttribute(&integrated, cudaDevAttrIntegrated, options.device) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return integrated != 0;
  }

  Result<std::vector<int>> KeepAlive(const DeviceProgramSpec& spec, const AcceleratorOptions& options) override {
    ACORN_ASSIGN_OR_RETURN(Program program, BuildProgram(spec, options.fuse));
    return cuda::KeepAlive(spec, program);
  }

  Result<std::unique_ptr<DeviceModel>> Prepare(const DeviceProgramSpec& spec, const AcceleratorOptions& options) override {
    ACORN_ASSIGN_OR_RETURN(std::unique_ptr<CudaModel> model, CudaModel::Create(spec, options));
    return std::unique_ptr<DeviceModel>(std::move(model));
  }

  Result<double> MemoryBandwidthGBs(const AcceleratorOptions& options) override {
    ACORN_RETURN_IF_ERROR(Probe(options));
    const size_t bytes = size_t{2} << 30;
    void* a = nullptr;
    void* b = nullptr;
    ACORN_CUDA_TRY(cudaMalloc(&a, bytes), "allocating a bandwidth buffer");
    Status st = CudaStatus(cudaMalloc(&b, bytes), "allocating a bandwidth buffer");
    cudaEvent_t start = nullptr, stop = nullptr;
    std::vector<double> rates;
    if (st.ok()) st = CudaStatus(cudaMemset(a, 1, bytes), "filling a bandwidth buffer");
    if (st.ok()) st = CudaStatus(cudaEventCreate(&start), "creating an event");
    if (st.ok()) st = CudaStatus(cudaEventCreate(&stop), "creating an event");
    for (int r = 0; r < 11 && st.ok(); ++r) {  // the first run warms up
      cudaEventRecord(start);
      cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
      cudaEventRecord(stop);
      st = CudaStatus(cudaEventSynchronize(stop), "timing a device copy");
      float ms = 0;
      if (st.ok()) cudaEventElapsedTime(&ms, start, stop);
      if (st.ok() && r > 0) rates.push_back(2.0 * bytes / (ms * 1e-3) / 1e9);
    }
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (a) cudaFree(a);
    if (b) cudaFree(b);
    ACORN_RETURN_IF_ERROR(st);
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  }

 private:
  std::mutex mu_;
  std::vector<bool> prepared_;
};

}  // namespace

Accelerator* GetAccelerator() {
  static CudaAccelerator accelerator;
  return &accelerator;
}

}  // namespace cuda
}  // namespace acorn

// CudaModel: the weights the CUDA ops read, placed once per model, and the launch plan.
#include "cuda_model.h"

#include <algorithm>
#include <cstring>

#include "acorn/platform.h"
#include "acorn_generated.h"
#include "cuda_check.h"

namespace acorn {
namespace cuda {

namespace {

bool IsHost(Backend b) { return b == Backend::kCpu || b == Backend::kReference; }
uint64_t Align256(uint64_t v) { return (v + 255) / 256 * 256; }

// q8_0/q4_0 matrices are repacked for the device: quants and scales in separate arrays.
bool Splits(const TensorDesc& d) {
  return (d.dtype == DType::kQ8_0 || d.dtype == DType::kQ4_0) && d.rank == 2 && d.shape[1] % kQBlock == 0;
}

std::string MiB(uint64_t bytes) { return StrFormat("%.1f MiB", bytes / 1048576.0); }

}  // namespace

Result<std::unique_ptr<CudaModel>> CudaModel::Create(const DeviceProgramSpec& spec, const AcceleratorOptions& options) {
  std::unique_ptr<CudaModel> m(new CudaModel());
  m->spec_ = spec;
  m->options_ = options;
  ACORN_CUDA_TRY(cudaSetDevice(options.device), "selecting the device");
  cudaDeviceProp prop;
  ACORN_CUDA_TRY(cudaGetDeviceProperties(&prop, options.device), "reading the device's properties");
  m->device_name_ = prop.name;
  ACORN_ASSIGN_OR_RETURN(m->program_, BuildProgram(spec, options.fuse));

  const Bundle& b = *spec.bundle;
  std::vector<uint8_t> used(b.tensors().size(), 0);
  for (const OpSegment& seg : spec.segments) {
    if (IsHost(seg.backend)) continue;
    for (int i = seg.begin; i < seg.end; ++i) {
      for (uint32_t t : spec.ops[i].op->inputs) {
        if (b.tensors()[t].storage == Storage::kConstant) used[t] = 1;
      }
    }
  }
  m->constants_.resize(b.tensors().size());
  ACORN_RETURN_IF_ERROR(options.zero_copy ? m->Register(used) : m->Upload(used));
  return m;
}

CudaModel::~CudaModel() {
  cudaSetDevice(options_.device);
  if (device_weights_ != nullptr) cudaFree(device_weights_);
  for (void* p : registered_) cudaHostUnregister(p);
  cudaGetLastError();
}

// Discrete GPU: one device allocation for every weight the device reads, filled through two pinned
// staging buffers so that reading the file and the transfer overlap.
Status CudaModel::Upload(const std::vector<uint8_t>& used) {
  const Bundle& b = *spec_.bundle;
  const std::vector<TensorDesc>& tensors = b.tensors();
  std::vector<uint64_t> offset(tensors.size(), 0);
  uint64_t total = 0;
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (!used[t]) continue;
    const TensorDesc& d = tensors[t];
    offset[t] = total;
    total = Align256(total + (Splits(d) ? SplitBytes(d.dtype, d.shape[0], d.shape[1]) : d.max_bytes));
  }
  if (total == 0) return Status::Ok();
  const uint64_t start = platform::NowNanos();
  if (cudaMalloc(&device_weights_, total) != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    device_weights_ = nullptr;
    return ACORN_ERROR(kOutOfMemory, "CUDA: the weights need %s of device memory and %s of %s is free; use a smaller "
                       "or more quantized model, zero-copy mode, or --backend cpu", MiB(total).c_str(),
                       MiB(free_bytes).c_str(), MiB(total_bytes).c_str());
  }
  constexpr size_t kStage = size_t{32} << 20;
  void* stage[2] = {nullptr, nullptr};
  cudaEvent_t done[2] = {nullptr, nullptr};
  cudaStream_t stream = nullptr;
  Status st = CudaStatus(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "creating the upload stream");
  for (int i = 0; i < 2 && st.ok(); ++i) {
    st = CudaStatus(cudaHostAlloc(&stage[i], kStage, cudaHostAllocDefault), "allocating pinned staging memory");
    if (st.ok()) st = CudaStatus(cudaEventCreateWithFlags(&done[i], cudaEventDisableTiming), "creating an event");
  }
  int next = 0;
  bool pending[2] = {false, false};
  // Copies `bytes` from `src` (or, with repack, rows of split blocks) into device memory at dst.
  auto send = [&](uint8_t* dst, const uint8_t* src, uint64_t bytes) -> Status {
    while (bytes > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, kStage));
      if (pending[next]) ACORN_CUDA_TRY(cudaEventSynchronize(done[next]), "uploading weights");
      std::memcpy(stage[next], src, n);
      ACORN_CUDA_TRY(cudaMemcpyAsync(dst, stage[next], n, cudaMemcpyHostToDevice, stream), "uploading weights");
      ACORN_CUDA_TRY(cudaEventRecord(done[next], stream), "uploading weights");
      pending[next] = true;
      next ^= 1;
      dst += n;
      src += n;
      bytes -= n;
    }
    return Status::Ok();
  };
  std::vector<uint8_t> row;
  for (size_t t = 0; t < tensors.size() && st.ok(); ++t) {
    if (!used[t]) continue;
    const TensorDesc& d = tensors[t];
    uint8_t* dst = static_cast<uint8_t*>(device_weights_) + offset[t];
    constants_[t].data = dst;
    if (!Splits(d)) {
      st = send(dst, d.data, d.max_bytes);
      uploaded_bytes_ += d.max_bytes;
      continue;
    }
    constants_[t].layout = WeightLayout::kSplitBlocks;
    // Rows in groups that fit a staging buffer: their quants, then their scales.
    const int64_t rows = d.shape[0], nb = d.shape[1] / kQBlock;
    const int qb = SplitQuantBytes(d.dtype), block = static_cast<int>(GetDTypeInfo(d.dtype).block_bytes);
    const int64_t group = std::max<int64_t>(1, static_cast<int64_t>(kStage) / (nb * qb));
    uint8_t* scales_dst = dst + SplitScalesOffset(d.dtype, rows, d.shape[1]);
    for (int64_t r0 = 0; r0 < rows && st.ok(); r0 += group) {
      const int64_t n = std::min(group, rows - r0);
      row.resize(static_cast<size_t>(n * nb) * (qb + 2));
      uint8_t* q = row.data();
      uint8_t* s = row.data() + n * nb * qb;
      for (int64_t i = 0; i < n * nb; ++i) {
        const uint8_t* src = d.data + (r0 * nb + i) * block;
        std::memcpy(s + i * 2, src, 2);
        std::memcpy(q + i * qb, src + 2, static_cast<size_t>(qb));
      }
      st = send(dst + r0 * nb * qb, q, static_cast<uint64_t>(n * nb * qb));
      if (st.ok()) st = send(scales_dst + r0 * nb * 2, s, static_cast<uint64_t>(n * nb * 2));
    }
    uploaded_bytes_ += SplitBytes(d.dtype, rows, d.shape[1]);
  }
  if (stream != nullptr) {
    const Status sync = CudaStatus(cudaStreamSynchronize(stream), "uploading weights");
    if (st.ok()) st = sync;
    cudaStreamDestroy(stream);
  }
  for (int i = 0; i < 2; ++i) {
    if (stage[i] != nullptr) cudaFreeHost(stage[i]);
    if (done[i] != nullptr) cudaEventDestroy(done[i]);
  }
  upload_ms_ = (platform::NowNanos() - start) / 1e6;
  if (st.ok()) {
    Log(LogLevel::kInfo, "cuda: uploaded %s of weights to %s in %.0f ms", MiB(uploaded_bytes_).c_str(),
        device_name_.c_str(), upload_ms_);
  }
  return st;
}

// Zero-copy: the memory that holds the weights (the mapped file, or the caller's buffer, and any
// decompressed segments) is registered with the device and read in place.
Status CudaModel::Register(const std::vector<uint8_t>& used) {
  const Bundle& b = *spec_.bundle;
  struct Range {
    const uint8_t* begin;
    size_t size;
    uint8_t* device = nullptr;
  };
  std::vector<Range> ranges;
  ranges.push_back({b.file().data(), b.file().size()});
  for (const SegmentDesc& s : b.segments()) {
    if (s.compression != Compression::kNone && s.data != nullptr) ranges.push_back({s.data, static_cast<size_t>(s.size)});
  }
  std::vector<uint8_t> needed(ranges.size(), 0);
  std::vector<int> range_of(b.tensors().size(), -1);
  for (size_t t = 0; t < b.tensors().size(); ++t) {
    if (!used[t]) continue;
    const uint8_t* p = b.tensors()[t].data;
    for (size_t r = 0; r < ranges.size(); ++r) {
      if (p >= ranges[r].begin && p < ranges[r].begin + ranges[r].size) range_of[t] = static_cast<int>(r);
    }
    if (range_of[t] < 0) return ACORN_ERROR(kInternal, "tensor '%s' lies outside the bundle's memory", b.tensors()[t].name);
    needed[range_of[t]] = 1;
  }
  int read_only = 0;
  cudaDeviceGetAttribute(&read_only, cudaDevAttrHostRegisterReadOnlySupported, options_.device);
  cudaGetLastError();
  for (size_t r = 0; r < ranges.size(); ++r) {
    if (!needed[r]) continue;
    void* p = const_cast<uint8_t*>(ranges[r].begin);
    // The mapped file is read-only: registering it needs the device to accept read-only memory.
    const unsigned flags = cudaHostRegisterMapped | (read_only ? cudaHostRegisterReadOnly : 0u);
    const cudaError_t e = cudaHostRegister(p, ranges[r].size, flags);
    if (e != cudaSuccess) {
      return Status(ErrorCode::kBackend,
                    StrFormat("CUDA: registering %s of bundle memory for zero-copy use failed: %s; %s",
                              MiB(ranges[r].size).c_str(), cudaGetErrorString(e),
                              read_only ? "try without zero-copy" : "this device cannot map read-only memory: load "
                                                                    "the bundle with LoadMode::kRead, or without zero-copy"));
    }
    cudaGetLastError();
    registered_.push_back(p);
    void* device = nullptr;
    ACORN_CUDA_TRY(cudaHostGetDevicePointer(&device, p, 0), "mapping bundle memory into the device");
    ranges[r].device = static_cast<uint8_t*>(device);
  }
  for (size_t t = 0; t < b.tensors().size(); ++t) {
    if (range_of[t] < 0) continue;
    const Range& r = ranges[range_of[t]];
    constants_[t].data = r.device + (b.tensors()[t].data - r.begin);
  }
  return Status::Ok();
}

Result<std::unique_ptr<DeviceSession>> CudaModel::CreateSession(void* host_arena, size_t host_arena_bytes) {
  ACORN_ASSIGN_OR_RETURN(std::unique_ptr<CudaSession> s, CudaSession::Create(*this, host_arena, host_arena_bytes));
  return std::unique_ptr<DeviceSession>(std::move(s));
}

}  // namespace cuda
}  // namespace acorn

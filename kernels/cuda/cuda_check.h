// CUDA runtime results as acorn Status: every CUDA call of the backend goes through these, so that a
// failure names the call, CUDA's own words and what the user can do.
#pragma once

#include <cuda_runtime_api.h>

#include "acorn/status.h"

namespace acorn {
namespace cuda {

inline Status CudaStatus(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  cudaGetLastError();  // clear a non-sticky error so that it is reported once
  const ErrorCode code = e == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kBackend;
  return Status(code, StrFormat("CUDA: %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e)));
}

}  // namespace cuda
}  // namespace acorn

#define ACORN_CUDA_TRY(expr, what) ACORN_RETURN_IF_ERROR(::acorn::cuda::CudaStatus((expr), (what)))

#include "acorn/status.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace acorn {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kOutOfRange: return "out of range";
    case ErrorCode::kOutOfMemory: return "out of memory";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kBackend: return "backend error";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

namespace internal {
// stderr and not acorn::Log: acorn_base (kernels/reference links only it) does not link the
// platform library, and this is a programming error to be seen at once, not a log line.
void DieOnValueOfError(const Status& status) {
  std::fprintf(stderr, "acorn: Result::value() called on an error Result (%s); check ok() first\n",
               status.ToString().c_str());
  std::abort();
}
}  // namespace internal

std::string StrFormat(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<size_t>(n));
    std::vsnprintf(&out[0], out.size() + 1, fmt, args);
  }
  va_end(args);
  return out;
}

}  // namespace acorn

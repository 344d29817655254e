// Status and Result<T>: the one error type of acorn. Every fallible call in runtime/, kernels/ and
// platform/ returns one of these; there are no exceptions. A message names what was wrong and where
// (the tensor, op or byte offset), so that it can be shown to a user as it is.
#pragma once

#include <cstdio>
#include <new>
#include <string>
#include <utility>

namespace acorn {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong
  kNotFound,         // a file, tensor or key that does not exist
  kMalformed,        // a bundle or input file that breaks the format
  kUnsupported,      // valid, but not something this build can do (dtype, op, version)
  kOutOfRange,       // a position beyond the context, a prompt longer than allowed
  kOutOfMemory,      // an allocation or a caller-provided arena too small
  kIo,               // the operating system refused (open, map, read)
  kBackend,          // an accelerator reported an error
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

// [[nodiscard]]: a dropped Status is a dropped error. Where ignoring one is right, the call site
// says why with a `(void)` cast and a comment.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "<code>: <message>", for printing.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// printf-style message builder, so that call sites stay one line.
std::string StrFormat(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define ACORN_ERROR(code, ...) ::acorn::Status(::acorn::ErrorCode::code, ::acorn::StrFormat(__VA_ARGS__))

namespace internal {
// Prints `status` and the misuse to stderr, then aborts: value() of a Result that holds an error.
[[noreturn]] void DieOnValueOfError(const Status& status);
}  // namespace internal

// A value or the Status that says why there is none. Holding an error Status, value() must not be
// called: debug builds (NDEBUG not defined) abort there with the Status, release builds do not check.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : has_value_(true) { new (&storage_) T(value); }
  Result(T&& value) : has_value_(true) { new (&storage_) T(std::move(value)); }
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status(ErrorCode::kInternal, "Result built from an ok Status without a value");
  }
  Result(Result&& other) noexcept : status_(std::move(other.status_)), has_value_(other.has_value_) {
    if (has_value_) new (&storage_) T(std::move(other.value()));
  }
  Result& operator=(Result&& other) noexcept {
    if (this != &other) {
      Reset();
      status_ = std::move(other.status_);
      has_value_ = other.has_value_;
      if (has_value_) new (&storage_) T(std::move(other.value()));
    }
    return *this;
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { Reset(); }

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & {
    CheckHasValue();
    return *reinterpret_cast<T*>(&storage_);
  }
  const T& value() const& {
    CheckHasValue();
    return *reinterpret_cast<const T*>(&storage_);
  }
  T&& value() && {
    CheckHasValue();
    return std::move(*reinterpret_cast<T*>(&storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  void CheckHasValue() const {
#ifndef NDEBUG
    if (!has_value_) internal::DieOnValueOfError(status_);
#endif
  }
  void Reset() {
    if (has_value_) reinterpret_cast<T*>(&storage_)->~T();
    has_value_ = false;
  }
  Status status_;
  bool has_value_ = false;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace acorn

// Propagate an error Status from an expression returning Status.
#define ACORN_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::acorn::Status acorn_status_ = (expr);      \
    if (!acorn_status_.ok()) return acorn_status_; \
  } while (0)

#define ACORN_CONCAT_INNER(a, b) a##b
#define ACORN_CONCAT(a, b) ACORN_CONCAT_INNER(a, b)

// `ACORN_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define ACORN_ASSIGN_OR_RETURN(decl, expr) \
  ACORN_ASSIGN_OR_RETURN_IMPL(ACORN_CONCAT(acorn_result_, __LINE__), decl, expr)
#define ACORN_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  decl = std::move(tmp).value()

// Status and Result<T>: how environment failures travel up to the component that can retry or
// report them (STYLE.md, "Errors"). An OK Status holds no allocation. Hostile input is not an
// error: parsers return it as data. Thread-safety: values, like std::string.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace drosera::core {

class Status {
 public:
  enum class Code { kOk = 0, kInvalidArgument, kNotFound, kIoError, kUnavailable, kCorruption,
                    kResourceExhausted, kInternal };

  Status() = default;  // OK
  static Status ok() { return Status(); }
  static Status invalidArgument(std::string_view m) { return Status(Code::kInvalidArgument, m); }
  static Status notFound(std::string_view m) { return Status(Code::kNotFound, m); }
  static Status ioError(std::string_view m) { return Status(Code::kIoError, m); }
  static Status unavailable(std::string_view m) { return Status(Code::kUnavailable, m); }
  static Status corruption(std::string_view m) { return Status(Code::kCorruption, m); }
  static Status resourceExhausted(std::string_view m) {
    return Status(Code::kResourceExhausted, m);
  }
  static Status internal(std::string_view m) { return Status(Code::kInternal, m); }
  // An I/O error carrying strerror(errno_value) after `what`.
  static Status fromErrno(std::string_view what, int errno_value);

  bool isOk() const { return state_ == nullptr; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;
  std::string toString() const;

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view message)
      : state_(std::make_shared<const State>(State{code, std::string(message)})) {}
  std::shared_ptr<const State> state_;  // null when OK
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace drosera::core

// Broken invariants crash loudly (STYLE.md): never limp on with corrupt accounting.
#define DROSERA_CHECK(cond)                                                      \
  do {                                                                           \
    if (!(cond)) ::drosera::core::checkFailed(#cond, __FILE__, __LINE__);        \
  } while (0)

namespace drosera::core {
[[noreturn]] void checkFailed(const char* expr, const char* file, int line);
}

#include "core/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace drosera::core {

Status Status::fromErrno(std::string_view what, int errno_value) {
  std::string m(what);
  m += ": ";
  m += std::strerror(errno_value);
  return Status(errno_value == ENOSPC ? Code::kResourceExhausted : Code::kIoError, m);
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::toString() const {
  if (isOk()) return "OK";
  const char* name = "error";
  switch (state_->code) {
    case Code::kOk: name = "OK"; break;
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kIoError: name = "I/O error"; break;
    case Code::kUnavailable: name = "unavailable"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kResourceExhausted: name = "resource exhausted"; break;
    case Code::kInternal: name = "internal error"; break;
  }
  return std::string(name) + ": " + state_->message;
}

void checkFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "drosera: invariant broken: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace drosera::core

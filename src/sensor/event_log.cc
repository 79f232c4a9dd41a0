#include "sensor/event_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace drosera::sensor {
namespace fs = std::filesystem;

FsyncPolicy parseFsyncPolicy(std::string_view s) {
  if (s == "always") return FsyncPolicy::kAlways;
  if (s == "never") return FsyncPolicy::kNever;
  return FsyncPolicy::kInterval;
}

core::Result<std::unique_ptr<EventLog>> EventLog::open(const Options& options) {
  std::unique_ptr<EventLog> log(new EventLog());
  log->opt_ = options;
  const fs::path p(options.path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) {
      return core::Status::ioError("cannot create " + p.parent_path().string() + ": " +
                                   ec.message());
    }
  }
  // Continue the rotation numbering after the highest existing <path>.<n>.
  const std::string base = p.filename().string() + ".";
  for (const auto& e : fs::directory_iterator(p.has_parent_path() ? p.parent_path() : ".", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(base, 0) != 0) continue;
    const std::string num = name.substr(base.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    log->next_rotation_ = std::max<uint64_t>(log->next_rotation_, std::stoull(num) + 1);
  }
  std::lock_guard lock(log->mu_);
  auto st = log->openLocked();
  if (!st) return st;
  return log;
}

EventLog::~EventLog() {
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
  }
}

core::Status EventLog::openLocked() {
  // O_RDWR, not O_WRONLY: the last byte is read back below.
  fd_ = ::open(opt_.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return core::Status::fromErrno("cannot open event log " + opt_.path, errno);
  struct stat st {};
  ::fstat(fd_, &st);
  size_ = static_cast<uint64_t>(st.st_size);
  // A previous run may have died mid-line (no O_APPEND guarantee across a crash): cut the torn
  // line off. Its capture was not checkpointed, so the journal writes its event again; ended
  // with a newline instead, the fragment would be shipped as a line of its own.
  uint64_t end = size_;
  char chunk[4096];
  while (end > 0) {
    const uint64_t from = end > sizeof chunk ? end - sizeof chunk : 0;
    const ssize_t n = ::pread(fd_, chunk, end - from, static_cast<off_t>(from));
    if (n != static_cast<ssize_t>(end - from)) return core::Status::ok();  // leave it be
    const void* nl = ::memrchr(chunk, '\n', static_cast<size_t>(n));
    if (nl != nullptr) {
      end = from + static_cast<uint64_t>(static_cast<const char*>(nl) - chunk) + 1;
      break;
    }
    end = from;
  }
  if (end < size_) {
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) {
      return core::Status::fromErrno("cannot cut the torn last line of " + opt_.path, errno);
    }
    spdlog::warn("event log: cut a torn last line ({} bytes) off {}; its event is written again "
                 "from the capture journal", size_ - end, opt_.path);
    size_ = end;
  }
  return core::Status::ok();
}

uint64_t EventLog::nextRotation() const {
  std::lock_guard lock(mu_);
  return next_rotation_;
}

core::Status EventLog::rotateLocked() {
  if (dirty_) ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  const std::string rotated = opt_.path + "." + std::to_string(next_rotation_);
  if (::rename(opt_.path.c_str(), rotated.c_str()) != 0) {
    const int err = errno;
    openLocked();
    return core::Status::fromErrno("cannot rotate event log to " + rotated, err);
  }
  ++next_rotation_;
  stats_.rotations.fetch_add(1, std::memory_order_relaxed);
  // Remove rotated files beyond keep_files.
  if (next_rotation_ > opt_.keep_files + 1) {
    for (uint64_t n = next_rotation_ - opt_.keep_files - 1; n > 0; --n) {
      const std::string old = opt_.path + "." + std::to_string(n);
      struct stat st {};
      const bool known = ::stat(old.c_str(), &st) == 0;
      if (::unlink(old.c_str()) != 0) break;  // older ones are gone already
      stats_.dropped_files.fetch_add(1, std::memory_order_relaxed);
      if (known) stats_.dropped_bytes.fetch_add(static_cast<uint64_t>(st.st_size), std::memory_order_relaxed);
    }
  }
  dirty_ = false;
  return openLocked();
}

core::Status EventLog::append(std::string_view line) {
  std::lock_guard lock(mu_);
  if (fd_ < 0) {
    auto st = openLocked();
    if (!st) {
      stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
      return st;
    }
  }
  if (size_ > 0 && size_ + line.size() + 1 > opt_.rotate_bytes) {
    auto st = rotateLocked();
    if (!st) {
      stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
      if (fd_ < 0) return st;
    }
  }
  char nl = '\n';
  iovec iov[2] = {{const_cast<char*>(line.data()), line.size()}, {&nl, 1}};
  const size_t total = line.size() + 1;
  ssize_t w;
  do {
    w = ::writev(fd_, iov, 2);
  } while (w < 0 && errno == EINTR);
  if (w != static_cast<ssize_t>(total)) {
    const int err = w < 0 ? errno : ENOSPC;
    // Cut a partial line so the file stays valid JSON lines.
    if (w > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      // Could not cut it: end the fragment so the next line starts clean.
      if (::write(fd_, "\n", 1) == 1) size_ += static_cast<uint64_t>(w) + 1;
    }
    stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
    return core::Status::fromErrno("cannot append to event log " + opt_.path, err);
  }
  size_ += total;
  dirty_ = true;
  stats_.lines.fetch_add(1, std::memory_order_relaxed);
  stats_.bytes.fetch_add(total, std::memory_order_relaxed);
  if (opt_.fsync == FsyncPolicy::kAlways) {
    ::fdatasync(fd_);
    dirty_ = false;
  }
  return core::Status::ok();
}

core::Status EventLog::sync() {
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    if (fd_ < 0 || !dirty_) return core::Status::ok();
    fd = ::dup(fd_);
    dirty_ = false;
  }
  if (fd < 0) return core::Status::fromErrno("cannot sync event log", errno);
  int r = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (r != 0) {
    std::lock_guard lock(mu_);
    dirty_ = true;  // still not durable: the next sync tries again
    return core::Status::fromErrno("cannot sync event log " + opt_.path, err);
  }
  return core::Status::ok();
}

}  // namespace drosera::sensor

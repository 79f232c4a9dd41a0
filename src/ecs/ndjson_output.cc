#include "ecs/ndjson_output.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/out_of_memory.h"

namespace drosera::ecs {
namespace fs = std::filesystem;

namespace {

struct LastLine {
  uint64_t seq = 0;      // event.sequence (0: none)
  std::string event_id;  // event.id
};

// The store sequence and event id of the last complete line of the file open at `fd`. The file
// ends with '\n' when this is called.
LastLine lastLine(int fd, uint64_t size) {
  if (size == 0) return {};
  uint64_t window = 64 * 1024;
  std::string buf;
  for (;;) {
    const uint64_t n = std::min(window, size);
    buf.resize(static_cast<size_t>(n));
    if (::pread(fd, buf.data(), buf.size(), static_cast<off_t>(size - n)) !=
        static_cast<ssize_t>(n)) {
      return {};
    }
    // buf ends with '\n'; the last line starts after the previous '\n'.
    const size_t prev = buf.size() >= 2 ? buf.rfind('\n', buf.size() - 2) : std::string::npos;
    if (prev == std::string::npos && n < size) {
      window *= 4;
      continue;
    }
    const size_t start = prev == std::string::npos ? 0 : prev + 1;
    nlohmann::json j = nlohmann::json::parse(buf.begin() + static_cast<std::ptrdiff_t>(start),
                                             buf.end(), nullptr, false);
    LastLine last;
    if (j.is_object() && j.contains("event") && j["event"].is_object()) {
      const auto& ev = j["event"];
      auto s = ev.find("sequence");
      if (s != ev.end() && s->is_number_unsigned()) last.seq = s->get<uint64_t>();
      auto id = ev.find("id");
      if (id != ev.end() && id->is_string()) last.event_id = id->get<std::string>();
    }
    return last;
  }
}

// Cuts a torn last line (a crash in the middle of a write): the file ends with '\n' afterwards.
core::Status cutTornLine(int fd, uint64_t& size, const std::string& path) {
  if (size == 0) return core::Status::ok();
  char last = 0;
  if (::pread(fd, &last, 1, static_cast<off_t>(size - 1)) != 1) {
    return core::Status::fromErrno("cannot read " + path, errno);
  }
  if (last == '\n') return core::Status::ok();
  uint64_t end = size;
  std::vector<char> chunk(64 * 1024);
  while (end > 0) {
    const uint64_t n = std::min<uint64_t>(chunk.size(), end);
    if (::pread(fd, chunk.data(), static_cast<size_t>(n), static_cast<off_t>(end - n)) !=
        static_cast<ssize_t>(n)) {
      return core::Status::fromErrno("cannot read " + path, errno);
    }
    for (uint64_t i = n; i > 0; --i) {
      if (chunk[static_cast<size_t>(i - 1)] == '\n') {
        const uint64_t keep = end - n + i;
        if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) {
          return core::Status::fromErrno("cannot truncate " + path, errno);
        }
        size = keep;
        return core::Status::ok();
      }
    }
    end -= n;
  }
  if (::ftruncate(fd, 0) != 0) return core::Status::fromErrno("cannot truncate " + path, errno);
  size = 0;
  return core::Status::ok();
}

core::Status writeAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::Status::fromErrno("cannot write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return core::Status::ok();
}

void syncDir(const fs::path& dir) {
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

NdjsonOutput::NdjsonOutput(store::Store& store, const EcsNdjsonConfig& config, EcsMapper mapper,
                           const GeoLookup* geo)
    : store_(store), config_(config), mapper_(std::move(mapper)), geo_(geo) {}

core::Result<std::unique_ptr<NdjsonOutput>> NdjsonOutput::open(store::Store& store,
                                                               const EcsNdjsonConfig& config,
                                                               EcsMapper mapper,
                                                               const GeoLookup* geo) {
  if (config.path.empty()) return core::Status::invalidArgument("ecs.ndjson.path is empty");
  if (config.batch == 0) return core::Status::invalidArgument("ecs.ndjson.batch must be > 0");
  std::unique_ptr<NdjsonOutput> out(new NdjsonOutput(store, config, std::move(mapper), geo));
  auto st = out->recover();
  if (!st) return st;
  return out;
}

NdjsonOutput::~NdjsonOutput() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

core::Status NdjsonOutput::openCurrent() {
  fd_ = ::open(config_.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return core::Status::fromErrno("cannot open " + config_.path, errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return core::Status::fromErrno("cannot stat " + config_.path, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  return core::Status::ok();
}

core::Status NdjsonOutput::recover() {
  const fs::path p(config_.path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      return core::Status::ioError("cannot create " + p.parent_path().string() + ": " +
                                   ec.message());
  }
  const std::string base = p.filename().string() + ".";
  for (const auto& e : fs::directory_iterator(p.has_parent_path() ? p.parent_path() : ".", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(base, 0) != 0) continue;
    const std::string num = name.substr(base.size());
    if (num.empty() || num.size() > 18 ||
        num.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    next_rotation_ = std::max<uint64_t>(next_rotation_, std::stoull(num) + 1);
  }
  auto st = openCurrent();
  if (!st) return st;
  st = cutTornLine(fd_, size_, config_.path);
  if (!st) return st;

  // The newest line written: in the current file, or in the newest rotated one.
  LastLine in_file = lastLine(fd_, size_);
  if (size_ == 0 && next_rotation_ > 1) {
    const std::string prev = config_.path + "." + std::to_string(next_rotation_ - 1);
    const int pfd = ::open(prev.c_str(), O_RDONLY | O_CLOEXEC);
    if (pfd >= 0) {
      struct stat s {};
      if (::fstat(pfd, &s) == 0) in_file = lastLine(pfd, static_cast<uint64_t>(s.st_size));
      ::close(pfd);
    }
  }
  auto cur = store_.cursor(config_.cursor_name);
  if (!cur) return cur.status();
  cursor_ = *cur;
  if (in_file.seq > cursor_) {
    // Written before a crash, cursor not yet moved: the file is the truth, provided the line
    // is that event of this store (not a file left over from another database).
    auto check = store_.readAfter(in_file.seq - 1, 1);
    if (!check) return check.status();
    if (!check->empty() && check->front().seq == in_file.seq &&
        check->front().event.unique_id == in_file.event_id) {
      cursor_ = in_file.seq;
      auto s = store_.setCursor(config_.cursor_name, cursor_);
      if (!s) return s;
    }
  }
  std::lock_guard lock(stats_mu_);
  stats_.cursor = cursor_;
  return core::Status::ok();
}

core::Status NdjsonOutput::rotate() {
  if (config_.fsync) ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  const std::string target = config_.path + "." + std::to_string(next_rotation_);
  if (::rename(config_.path.c_str(), target.c_str()) != 0) {
    const int err = errno;
    auto st = openCurrent();  // keep writing to the same file
    (void)st;
    return core::Status::fromErrno("cannot rotate " + config_.path, err);
  }
  ++next_rotation_;
  auto st = openCurrent();
  if (!st) return st;
  syncDir(fs::path(config_.path).parent_path());
  removeOldFiles();
  std::lock_guard lock(stats_mu_);
  ++stats_.rotations;
  return core::Status::ok();
}

void NdjsonOutput::removeOldFiles() {
  if (next_rotation_ <= config_.keep_files + 1) return;
  // Rotated files are numbered 1 .. next_rotation_-1; keep the newest keep_files.
  const uint64_t last_removed = next_rotation_ - 1 - config_.keep_files;
  for (uint64_t n = last_removed; n >= 1; --n) {
    const std::string f = config_.path + "." + std::to_string(n);
    if (::unlink(f.c_str()) != 0 && errno == ENOENT) break;  // older ones went before
  }
}

core::Result<uint64_t> NdjsonOutput::writeBatch() {
  if (fd_ < 0) {
    auto st = openCurrent();
    if (st) st = cutTornLine(fd_, size_, config_.path);
    if (!st) return st;
  }
  if (cursor_unsaved_) {
    if (store_.setCursor(config_.cursor_name, cursor_)) cursor_unsaved_ = false;
  }
  uint64_t examined = cursor_;
  auto events = store_.readAfter(cursor_, config_.batch, &examined);
  if (!events) return events.status();
  // Missing seqs: deleted by retention before they were read, or damaged (counted once this
  // batch is written).
  const uint64_t gap = store::missedSeqs(cursor_, *events, examined);
  if (events->empty()) {
    if (examined <= cursor_) return uint64_t{0};
    // Nothing readable, only missing seqs (damaged rows, and perhaps some that retention
    // deleted): the cursor moves past them.
    spdlog::warn("ecs ndjson output: {} events between seqs {} and {} were deleted by retention "
                 "before they were written, or are damaged (the store names those)",
                 gap, cursor_ + 1, examined);
    cursor_ = examined;
    if (!store_.setCursor(config_.cursor_name, cursor_)) cursor_unsaved_ = true;
    std::lock_guard lock(stats_mu_);
    stats_.cursor = cursor_;
    stats_.missed += gap;
    return uint64_t{0};
  }

  buffer_.clear();
  GeoInfo geo;
  for (const auto& se : *events) {
    const GeoInfo* g = nullptr;
    if (geo_) {
      geo = GeoInfo{};
      if (geo_->lookup(se.event.src_ip, geo)) g = &geo;
    }
    mapper_.append(se.event, se.seq, g, buffer_);
    buffer_ += '\n';
  }
  if (size_ > 0 && size_ >= config_.rotate_bytes) {
    auto st = rotate();
    if (!st) return st;
  }
  const uint64_t before = size_;
  auto st = writeAll(fd_, buffer_, config_.path);
  if (st && config_.fsync && ::fdatasync(fd_) != 0) {
    st = core::Status::fromErrno("cannot sync " + config_.path, errno);
  }
  if (!st) {
    // Nothing partial stays behind: the next attempt writes the batch again.
    if (::ftruncate(fd_, static_cast<off_t>(before)) != 0) {
      ::close(fd_);
      fd_ = -1;  // reopened, and the torn line cut, at the next batch
    }
    return st;
  }
  size_ += buffer_.size();
  if (gap > 0) {
    spdlog::warn("ecs ndjson output: {} events between seqs {} and {} were deleted by retention "
                 "before they were written, or are damaged (the store names those)",
                 gap, cursor_ + 1, examined);
  }
  cursor_ = std::max(events->back().seq, examined);
  if (!store_.setCursor(config_.cursor_name, cursor_)) cursor_unsaved_ = true;
  std::lock_guard lock(stats_mu_);
  stats_.cursor = cursor_;
  stats_.written += events->size();
  stats_.missed += gap;
  return static_cast<uint64_t>(events->size());
}

void NdjsonOutput::run() {
  while (!waiter_.stopped()) {
    auto n = core::failOnOutOfMemory([&] { return writeBatch(); });
    if (!n) {
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.errors;
        stats_.last_error = n.status().toString();
      }
      if (!waiter_.wait(config_.poll_interval_s, false)) break;
      continue;
    }
    if (*n < config_.batch) {
      if (!waiter_.wait(config_.poll_interval_s, true)) break;
    }
  }
}

void NdjsonOutput::start() {
  if (thread_.joinable()) return;
  waiter_.reset();
  thread_ = std::thread([this] { run(); });
}

void NdjsonOutput::stop() {
  waiter_.stop();
  if (thread_.joinable()) thread_.join();
}

void NdjsonOutput::wake() { waiter_.wake(); }

NdjsonOutput::Stats NdjsonOutput::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace drosera::ecs

#include "collector/tailer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "collector/collector.h"
#include "collector/parse.h"

namespace drosera::collector {
namespace {

constexpr size_t kReadChunk = 4u << 20;
constexpr size_t kBatch = 500;
constexpr size_t kMaxRecord = 16u << 20;

std::string keyOf(const struct stat& st) {
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

FileTailer::FileTailer(core::TailConfig config, Collector& collector)
    : config_(std::move(config)), collector_(collector) {
  sensor_ = config_.sensor.empty() ? std::filesystem::path(config_.path).filename().string()
                                   : config_.sensor;
}

FileTailer::~FileTailer() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

void FileTailer::start() {
  std::lock_guard lock(mu_);
  stop_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void FileTailer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FileTailer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const uint64_t n = pollOnce();
    lock.lock();
    if (n == 0) cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_; });
  }
}

uint64_t FileTailer::pollOnce() {
  auto error = [&](const std::string& e) {
    std::lock_guard lock(mu_);
    if (last_error_ != e) spdlog::warn("tail {}: {}", config_.path, e);
    last_error_ = e;
  };
  struct stat path_st {};
  const bool exists = ::stat(config_.path.c_str(), &path_st) == 0;
  if (fd_ < 0) {
    if (!exists) return 0;
    fd_ = ::open(config_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      error(std::string("cannot open: ") + std::strerror(errno));
      return 0;
    }
    struct stat st {};
    ::fstat(fd_, &st);
    key_ = keyOf(st);
    offset_ = 0;
    buffer_.clear();
    if (!resumed_) {
      // Continue where the last committed batch of this file ended.
      resumed_ = true;
      if (auto offsets = collector_.store().fileOffsets()) {
        for (const auto& o : *offsets) {
          if (o.key == key_ && o.offset <= static_cast<uint64_t>(st.st_size)) offset_ = o.offset;
        }
      }
    }
  }
  struct stat st {};
  ::fstat(fd_, &st);
  if (static_cast<uint64_t>(st.st_size) < offset_) {
    // Truncated in place (copytruncate): start again from the beginning.
    offset_ = 0;
    buffer_.clear();
  }
  // Read what is new.
  const uint64_t read_from = offset_ + buffer_.size();
  if (static_cast<uint64_t>(st.st_size) > read_from) {
    const size_t want = std::min<uint64_t>(kReadChunk, st.st_size - read_from);
    const size_t old = buffer_.size();
    buffer_.resize(old + want);
    ssize_t n = ::pread(fd_, buffer_.data() + old, want, static_cast<off_t>(read_from));
    buffer_.resize(old + std::max<ssize_t>(n, 0));
  }
  // Split into whole records.
  std::vector<std::string_view> records;
  size_t consumed = 0;
  const bool native = config_.format == "modsec2-native" ||
                      (config_.format == "auto" && !buffer_.empty() &&
                       buffer_.find_first_not_of(" \r\n\t") != std::string::npos &&
                       buffer_[buffer_.find_first_not_of(" \r\n\t")] == '-');
  if (native) {
    auto split = splitNativeEntries(buffer_, kMaxRecord);
    records = std::move(split.entries);
    consumed = split.consumed;
  } else {
    size_t pos = 0;
    while (pos < buffer_.size()) {
      size_t nl = buffer_.find('\n', pos);
      if (nl == std::string::npos) break;
      records.emplace_back(buffer_.data() + pos, nl - pos);
      pos = nl + 1;
    }
    consumed = pos;
    if (consumed == 0 && buffer_.size() > kMaxRecord) consumed = buffer_.size();  // no end: skip
  }
  // Parse and store in batches, each with the offset just past its last record.
  ParseContext ctx;
  ctx.sensor = sensor_;
  ctx.utc_offset_minutes = config_.utc_offset_minutes;
  ctx.fallback_time_us = nowUs();
  std::vector<core::Event> batch;
  uint64_t stored = 0, rejected = 0;
  size_t done_bytes = 0;  // bytes of buffer_ covered by committed batches
  auto flush = [&](size_t upto) -> bool {
    store::FileOffset off{key_, config_.path, offset_ + upto, nowUs()};
    auto r = collector_.write(batch, {off});
    if (!r) {
      error("store: " + r.status().message());
      return false;
    }
    stored += r->inserted;
    batch.clear();
    done_bytes = upto;
    return true;
  };
  bool ok = true;
  for (size_t i = 0; i < records.size() && ok; ++i) {
    std::string_view rec = records[i];
    const size_t end = static_cast<size_t>(rec.data() + rec.size() - buffer_.data()) + (native ? 0 : 1);
    if (rec.find_first_not_of(" \t\r\n") != std::string_view::npos) {
      core::Result<core::Event> e =
          config_.format == "modsec3-json"   ? parseV3Json(rec, ctx)
          : config_.format == "modsec2-json" ? parseV2Json(rec, ctx)
          : native                           ? parseV2Native(rec, ctx)
                                             : parseRecord(rec, ctx);
      if (e) {
        e->sensor = sensor_;
        batch.push_back(std::move(*e));
      } else {
        ++rejected;
      }
    }
    if (batch.size() >= kBatch || i + 1 == records.size()) ok = flush(i + 1 == records.size() ? consumed : end);
  }
  if (records.empty() && consumed > 0) ok = flush(consumed);  // skipped junk only
  if (ok) {
    buffer_.erase(0, done_bytes);
    offset_ += done_bytes;
  } else {
    buffer_.clear();  // re-read from the committed offset next time
  }
  {
    std::lock_guard lock(mu_);
    events_ += stored;
    rejected_ += rejected;
  }
  // Rotated away (renamed or deleted) and fully read: move to the new file.
  if (ok && buffer_.empty() && offset_ >= static_cast<uint64_t>(st.st_size) &&
      (!exists || keyOf(path_st) != key_)) {
    ::close(fd_);
    fd_ = -1;
  }
  return stored + rejected;
}

std::string FileTailer::statusJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json j = {{"path", config_.path}, {"sensor", sensor_},     {"offset", offset_},
                      {"events", events_},    {"rejected", rejected_}, {"last_error", last_error_}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace drosera::collector

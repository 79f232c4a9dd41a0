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
constexpr uint64_t kFingerprintBytes = 256;
constexpr int64_t kRotationGraceUs = 3'000'000;  // servers write the old file until they reopen

std::string identOf(const struct stat& st) {
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Files in the folder of `path` that a rotation may have produced: <name>.<x>, <name>-<x>.
std::vector<std::string> siblings(const std::string& path) {
  std::vector<std::string> out;
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(
           p.has_parent_path() ? p.parent_path() : std::filesystem::path("."), ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > name.size() && n.rfind(name, 0) == 0 &&
        (n[name.size()] == '.' || n[name.size()] == '-') &&
        n.find(".gz") == std::string::npos && n.find(".xz") == std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
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
  if (fd_ < 0 && !resumed_) {
    // First open: continue where the last committed batch ended, in the file it was in
    // (the current path, or a sibling a rotation renamed it to while we were down).
    resumed_ = true;
    if (auto offsets = collector_.store().fileOffsets()) {
      // The furthest position saved for the file at the path itself; failing that (it was
      // rotated while we were down), for a sibling it was renamed to. A sibling is only read
      // when the current file has no position: we leave a file only after reading it out.
      std::vector<std::string> candidates = {config_.path};
      for (auto& sib : siblings(config_.path)) candidates.push_back(std::move(sib));
      std::string best_file;
      uint64_t best_offset = 0;
      for (const auto& cand : candidates) {
        if (!best_file.empty()) break;  // found in an earlier (newer) candidate
        struct stat cst {};
        if (::stat(cand.c_str(), &cst) != 0) continue;
        const std::string prefix = identOf(cst) + ":";
        for (const auto& o : *offsets) {
          if (o.path != config_.path || o.key.rfind(prefix, 0) != 0) continue;
          if (o.offset > static_cast<uint64_t>(cst.st_size) || o.offset <= best_offset) continue;
          if (!openFile(cand, o.offset)) continue;
          if (positionKey() == o.key) {
            best_file = cand;
            best_offset = o.offset;
          }
        }
      }
      if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      if (!best_file.empty()) openFile(best_file, best_offset);
    }
  }
  if (fd_ < 0) {
    if (!exists) return 0;
    if (!openFile(config_.path, 0)) {
      error(std::string("cannot open: ") + std::strerror(errno));
      return 0;
    }
  }
  struct stat st {};
  ::fstat(fd_, &st);
  const std::string committed_fp = offset_ > 0 ? fingerprint(offset_) : "";
  if (static_cast<uint64_t>(st.st_size) < offset_ ||
      (offset_ > 0 && committed_fp != fp_at_offset_)) {
    // Truncated in place (copytruncate), maybe written again past our position already: the
    // first bytes are not the ones we read. Start again from the beginning.
    offset_ = 0;
    buffer_.clear();
  }
  if (static_cast<uint64_t>(st.st_size) > offset_ + buffer_.size()) last_growth_us_ = nowUs();
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
    const uint64_t saved = offset_;
    offset_ += upto;  // the key's fingerprint covers what this batch consumed
    store::FileOffset off{positionKey(), config_.path, offset_, nowUs()};
    offset_ = saved;
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
    if (done_bytes > 0) fp_at_offset_ = fingerprint(offset_);
  } else {
    buffer_.clear();  // re-read from the committed offset next time
  }
  {
    std::lock_guard lock(mu_);
    events_ += stored;
    rejected_ += rejected;
  }
  // Rotated away (renamed or deleted): keep reading the old file while the server may still
  // write to it; once it has been quiet for the grace period and is read to its end, move on.
  const bool moved = !exists || identOf(path_st) != ident_;
  if (!moved) {
    rotated_at_us_ = 0;
  } else {
    const int64_t now = nowUs();
    if (rotated_at_us_ == 0) rotated_at_us_ = now;
    if (ok && buffer_.empty() && offset_ >= static_cast<uint64_t>(st.st_size) &&
        now - rotated_at_us_ >= kRotationGraceUs && now - last_growth_us_ >= kRotationGraceUs) {
      ::close(fd_);
      fd_ = -1;
      rotated_at_us_ = 0;
      offset_ = 0;
      fp_at_offset_.clear();
    }
  }
  return stored + rejected;
}

bool FileTailer::openFile(const std::string& path, uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  struct stat st {};
  ::fstat(fd_, &st);
  ident_ = identOf(st);
  open_path_ = path;
  offset_ = offset;
  buffer_.clear();
  rotated_at_us_ = 0;
  last_growth_us_ = nowUs();
  fp_at_offset_ = offset > 0 ? fingerprint(offset) : "";
  return true;
}

std::string FileTailer::fingerprint(uint64_t upto) const {
  const uint64_t n = std::min(upto, kFingerprintBytes);
  std::string head(n, '\0');
  ssize_t got = n ? ::pread(fd_, head.data(), n, 0) : 0;
  head.resize(std::max<ssize_t>(got, 0));
  char buf[48];
  std::snprintf(buf, sizeof buf, "%zu:%016llx", head.size(),
                static_cast<unsigned long long>(fnv1a(head)));
  return buf;
}

std::string FileTailer::positionKey() const { return ident_ + ":" + fingerprint(offset_); }

std::string FileTailer::statusJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json j = {{"path", config_.path}, {"sensor", sensor_},     {"offset", offset_},
                      {"events", events_},    {"rejected", rejected_}, {"last_error", last_error_}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace drosera::collector

#include "sensor/shipper.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "core/out_of_memory.h"

namespace drosera::sensor {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kMaxLine = 16ull << 20;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct LogFile {
  std::string path;
  uint64_t inode = 0;
  uint64_t size = 0;
};

// The event log files in shipping order: rotated files by number, then the current one.
std::vector<LogFile> logFiles(const std::string& current) {
  const fs::path p(current);
  const std::string base = p.filename().string() + ".";
  std::vector<std::pair<uint64_t, std::string>> rotated;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p.has_parent_path() ? p.parent_path() : ".", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(base, 0) != 0) continue;
    const std::string num = name.substr(base.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    rotated.emplace_back(std::stoull(num), e.path().string());
  }
  std::sort(rotated.begin(), rotated.end());
  std::vector<LogFile> out;
  auto add = [&](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      out.push_back({path, static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size)});
    }
  };
  for (const auto& [n, path] : rotated) add(path);
  add(current);
  return out;
}

// A file is known by its inode and its first bytes: enough of its first record to hold the
// record's unique id (the first 64 bytes of two files written in the same second are alike).
constexpr uint64_t kHeadBytes = 4096;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The hash of the first `len` bytes of the open file; false if it is shorter.
bool headHash(int fd, uint64_t len, uint64_t* hash) {
  std::string head(len, '\0');
  if (::pread(fd, head.data(), len, 0) != static_cast<ssize_t>(len)) return false;
  *hash = fnv1a(head);
  return true;
}

// The start of a position in `f`: its inode and the hash of its first complete lines (up to
// kHeadBytes; those never change, where a torn last line may be cut back by the writer). A file
// without a complete line yet has no head, and is known by its inode alone until it has one.
struct Head {
  uint64_t len = 0, hash = 0;
};
Head headOf(const std::string& path, uint64_t inode) {
  Head head;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return head;
  struct stat st {};
  std::string buf(kHeadBytes, '\0');
  const ssize_t n = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode
                        ? ::pread(fd, buf.data(), buf.size(), 0)
                        : -1;
  ::close(fd);
  if (n <= 0) return head;
  buf.resize(static_cast<size_t>(n));
  const size_t nl = buf.rfind('\n');
  if (nl == std::string::npos) return head;
  buf.resize(nl + 1);
  return {buf.size(), fnv1a(buf)};
}

// Whether `f` is the file a position was taken in: same inode, same first bytes. kMoved: the
// path names another file since it was listed (a rotation; list again).
enum class Same { kYes, kNo, kMoved };
Same sameFile(const LogFile& f, uint64_t inode, uint64_t head_len, uint64_t head_hash) {
  if (f.inode != inode) return Same::kNo;
  if (head_len == 0) return Same::kYes;
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Same::kMoved;
  struct stat st {};
  uint64_t h = 0;
  Same same = Same::kNo;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_ino) != inode) {
    same = Same::kMoved;
  } else if (headHash(fd, head_len, &h) && h == head_hash) {
    same = Same::kYes;
  }
  ::close(fd);
  return same;
}

// "received_at":"2026-11-30T07:42:49.163438Z" of an event line, in microseconds; 0 if absent.
int64_t receivedAt(std::string_view line) {
  const size_t at = line.find("\"received_at\":\"");
  constexpr size_t kKey = sizeof("\"received_at\":\"") - 1;
  if (at == std::string_view::npos || at + kKey + 20 > line.size()) return 0;
  std::tm tm{};
  const std::string ts(line.substr(at + kKey, 19));
  if (!strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

}  // namespace

Shipper::Shipper(ShipperOptions options, std::unique_ptr<http::HttpClient> client,
                 std::function<std::string()> status_json)
    : opt_(std::move(options)), client_(std::move(client)), status_json_(std::move(status_json)) {}

Shipper::~Shipper() { stop(); }

core::Status Shipper::loadPosition() {
  std::ifstream in(opt_.state_path);
  unsigned long long inode = 0, offset = 0, head_len = 0, head_hash = 0;
  if (in && (in >> inode >> offset)) {
    pos_ = {inode, offset, 0, 0};
    if (in >> head_len >> head_hash && head_len <= kHeadBytes) {
      pos_.head_len = head_len;
      pos_.head_hash = head_hash;
    }
  }
  loaded_ = true;
  return core::Status::ok();
}

core::Status Shipper::savePosition() {
  const std::string tmp = opt_.state_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return core::Status::fromErrno("cannot write " + tmp, errno);
  std::fprintf(f, "%llu %llu %llu %llu\n", static_cast<unsigned long long>(pos_.inode),
               static_cast<unsigned long long>(pos_.offset),
               static_cast<unsigned long long>(pos_.head_len),
               static_cast<unsigned long long>(pos_.head_hash));
  bool ok = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), opt_.state_path.c_str()) != 0) {
    return core::Status::fromErrno("cannot write " + opt_.state_path, errno);
  }
  return core::Status::ok();
}

void Shipper::updateLag() {
  const auto files = logFiles(opt_.event_log);
  uint64_t lag = 0;
  bool after = pos_.inode == 0;
  for (const auto& f : files) {
    if (f.inode == pos_.inode) {
      lag += f.size > pos_.offset ? f.size - pos_.offset : 0;
      after = true;
    } else if (after) {
      lag += f.size;
    }
  }
  std::lock_guard lock(mu_);
  stats_.lag_bytes = lag;
  if (lag == 0) stats_.lag_ms = 0;
}

core::Result<bool> Shipper::shipOnce() {
  // A rotation between listing and reading leaves nothing read: list again (a few times; the
  // log cannot rotate that often while lines are being read).
  for (int attempt = 0;; ++attempt) {
    bool rotated = false;
    auto r = shipStep(&rotated);
    if (!r || *r || !rotated || attempt == 3) return r;
  }
}

core::Result<bool> Shipper::shipStep(bool* rotated_meanwhile_out) {
  if (!loaded_) loadPosition();
  auto files = logFiles(opt_.event_log);
  if (files.empty()) return false;
  if (opt_.after_listing_for_test) opt_.after_listing_for_test();
  // Where are we? The file with our inode and first bytes; if it is gone, the oldest file there is.
  size_t idx = files.size();
  for (size_t i = 0; i < files.size(); ++i) {
    switch (sameFile(files[i], pos_.inode, pos_.head_len, pos_.head_hash)) {
      case Same::kYes: idx = i; break;
      case Same::kNo: break;
      case Same::kMoved: *rotated_meanwhile_out = true; return false;
    }
  }
  if (idx == files.size()) {
    if (pos_.inode != 0) {
      spdlog::error("shipper: the event log file at the saved position is gone; continuing with "
                    "the oldest file (events in between were rotated away before shipping: "
                    "raise event_log.keep_files, or the collector was away too long)");
      std::lock_guard lock(mu_);
      ++stats_.lost_files;
    }
    idx = 0;
    const Head h = headOf(files[0].path, files[0].inode);
    pos_ = {files[0].inode, 0, h.len, h.hash};
    savePosition();
  }
  // A file shorter than the saved position lost its tail (a power loss before the log reached
  // the disk) and grows again from there: read it again from its start. What was shipped
  // already is a duplicate the store drops.
  if (pos_.offset > files[idx].size) {
    spdlog::warn("shipper: {} is shorter ({} bytes) than the saved position ({}); reading it "
                 "again from the start", files[idx].path, files[idx].size, pos_.offset);
    {
      std::lock_guard lock(mu_);
      ++stats_.rewinds;
    }
    pos_.offset = 0;
    skip_to_newline_ = false;
    savePosition();
  }
  const size_t max_events = std::max<size_t>(1, opt_.batch_events >> shrink_);
  const uint64_t max_bytes = std::max<uint64_t>(1, opt_.batch_bytes >> shrink_);
  // Read whole lines from the current file; at its end, move on if a newer file exists.
  std::string batch;
  size_t lines = 0;
  uint64_t offset = pos_.offset;
  int64_t first_received = 0;
  bool rotated_meanwhile = false;
  struct {
    uint64_t len, hash;
  } head{pos_.head_len, pos_.head_hash};  // of the file at `offset`
  while (true) {
    const LogFile& f = files[idx];
    if (offset < f.size) {
      // The log may have rotated since it was listed: the path then names another file (or
      // none), and our offset means nothing in it. Read only the file we listed; the next call
      // lists again.
      int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno != ENOENT) return core::Status::fromErrno("cannot open " + f.path, errno);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_ino) != f.inode) {
        if (fd >= 0) ::close(fd);
        rotated_meanwhile = true;
        break;
      }
      const uint64_t want = std::min<uint64_t>(f.size - offset,
                                               std::max<uint64_t>(opt_.batch_bytes, kMaxLine / 4));
      std::string buf(want, '\0');
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return core::Status::fromErrno("cannot read " + f.path, err);
      }
      buf.resize(static_cast<size_t>(n));
      size_t used = 0;
      if (skip_to_newline_) {
        // The rest of a line too long to ship: up to its end.
        const size_t nl = buf.find('\n');
        used = nl == std::string::npos ? buf.size() : nl + 1;
        skip_to_newline_ = nl == std::string::npos;
        std::lock_guard lock(mu_);
        stats_.skipped_bytes += used;
      }
      const size_t skipped_here = used;
      while (lines < max_events) {
        size_t nl = buf.find('\n', used);
        if (nl == std::string::npos) break;
        if (!batch.empty() && batch.size() + (nl + 1 - used) > max_bytes) break;
        std::string_view line(buf.data() + used, nl + 1 - used);
        if (lines == 0) first_received = receivedAt(line);
        batch.append(line);
        ++lines;
        used = nl + 1;
      }
      offset += used;
      // The first bytes of this file, to know it again (taken once, then fixed).
      if (std::min(offset, kHeadBytes) > head.len) {
        uint64_t h = 0;
        const uint64_t len = std::min(offset, kHeadBytes);
        if (headHash(fd, len, &h)) head = {len, h};
      }
      ::close(fd);
      if (lines >= max_events || (!batch.empty() && used < buf.size())) break;
      if (used == skipped_here && used < buf.size() && buf.size() == want &&
          want >= kMaxLine / 4) {
        // A line longer than anything the sensor writes: skip it, to its end, rather than stall.
        {
          std::lock_guard lock(mu_);
          stats_.skipped_bytes += buf.size() - used;
        }
        offset += buf.size() - used;
        skip_to_newline_ = true;
        continue;
      }
      if (skip_to_newline_ && used == buf.size()) continue;  // still inside the long line
      if (offset < f.size) break;  // a partial line: wait for the rest
    }
    // At the end of this file: a rotated file is complete; continue with the next one.
    if (rotated_meanwhile || idx + 1 >= files.size()) break;
    if (offset < files[idx].size) {
      std::lock_guard lock(mu_);
      stats_.skipped_bytes += files[idx].size - offset;  // torn tail left by a crash
    }
    if (!batch.empty()) break;  // ship what we have; the next call moves on
    ++idx;
    offset = 0;
    skip_to_newline_ = false;
    const Head h = headOf(files[idx].path, files[idx].inode);
    head = {h.len, h.hash};
    pos_ = {files[idx].inode, 0, h.len, h.hash};
  }
  *rotated_meanwhile_out = rotated_meanwhile;
  if (batch.empty()) {
    if (offset != pos_.offset) {
      pos_.offset = offset;
      pos_.head_len = head.len;
      pos_.head_hash = head.hash;
      savePosition();
    }
    updateLag();
    return false;
  }

  http::ClientRequest req;
  req.method = "POST";
  req.url = opt_.url;
  req.body = std::move(batch);
  req.timeout_s = opt_.timeout_s;
  req.verify_tls = opt_.verify_tls;
  req.ca_file = opt_.ca_file;
  const int64_t lag_ms = first_received ? std::max<int64_t>(0, (nowUs() - first_received) / 1000) : 0;
  req.headers = {{"Authorization", "Bearer " + opt_.token},
                 {"Content-Type", "application/x-ndjson"},
                 {"X-Drosera-Sensor", opt_.sensor_id},
                 {"X-Drosera-Lag-Ms", std::to_string(lag_ms)}};
  auto resp = client_->send(req);
  std::string error;
  bool refused = false;  // one line the collector will never take, skipped
  if (!resp) {
    error = resp.status().message();
  } else if (resp->status < 200 || resp->status >= 300) {
    error = "collector answered " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200);
  }
  if (resp && resp->status == 413) {
    if (lines > 1) {
      // The collector takes smaller batches than ours: halve them (for good) and try again.
      ++shrink_;
      spdlog::warn("shipper: the collector refused a batch of {} lines ({} bytes) as too large; "
                   "sending at most {} lines, {} bytes from now on",
                   lines, req.body.size(), std::max<size_t>(1, opt_.batch_events >> shrink_),
                   std::max<uint64_t>(1, opt_.batch_bytes >> shrink_));
      return true;
    }
    // One line the collector will never take: skip it (counted), or it stalls everything.
    spdlog::error("shipper: the collector refused one event line of {} bytes as too large "
                  "(collector.max_batch_bytes); skipped", req.body.size());
    std::lock_guard lock(mu_);
    ++stats_.refused_lines;
    stats_.skipped_bytes += req.body.size();
    error.clear();
    refused = true;
  }
  if (!error.empty()) {
    {
      std::lock_guard lock(mu_);
      ++stats_.failures;
      stats_.last_error = error;
      stats_.lag_ms = lag_ms;
    }
    updateLag();
    return core::Status::unavailable(error);
  }
  pos_.offset = offset;
  pos_.head_len = head.len;
  pos_.head_hash = head.hash;
  auto st = savePosition();
  if (!st) spdlog::warn("shipper: {}", st.message());  // resent after a restart; deduplicated
  {
    std::lock_guard lock(mu_);
    if (!refused) {
      stats_.events += lines;
      stats_.bytes += req.body.size();
      ++stats_.batches;
    }
    stats_.last_success_us = nowUs();
    stats_.lag_ms = lag_ms;
    stats_.last_error.clear();
  }
  updateLag();
  return true;
}

core::Status Shipper::sendHeartbeat() {
  std::string url = opt_.url;
  const size_t at = url.rfind("/ingest");
  if (at == std::string::npos) return core::Status::ok();
  url.replace(at, 7, "/heartbeat");
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.body = status_json_ ? status_json_() : "{}";
  req.timeout_s = opt_.timeout_s;
  req.verify_tls = opt_.verify_tls;
  req.ca_file = opt_.ca_file;
  int64_t lag;
  {
    std::lock_guard lock(mu_);
    lag = stats_.lag_ms;
  }
  req.headers = {{"Authorization", "Bearer " + opt_.token},
                 {"Content-Type", "application/json"},
                 {"X-Drosera-Sensor", opt_.sensor_id},
                 {"X-Drosera-Lag-Ms", std::to_string(lag)}};
  auto resp = client_->send(req);
  if (!resp) return resp.status();
  if (resp->status < 200 || resp->status >= 300) {
    return core::Status::unavailable("heartbeat answered " + std::to_string(resp->status));
  }
  return core::Status::ok();
}

void Shipper::run() {
  std::mt19937 rng(std::random_device{}());
  double backoff = opt_.initial_backoff_s;
  auto last_contact = std::chrono::steady_clock::now();
  auto last_error_log = std::chrono::steady_clock::time_point();
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto r = core::failOnOutOfMemory([&] { return shipOnce(); });
    double wait = opt_.poll_interval_s;
    if (!r) {
      // Exponential backoff with jitter while the collector is away.
      wait = backoff * (0.5 + std::uniform_real_distribution<double>(0, 1)(rng));
      backoff = std::min(backoff * 2, opt_.max_backoff_s);
      const auto now = std::chrono::steady_clock::now();
      if (last_error_log == std::chrono::steady_clock::time_point() ||
          now - last_error_log > std::chrono::seconds(30)) {
        last_error_log = now;
        spdlog::warn("shipper: {} (retrying; nothing is lost)", r.status().message());
      }
    } else {
      backoff = opt_.initial_backoff_s;
      if (*r) {
        last_contact = std::chrono::steady_clock::now();
        wait = 0;  // more may be waiting
      } else if (std::chrono::steady_clock::now() - last_contact >
                 std::chrono::duration<double>(opt_.heartbeat_s)) {
        if (sendHeartbeat()) last_contact = std::chrono::steady_clock::now();
      }
    }
    lock.lock();
    if (wait > 0) cv_.wait_for(lock, std::chrono::duration<double>(wait), [&] { return stop_; });
  }
}

void Shipper::start() {
  std::lock_guard lock(mu_);
  stop_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Shipper::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ShipperStats Shipper::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace drosera::sensor

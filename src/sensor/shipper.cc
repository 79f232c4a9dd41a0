#include "sensor/shipper.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "core/out_of_memory.h"
#include "http/parser.h"
#include "sensor/event_record.h"

namespace drosera::sensor {
namespace fs = std::filesystem;
namespace {

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

uint64_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// The event log files in shipping order: rotated files by number, then the current one. A
// rotation can rename the current file while the folder is read: it is then in neither list
// (its new name came too late for the scan, its old one names the next file), and the shipper
// standing in it took it for gone. So the folder is read again until the current file is the
// same before and after. `during` (tests) runs between the scan and the stat of the current file.
std::vector<LogFile> logFiles(const std::string& current, const std::function<void()>& during) {
  const fs::path p(current);
  const std::string base = p.filename().string() + ".";
  std::vector<LogFile> out;
  auto add = [&](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      out.push_back({path, static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size)});
    }
  };
  // A few times at most: the log does not rotate that often while a folder is read.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const uint64_t before = inodeOf(current);
    std::vector<std::pair<uint64_t, std::string>> rotated;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p.has_parent_path() ? p.parent_path() : ".", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(base, 0) != 0) continue;
      const std::string num = name.substr(base.size());
      if (num.empty() || num.size() > 19 ||
          num.find_first_not_of("0123456789") != std::string::npos) {
        continue;
      }
      rotated.emplace_back(std::stoull(num), e.path().string());
    }
    std::sort(rotated.begin(), rotated.end());
    if (during) during();
    out.clear();
    for (const auto& [n, path] : rotated) add(path);
    add(current);
    const uint64_t after = !out.empty() && out.back().path == current ? out.back().inode : 0;
    if (before == after) break;
  }
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

// What a position in `f` knows it by: the hash of its first complete lines (up to kHeadBytes;
// those never change, where a torn last line may be cut back by the writer), or of its first
// bytes whatever they are when `f` is a rotated file (`written`: the sensor writes it no more).
// {0, 0} when there is nothing to know it by yet: no position is taken in such a file, since
// its inode alone may be that of a removed file the shipper once stood in.
struct Head {
  uint64_t len = 0, hash = 0;
};
Head headOf(const LogFile& f, bool written) {
  Head head;
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return head;
  struct stat st {};
  std::string buf(kHeadBytes, '\0');
  const ssize_t n = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_ino) == f.inode
                        ? ::pread(fd, buf.data(), buf.size(), 0)
                        : -1;
  if (n <= 0) {
    ::close(fd);
    return head;
  }
  buf.resize(static_cast<size_t>(n));
  if (!written) {
    const size_t nl = buf.rfind('\n');
    if (nl == std::string::npos) {
      // A first line longer than kHeadBytes: its first kHeadBytes are as fixed as a whole
      // line's once it has its end (lines go up to kMaxEventLineBytes; without this, a file
      // whose first line is long was never moved into, and the shipper stalled at the end of
      // the file before it).
      bool whole = false;
      std::string more(64 * 1024, '\0');
      for (uint64_t at = buf.size();
           !whole && at < static_cast<uint64_t>(st.st_size) && at <= kMaxEventLineBytes;) {
        const ssize_t m = ::pread(fd, more.data(), more.size(), static_cast<off_t>(at));
        if (m <= 0) break;
        whole = std::memchr(more.data(), '\n', static_cast<size_t>(m)) != nullptr;
        at += static_cast<uint64_t>(m);
      }
      ::close(fd);
      if (!whole || buf.size() < kHeadBytes) return head;
      return {buf.size(), fnv1a(buf)};
    }
    buf.resize(nl + 1);
  }
  ::close(fd);
  return {buf.size(), fnv1a(buf)};
}

// Whether `f` is the file a position was taken in: same inode, same first bytes. kMoved: the
// path names another file since it was listed (a rotation; list again).
enum class Same { kYes, kNo, kMoved };
Same sameFile(const LogFile& f, uint64_t inode, uint64_t head_len, uint64_t head_hash) {
  if (f.inode != inode) return Same::kNo;
  if (head_len == 0) return Same::kYes;  // saved before positions had heads (never now)
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

// "received_at":"2026-11-30T07:42:49.163438Z" of the drosera object of an event line, in
// microseconds; 0 if absent. The request's headers come first in the line, and their names are
// the client's (a header "received_at: 1970-01-01T00:00:01" made the lag 57 years): the drosera
// object, written last, is found from the end. No client string can hold `"drosera":{` (its
// quotes are escaped), and in that object received_at comes before any string of the client's.
int64_t receivedAt(std::string_view line) {
  const size_t object = line.rfind("\"drosera\":{");
  if (object == std::string_view::npos) return 0;
  const size_t at = line.find("\"received_at\":\"", object);
  constexpr size_t kKey = sizeof("\"received_at\":\"") - 1;
  if (at == std::string_view::npos || at + kKey + 20 > line.size()) return 0;
  std::tm tm{};
  const std::string ts(line.substr(at + kKey, 19));
  if (!strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

// Seconds a Retry-After header asks for (delta-seconds only); 0 if none.
double retryAfter(const std::vector<core::Header>& headers) {
  for (const auto& h : headers) {
    if (!http::iequals(h.name, "Retry-After")) continue;
    if (h.value.empty() || h.value.find_first_not_of("0123456789 ") != std::string::npos) return 0;
    return std::min(std::strtod(h.value.c_str(), nullptr), 86400.0);
  }
  return 0;
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
    // The start of a file known by its inode alone (saved by an older version at the start of
    // an empty file): that inode may be another file's by now, so the oldest file it is.
    if (pos_.head_len == 0 && pos_.offset == 0) pos_ = {};
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
  const auto files = logFiles(opt_.event_log, {});
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
  retry_after_s_ = 0;
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
  auto files = logFiles(opt_.event_log, opt_.during_listing_for_test);
  if (files.empty()) return false;
  if (opt_.after_listing_for_test) opt_.after_listing_for_test();
  // Where are we? The file with our inode and first bytes.
  size_t idx = files.size();
  for (int listing = 0;; ++listing) {
    for (size_t i = 0; i < files.size(); ++i) {
      switch (sameFile(files[i], pos_.inode, pos_.head_len, pos_.head_hash)) {
        case Same::kYes:
          idx = i;
          break;
        case Same::kNo:
          break;
        case Same::kMoved:
          *rotated_meanwhile_out = true;
          return false;
      }
    }
    // Not there: list once more before taking it for gone (a listing that missed the file being
    // renamed made the shipper count it lost and start again from the oldest file).
    if (idx < files.size() || pos_.inode == 0 || listing == 1) break;
    files = logFiles(opt_.event_log, {});
    if (files.empty()) return false;
  }
  if (idx == files.size()) {
    if (pos_.inode != 0) {
      spdlog::error("shipper: the event log file at the saved position is gone; continuing with "
                    "the oldest file (events in between were rotated away before shipping: "
                    "raise event_log.keep_files, or the collector was away too long)");
      std::lock_guard lock(mu_);
      ++stats_.lost_files;
    }
    // The oldest file there is; a position in it once it has a line to be known by (until
    // then the position stays "the oldest file": inode 0).
    idx = 0;
    const Head h = headOf(files[0], files.size() > 1);
    const Position oldest = h.len ? Position{files[0].inode, 0, h.len, h.hash} : Position{};
    skip_to_newline_ = false;
    if (oldest != pos_) {
      pos_ = oldest;
      savePosition();
    }
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
  // One read holds the longest line the sensor writes, whatever the batch size.
  const uint64_t window = std::max<uint64_t>(opt_.batch_bytes, kMaxEventLineBytes);
  // Read whole lines from the current file; at its end, move on if a newer file exists.
  std::string batch;
  size_t lines = 0;
  int64_t first_received = 0;
  bool rotated_meanwhile = false;
  // Where reading stands: files[idx] at `offset`, known by `head`; and where the batch starts.
  uint64_t offset = pos_.offset;
  Head head{pos_.head_len, pos_.head_hash};
  Position from;
  while (true) {
    const LogFile& f = files[idx];
    const bool written = idx + 1 < files.size();  // a rotated file: the sensor writes it no more
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
      const uint64_t start = offset;
      const uint64_t want = std::min<uint64_t>(f.size - offset, window);
      std::string buf(want, '\0');
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return core::Status::fromErrno("cannot read " + f.path, err);
      }
      buf.resize(static_cast<size_t>(n));
      // The read reached the end of the file as listed (or as it is, if it is shorter now).
      const bool to_end = buf.size() < want || start + buf.size() >= f.size;
      size_t used = 0;
      if (skip_to_newline_) {
        // The rest of a line too long to ship: up to its end.
        const size_t nl = buf.find('\n');
        used = nl == std::string::npos ? buf.size() : nl + 1;
        skip_to_newline_ = nl == std::string::npos;
        std::lock_guard lock(mu_);
        stats_.skipped_bytes += used;
      }
      while (lines < max_events) {
        size_t nl = buf.find('\n', used);
        if (nl == std::string::npos) break;
        if (!batch.empty() && batch.size() + (nl + 1 - used) > max_bytes) break;
        std::string_view line(buf.data() + used, nl + 1 - used);
        if (lines == 0) {
          first_received = receivedAt(line);
          if (head.len) from = {f.inode, start + used, head.len, head.hash};
        }
        batch.append(line);
        ++lines;
        used = nl + 1;
      }
      offset += used;
      const size_t rest = buf.size() - used;  // read, not taken: a line not whole in this read
      const bool full = lines >= max_events || (!batch.empty() && rest > 0);
      if (!full && rest > 0 && used == 0 && buf.size() == window) {
        // No end of line in a whole read: a line longer than any the sensor writes
        // (kMaxEventLineBytes). Skipped to its end rather than stall everything, and counted
        // as a line lost; no piece of it is shipped as a line of its own.
        spdlog::error(
            "shipper: a line of more than {} bytes at offset {} of {} is longer than "
            "any the sensor writes; skipped",
            buf.size(), start, f.path);
        {
          std::lock_guard lock(mu_);
          ++stats_.refused_lines;
          stats_.skipped_bytes += rest;
        }
        offset += rest;
        skip_to_newline_ = true;
      } else if (!full && rest > 0 && to_end && written) {
        // A rotated file ends with a line without its end: the torn tail of a crash (the
        // sensor ends every line it writes). Skipped; it never grows.
        spdlog::warn("shipper: skipped the torn last line ({} bytes) of {}", rest, f.path);
        {
          std::lock_guard lock(mu_);
          stats_.skipped_bytes += rest;
        }
        offset += rest;
      }
      // The first bytes of this file, to know it again (taken once, then fixed).
      if (std::min(offset, kHeadBytes) > head.len) {
        uint64_t h = 0;
        const uint64_t len = std::min(offset, kHeadBytes);
        if (headHash(fd, len, &h)) head = {len, h};
      }
      ::close(fd);
      if (full) break;
      if (offset < f.size) {
        if (to_end) break;  // a partial last line of the current file: wait for the rest
        continue;           // more of this file than one read
      }
    }
    // At the end of this file: a rotated file is complete; continue with the next one that
    // has something to be known by.
    if (rotated_meanwhile || !written || !batch.empty()) break;  // ship what we have first
    size_t next = idx + 1;
    Head h;
    for (; next < files.size(); ++next) {
      h = headOf(files[next], next + 1 < files.size());
      if (h.len || next + 1 == files.size()) break;  // an empty rotated file holds nothing
    }
    // The current file has no complete line yet: stay at the end of this one until it has.
    if (!h.len) break;
    idx = next;
    offset = 0;
    head = h;
    skip_to_newline_ = false;
  }
  *rotated_meanwhile_out = rotated_meanwhile;
  // Where reading stopped, as a position; none (the oldest file) in a file not known yet.
  Position at{files[idx].inode, offset, head.len, head.hash};
  if (!head.len && !offset) at = {};
  if (batch.empty()) {
    if (at != pos_) {
      pos_ = at;
      savePosition();
    }
    updateLag();
    return false;
  }

  http::ClientRequest req;
  req.method = "POST";
  req.url = opt_.url;
  const uint64_t line_bytes = batch.size();
  bool packed = false;
  std::string content_type = "application/x-ndjson";
  if (opt_.pack && !unpacked_next_) {
    std::string p;
    packed = opt_.pack(batch, &p, &content_type);
    if (packed) batch = std::move(p);
  }
  req.body = std::move(batch);
  req.timeout_s = opt_.timeout_s;
  req.verify_tls = opt_.verify_tls;
  req.ca_file = opt_.ca_file;
  const int64_t lag_ms = first_received ? std::max<int64_t>(0, (nowUs() - first_received) / 1000) : 0;
  req.headers = {{"Authorization", "Bearer " + opt_.token},
                 {"Content-Type", content_type},
                 {"X-Drosera-Sensor", opt_.sensor_id},
                 {"X-Drosera-Lag-Ms", std::to_string(lag_ms)}};
  retry_after_s_ = 0;
  auto resp = client_->send(req);
  if (resp && opt_.answered) opt_.answered(resp->status, resp->body, packed);
  std::string error;
  bool refused = false;  // one line the collector will never take, skipped
  if (!resp) {
    error = resp.status().message();
  } else if (resp->status < 200 || resp->status >= 300) {
    error = "collector answered " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200);
    retry_after_s_ = retryAfter(resp->headers);
  }
  unpacked_next_ = false;
  if (resp && resp->status == 413) {
    if (packed && lines == 1) {
      // Packed, one line can be larger than the line itself (an incompressible request body is
      // in the packed body twice: raw and decoded): it goes again as the line.
      spdlog::warn(
          "shipper: the collector refused one packed event of {} bytes as too large; "
          "sending it as its line of {} bytes",
          req.body.size(), line_bytes);
      unpacked_next_ = true;
      return true;
    }
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
    spdlog::error(
        "shipper: the collector refused one event line of {} bytes as too large "
        "(collector.max_batch_bytes); skipped",
        line_bytes);
    std::lock_guard lock(mu_);
    ++stats_.refused_lines;
    stats_.skipped_bytes += line_bytes;
    error.clear();
    refused = true;
  }
  if (!error.empty()) {
    // Nothing shipped; but the position moves to where the batch starts when that is further
    // (the next file, past a skipped line), so that the file it is in is known, and counted
    // lost if the quota removes it before the collector is back.
    if (from.inode && from != pos_) {
      pos_ = from;
      savePosition();
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.failures;
      stats_.last_error = error;
      stats_.lag_ms = lag_ms;
    }
    updateLag();
    return core::Status::unavailable(error);
  }
  pos_ = at;
  auto st = savePosition();
  if (!st) spdlog::warn("shipper: {}", st.message());  // resent after a restart; deduplicated
  {
    std::lock_guard lock(mu_);
    if (!refused) {
      stats_.events += lines;
      stats_.bytes += line_bytes;
      stats_.sent_bytes += req.body.size();
      ++stats_.batches;
      if (packed) ++stats_.packed_batches;
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
  retry_after_s_ = 0;
  auto resp = client_->send(req);
  if (!resp) return resp.status();
  if (resp->status < 200 || resp->status >= 300) {
    retry_after_s_ = retryAfter(resp->headers);
    return core::Status::unavailable("heartbeat answered " + std::to_string(resp->status));
  }
  return core::Status::ok();
}

void Shipper::run() {
  using Clock = std::chrono::steady_clock;
  std::mt19937 rng(std::random_device{}());
  // Exponential backoff with jitter, and no sooner than the collector's Retry-After asks.
  auto delay = [&](double backoff) {
    const double jittered = backoff * (0.5 + std::uniform_real_distribution<double>(0, 1)(rng));
    return std::max(jittered, std::min(retry_after_s_, opt_.max_backoff_s));
  };
  double backoff = opt_.initial_backoff_s;            // batches failed in a row
  double heartbeat_backoff = opt_.initial_backoff_s;  // heartbeats failed in a row
  auto last_contact = Clock::now();
  Clock::time_point next_heartbeat;  // after a failed one, not before this
  Clock::time_point last_error_log;
  auto logFailure = [&](const std::string& what) {
    const auto now = Clock::now();
    if (last_error_log == Clock::time_point() || now - last_error_log > std::chrono::seconds(30)) {
      last_error_log = now;
      spdlog::warn("shipper: {} (retrying; nothing is lost)", what);
    }
  };
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto r = core::failOnOutOfMemory([&] { return shipOnce(); });
    double wait = opt_.poll_interval_s;
    if (!r) {
      // While the collector is away.
      wait = delay(backoff);
      backoff = std::min(backoff * 2, opt_.max_backoff_s);
      logFailure(r.status().message());
    } else {
      backoff = opt_.initial_backoff_s;
      const auto now = Clock::now();
      if (*r) {
        last_contact = now;
        wait = 0;  // more may be waiting
      } else if (now - last_contact > std::chrono::duration<double>(opt_.heartbeat_s) &&
                 now >= next_heartbeat) {
        // A failed heartbeat is retried with the same backoff as a failed batch, not at every
        // poll; the polls for new lines go on meanwhile.
        auto hb = core::failOnOutOfMemory([&] { return sendHeartbeat(); });
        if (hb) {
          last_contact = Clock::now();
          heartbeat_backoff = opt_.initial_backoff_s;
        } else {
          next_heartbeat =
              Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(delay(heartbeat_backoff)));
          heartbeat_backoff = std::min(heartbeat_backoff * 2, opt_.max_backoff_s);
          logFailure("heartbeat: " + hb.message());
        }
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

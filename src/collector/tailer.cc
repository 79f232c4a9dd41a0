#include "collector/tailer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "collector/collector.h"
#include "collector/parse.h"

namespace drosera::collector {
namespace {

constexpr size_t kReadChunk = 4u << 20;
constexpr size_t kBatch = 500;
constexpr uint64_t kFingerprintBytes = 256;

int64_t mtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string identOf(const struct stat& st) {
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Files in the folder of `path` that a rotation may have produced: <name>.<x> and <name>-<x>,
// <x> made of digits and the separators of dates (.1, -20261130, .2026-11-30_1200); not
// <name>.bak, <name>-site2 (another log), nor compressed files.
std::vector<std::string> siblings(const std::string& path) {
  std::vector<std::string> out;
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(
           p.has_parent_path() ? p.parent_path() : std::filesystem::path("."), ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > name.size() + 1 && n.rfind(name, 0) == 0 &&
        (n[name.size()] == '.' || n[name.size()] == '-') &&
        n.find_first_not_of("0123456789.-_", name.size() + 1) == std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

// Whether the rotated file `a` is older than `b` when their last writes carry the same time
// (copied with their times, a coarse clock): by the names a rotation gives. A small number
// counts rotations (logrotate: .2 is older than .1); anything else is a date or a time
// (-20261129 is older than -20261130).
bool olderByName(const std::string& a, const std::string& b, size_t base) {
  const std::string fa = std::filesystem::path(a).filename().string();
  const std::string fb = std::filesystem::path(b).filename().string();
  const std::string x = fa.substr(std::min(base + 1, fa.size()));
  const std::string y = fb.substr(std::min(base + 1, fb.size()));
  auto counter = [](const std::string& s) {
    return !s.empty() && s.size() <= 4 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  const bool cx = counter(x), cy = counter(y);
  if (cx != cy) return cx;  // names of both kinds (seldom): counts first, an order all the same
  if (cx) return std::stoi(x) > std::stoi(y);
  return x < y;
}

int64_t systemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

FileTailer::FileTailer(core::TailConfig config, Collector& collector, TailerOptions options)
    : config_(std::move(config)), collector_(collector), options_(std::move(options)) {
  sensor_ = config_.sensor.empty() ? std::filesystem::path(config_.path).filename().string()
                                   : config_.sensor;
}

FileTailer::~FileTailer() {
  stop();
  closeFile(cur_);
  closeFile(old_);
  for (Source& s : backlog_) closeFile(s);
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
    uint64_t n = 0;
    try {
      n = pollOnce();
    } catch (const std::bad_alloc&) {
      // What was read and not stored is read again from where the last batch committed.
      try {
        error("out of memory");
      } catch (const std::bad_alloc&) {
      }
    }
    lock.lock();
    if (n == 0) cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_; });
  }
}

int64_t FileTailer::now() const { return options_.now_us ? options_.now_us() : systemNowUs(); }

void FileTailer::error(const std::string& e) {
  std::lock_guard lock(mu_);
  if (last_error_ != e) spdlog::warn("tail {}: {}", config_.path, e);
  last_error_ = e;
}

bool FileTailer::resume() {
  auto offsets = collector_.store().fileOffsets();
  if (!offsets) {
    // Reading from byte 0 instead would store again what retention has deleted since.
    error("store: cannot read the saved positions, waiting: " + offsets.status().message());
    return false;
  }
  // A resume cut short (out of memory) is done again from the start.
  closeFile(cur_);
  closeFile(old_);
  for (Source& b : backlog_) closeFile(b);
  backlog_.clear();
  // Opens `file` into `s` at the furthest position saved for it that still matches it (same
  // device and inode, same first bytes); false when there is none. `saved_us`: when it was saved.
  auto reopen = [&](const std::string& file, Source& s, int64_t& saved_us) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return false;
    const std::string prefix = identOf(st) + ":";
    uint64_t best = 0;
    for (const auto& o : *offsets) {
      if (o.path != config_.path || o.key.rfind(prefix, 0) != 0) continue;
      if (o.offset <= best || o.offset > static_cast<uint64_t>(st.st_size)) continue;
      if (s.fd < 0 && !openFile(s, file, 0)) return false;
      if (positionKey(s, o.offset) == o.key) {
        best = o.offset;
        saved_us = o.updated_us;
      }
    }
    if (best == 0) {
      closeFile(s);
      return false;
    }
    s.offset = best;
    s.fp_at_offset = fingerprint(s, best);
    return true;
  };
  // The file at the path, where it was left; without a saved position it is read from byte 0.
  // `reference`: the last-modified time of the file that holds the newest saved position, the
  // one read last before the restart.
  int64_t saved_us = 0, newest_saved = -1, reference = INT64_MIN;
  struct stat path_st {};
  const std::string path_ident =
      ::stat(config_.path.c_str(), &path_st) == 0 ? identOf(path_st) : "";
  if (reopen(config_.path, cur_, saved_us)) {
    newest_saved = saved_us;
    reference = mtimeNs(path_st);
  }
  // Files rotated away with bytes left to read, oldest first:
  //  * with a saved position and bytes past it (rotated while we were down, or left while their
  //    late writes were still read);
  //  * without one, written after the last save or the last write of the file read last,
  //    whichever is earlier (rotated away whole while we were down, after two rotations or
  //    more; or a copytruncate copy); older ones are history from before (left alone), and so
  //    is every sibling on a first start.
  struct Left {
    Source s;
    int64_t mtime = 0;
    std::string path;
  };
  std::vector<Left> left;
  std::vector<std::pair<std::string, int64_t>> unknown;  // siblings without a saved position
  std::set<std::string> seen{path_ident};
  for (const auto& sib : siblings(config_.path)) {
    struct stat st {};
    if (::stat(sib.c_str(), &st) != 0 || !seen.insert(identOf(st)).second) continue;
    Source s;
    if (!reopen(sib, s, saved_us)) {
      unknown.emplace_back(sib, mtimeNs(st));
      continue;
    }
    if (saved_us > newest_saved) {
      newest_saved = saved_us;
      reference = mtimeNs(st);
    }
    if (s.offset < static_cast<uint64_t>(st.st_size)) {
      left.push_back(Left{std::move(s), mtimeNs(st), sib});
    } else {
      closeFile(s);
    }
  }
  // Written after the last save also counts: the file read last may have had late writes
  // after a newer one was rotated away. And when no file holds a saved position any more
  // (copytruncate while we were down: the file at the path was emptied, its copy is a new file),
  // the last save is all there is.
  int64_t last_save = INT64_MIN;
  for (const auto& o : *offsets) {
    if (o.path == config_.path) last_save = std::max(last_save, o.updated_us * 1000);
  }
  if (last_save != INT64_MIN) {
    reference = reference == INT64_MIN ? last_save : std::min(reference, last_save);
  }
  if (reference != INT64_MIN) {
    for (const auto& [sib, mtime] : unknown) {
      Source s;
      if (mtime >= reference && openFile(s, sib, 0)) left.push_back(Left{std::move(s), mtime, sib});
    }
  }
  const size_t base = std::filesystem::path(config_.path).filename().string().size();
  std::sort(left.begin(), left.end(), [&](const Left& a, const Left& b) {
    if (a.mtime != b.mtime) return a.mtime < b.mtime;
    return olderByName(a.path, b.path, base);
  });
  // The newest is read alongside the file at the path, as after a rotation (it may still be
  // written); the others in the backlog, the oldest first, each to its end.
  for (size_t i = 0; i < left.size(); ++i) {
    if (i + 1 < left.size()) {
      left[i].s.superseded = true;
      backlog_.push_back(std::move(left[i].s));
    } else {
      old_ = std::move(left[i].s);
      old_.rotated_at_us = now();
    }
  }
  resumed_ = true;
  return true;
}

uint64_t FileTailer::pollOnce() {
  if (!resumed_ && !resume()) return 0;  // nothing is read before we know where to start
  const int64_t t = now();
  struct stat path_st {};
  const bool exists = ::stat(config_.path.c_str(), &path_st) == 0;
  const std::string path_ident = exists ? identOf(path_st) : "";
  if (cur_.fd >= 0 && path_ident != cur_.ident) {
    // Rotated away (renamed or deleted): it becomes the old file, read while it may be written.
    if (old_.fd >= 0) {
      old_.superseded = true;  // two generations old: it is finished first, then this one moves
    } else {
      old_ = std::move(cur_);
      cur_ = Source{};
      old_.rotated_at_us = t;
    }
  }
  if (cur_.fd < 0 && old_.fd >= 0 && path_ident == old_.ident) {  // renamed back
    cur_ = std::move(old_);
    old_ = Source{};
    cur_.rotated_at_us = 0;
    cur_.superseded = false;
  }
  if (cur_.fd < 0 && exists && !openFile(cur_, config_.path, 0)) {
    error(std::string("cannot open: ") + std::strerror(errno));
  }
  uint64_t handled = 0;
  if (!backlog_.empty()) {
    bool ok = true;
    handled += pollSource(backlog_.front(), ok);
    if (ok && retire(backlog_.front())) backlog_.pop_front();
  }
  if (old_.fd >= 0) {
    bool ok = true;
    handled += pollSource(old_, ok);
    const int64_t grace = options_.rotation_grace_us;
    if (ok && (old_.superseded ||
               (t - old_.rotated_at_us >= grace && t - old_.last_growth_us >= grace))) {
      retire(old_);
    }
  }
  if (cur_.fd >= 0) {
    bool ok = true;
    handled += pollSource(cur_, ok);
  }
  std::lock_guard lock(mu_);
  offset_ = cur_.offset;
  old_offset_ = old_.fd >= 0 ? static_cast<int64_t>(old_.offset) : -1;
  backlog_files_ = backlog_.size();
  return handled;
}

uint64_t FileTailer::pollSource(Source& s, bool& ok) {
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) {
    error(std::string("fstat: ") + std::strerror(errno));
    ok = false;
    return 0;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < s.offset || (s.offset > 0 && fingerprint(s, s.offset) != s.fp_at_offset)) {
    // Truncated in place (copytruncate), maybe written again past our position already: the
    // first bytes are not the ones we read. Start again from the beginning.
    s.offset = 0;
    s.fp_at_offset.clear();
    s.buffer.clear();
  }
  if (size > s.offset + s.buffer.size()) s.last_growth_us = now();
  // Read what is new.
  const uint64_t read_from = s.offset + s.buffer.size();
  if (size > read_from) {
    const size_t want = std::min<uint64_t>(kReadChunk, size - read_from);
    const size_t old = s.buffer.size();
    s.buffer.resize(old + want);
    const ssize_t n = ::pread(s.fd, s.buffer.data() + old, want, static_cast<off_t>(read_from));
    s.buffer.resize(old + std::max<ssize_t>(n, 0));
  }
  // Split into whole records.
  const std::string& buf = s.buffer;
  std::vector<std::string_view> records;
  size_t consumed = 0;
  uint64_t skipped = 0;  // bytes dropped: junk, torn or oversized records
  const bool native = isNative(buf);
  if (native) {
    // A file read to its end and quiet for a while has no writer in the middle of an entry: an
    // entry there without its Z is torn, and the entries after it need not wait for more.
    const bool settled =
        s.offset + buf.size() >= size && now() - s.last_growth_us >= options_.torn_entry_quiet_us;
    auto split = splitNativeEntries(buf, options_.max_record_bytes,
                                    settled ? NativeTail::kSettled : NativeTail::kGrowing);
    records = std::move(split.entries);
    consumed = split.consumed;
    skipped = split.skipped_bytes;
  } else {
    size_t pos = 0;
    while (pos < buf.size()) {
      const size_t nl = buf.find('\n', pos);
      if (nl == std::string::npos) break;
      records.emplace_back(buf.data() + pos, nl - pos);
      pos = nl + 1;
    }
    consumed = pos;
  }
  if (consumed == 0 && buf.size() > options_.max_record_bytes) {
    // No record ends within the bound (a line or a marker line without its newline): skip it.
    consumed = buf.size();
    skipped = buf.size();
  }
  // Parse and store in batches, each with the offset just past its last record.
  const ParseContext ctx = parseContext();
  std::vector<core::Event> batch;
  uint64_t stored = 0, rejected = 0, batch_rejected = 0;
  size_t done = 0;  // bytes of the buffer covered by committed batches
  auto flush = [&](size_t upto) -> bool {
    const uint64_t end = s.offset + upto;
    const store::FileOffset off{positionKey(s, end), config_.path, end, now()};
    auto r = collector_.write(batch, {off});
    if (!r) {
      error("store: " + r.status().message());
      return false;
    }
    stored += r->inserted;
    rejected += batch_rejected;  // counted once committed: a failed batch is read again
    batch_rejected = 0;
    batch.clear();
    done = upto;
    return true;
  };
  ok = true;
  try {
    size_t last_end = 0;  // where the previous record ended
    for (size_t i = 0; i < records.size() && ok; ++i) {
      const std::string_view rec = records[i];
      const size_t end =
          static_cast<size_t>(rec.data() + rec.size() - buf.data()) + (native ? 0 : 1);
      if (!blank(rec)) {
        core::Result<core::Event> e = parseOne(rec, ctx, native);
        if (e) {
          e->sensor = sensor_;
          batch.push_back(std::move(*e));
        } else if (e.status().code() == core::Status::Code::kUnavailable) {
          // Out of memory, not a bad record: commit what came before it, read it again later.
          if (last_end > done) ok = flush(last_end);
          if (ok) error("parse: " + e.status().message());
          ok = false;
          break;
        } else {
          ++batch_rejected;
        }
      }
      if (batch.size() >= kBatch || i + 1 == records.size()) {
        ok = flush(i + 1 == records.size() ? consumed : end);
      }
      last_end = end;
    }
    if (records.empty() && consumed > 0) ok = flush(consumed);  // skipped bytes only
  } catch (const std::bad_alloc&) {
    // Out of memory: what the committed batches covered is behind us (below), the rest is read
    // again.
    ok = false;
  }
  // What committed batches covered is behind us, even when a later batch failed (reading it
  // again would only find duplicates); the rest is read again from there next time.
  s.buffer.erase(0, done);
  s.offset += done;
  if (done > 0) s.fp_at_offset = fingerprint(s, s.offset);
  if (!ok) s.buffer.clear();
  std::lock_guard lock(mu_);
  events_ += stored;
  rejected_ += rejected;
  // Skipped bytes are known for the whole pass only: a pass that failed is counted when it is
  // read again, without what its committed batches held (an undercount after a store error,
  // never a double count).
  if (ok) skipped_bytes_ += skipped;
  return stored + rejected;
}

bool FileTailer::retire(Source& s) {
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) return false;
  const uint64_t end = s.offset + s.buffer.size();
  if (end < static_cast<uint64_t>(st.st_size)) return false;  // not read to its end yet
  if (!s.buffer.empty()) {
    // Nothing more will be appended to what is left. Native entries held there (behind an entry
    // without its Z, whose writer died) are stored, and only what forms no entry is left over. A
    // JSON record that lacks only its newline (a writer that ends its records otherwise, or
    // stopped just before the newline) is stored. Anything else (a line cut by a full disk, an
    // entry whose writer died) is one rejected record. Either way the end is committed, so that
    // no restart waits for it.
    const ParseContext ctx = parseContext();
    std::vector<core::Event> last;
    uint64_t unparsed = 0;
    uint64_t leftover = s.buffer.size();  // bytes that form no record
    auto take = [&](core::Result<core::Event> e) {
      if (e) {
        e->sensor = sensor_;
        last.push_back(std::move(*e));
        return true;
      }
      if (e.status().code() == core::Status::Code::kUnavailable) {
        error("parse: " + e.status().message());  // out of memory: tried again later
        return false;
      }
      ++unparsed;
      return true;
    };
    const size_t first = s.buffer.find_first_not_of(" \t\r\n");
    if (isNative(s.buffer)) {
      const NativeSplit split =
          splitNativeEntries(s.buffer, options_.max_record_bytes, NativeTail::kFinished);
      for (std::string_view rec : split.entries) {
        if (!take(parseOne(rec, ctx, true))) return false;
      }
      leftover = split.skipped_bytes;
    } else if (first != std::string::npos && s.buffer[first] == '{') {
      if (!take(parseOne(s.buffer, ctx, false))) return false;
      if (!last.empty()) leftover = 0;
      unparsed = 0;  // counted below as the leftover it is
    }
    const store::FileOffset off{positionKey(s, end), config_.path, end, now()};
    auto r = collector_.write(last, {off});
    if (!r) {
      error("store: " + r.status().message());
      return false;
    }
    std::lock_guard lock(mu_);
    events_ += r->inserted;
    rejected_ += unparsed;
    if (leftover > 0 && !blank(s.buffer)) {
      ++rejected_;
      skipped_bytes_ += leftover;
    }
  }
  closeFile(s);
  return true;
}

bool FileTailer::openFile(Source& s, const std::string& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  closeFile(s);
  struct stat st {};
  ::fstat(fd, &st);
  s.fd = fd;
  s.ident = identOf(st);
  s.offset = offset;
  s.last_growth_us = now();
  s.fp_at_offset = offset > 0 ? fingerprint(s, offset) : "";
  return true;
}

void FileTailer::closeFile(Source& s) { s = Source{}; }  // the descriptor closes with it

std::string FileTailer::fingerprint(const Source& s, uint64_t upto) const {
  const uint64_t n = std::min(upto, kFingerprintBytes);
  std::string head(n, '\0');
  const ssize_t got = n ? ::pread(s.fd, head.data(), n, 0) : 0;
  head.resize(std::max<ssize_t>(got, 0));
  char buf[48];
  std::snprintf(buf, sizeof buf, "%zu:%016llx", head.size(),
                static_cast<unsigned long long>(fnv1a(head)));
  return buf;
}

ParseContext FileTailer::parseContext() const {
  ParseContext ctx;
  ctx.sensor = sensor_;
  ctx.utc_offset_minutes = config_.utc_offset_minutes;
  ctx.fallback_time_us = now();
  return ctx;
}

bool FileTailer::isNative(std::string_view buffer) const {
  if (config_.format == "modsec2-native") return true;
  const size_t first = buffer.find_first_not_of(" \t\r\n");
  return config_.format == "auto" && first != std::string_view::npos && buffer[first] == '-';
}

core::Result<core::Event> FileTailer::parseOne(std::string_view record, const ParseContext& ctx,
                                               bool native) const {
  if (config_.format == "modsec3-json") return parseV3Json(record, ctx);
  if (config_.format == "modsec2-json") return parseV2Json(record, ctx);
  if (native) return parseV2Native(record, ctx);
  return parseRecord(record, ctx);
}

std::string FileTailer::positionKey(const Source& s, uint64_t offset) const {
  return s.ident + ":" + fingerprint(s, offset);
}

std::string FileTailer::statusJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json j = {{"path", config_.path},
                      {"sensor", sensor_},
                      {"offset", offset_},
                      {"rotated_offset", nullptr},
                      {"rotated_backlog", backlog_files_},
                      {"events", events_},
                      {"rejected", rejected_},
                      {"skipped_bytes", skipped_bytes_},
                      {"last_error", last_error_}};
  if (old_offset_ >= 0) j["rotated_offset"] = old_offset_;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace drosera::collector

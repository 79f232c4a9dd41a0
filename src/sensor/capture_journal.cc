#include "sensor/capture_journal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace drosera::sensor {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kMagic = 0x4A524344;  // "DCRJ"
constexpr size_t kHeader = 20;
constexpr uint64_t kMaxRecord = 64ull << 20;

void put32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(unsigned char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t checksum(uint64_t seq, std::string_view payload) {
  uLong c = crc32(0L, reinterpret_cast<const Bytef*>(&seq), sizeof seq);
  // zlib takes uInt lengths; records are far below 4 GiB.
  c = crc32(c, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  return static_cast<uint32_t>(c);
}

bool preadAll(int fd, void* buf, size_t n, uint64_t off) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

void syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Reads the record header at `off`; returns its total length, or 0 if there is no valid record.
uint64_t validRecordAt(int fd, uint64_t off, uint64_t file_size, uint64_t* seq,
                       std::string* payload) {
  if (off + kHeader > file_size) return 0;
  unsigned char h[kHeader];
  if (!preadAll(fd, h, kHeader, off)) return 0;
  if (get32(h) != kMagic) return 0;
  const uint32_t len = get32(h + 4);
  if (len > kMaxRecord || off + kHeader + len > file_size) return 0;
  std::string body(len, '\0');
  if (len && !preadAll(fd, body.data(), len, off + kHeader)) return 0;
  const uint64_t s = get64(h + 12);
  if (checksum(s, body) != get32(h + 8)) return 0;
  *seq = s;
  if (payload) *payload = std::move(body);
  return kHeader + len;
}

}  // namespace

std::string CaptureJournal::segmentPath(uint64_t first_seq) const {
  char name[48];
  std::snprintf(name, sizeof name, "seg-%016" PRIu64 ".cap", first_seq);
  return opt_.dir + "/" + name;
}

core::Result<std::unique_ptr<CaptureJournal>> CaptureJournal::open(const Options& options) {
  std::unique_ptr<CaptureJournal> j(new CaptureJournal());
  j->opt_ = options;
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return core::Status::ioError("cannot create " + options.dir + ": " + ec.message());
  ::chmod(options.dir.c_str(), 0700);
  for (const auto& e : fs::directory_iterator(options.dir, ec)) {
    const std::string name = e.path().filename().string();
    // Exactly "seg-" + 16 digits + ".cap"; anything else in the folder is not ours.
    if (name.size() != 24 || name.compare(0, 4, "seg-") != 0 || name.compare(20, 4, ".cap") != 0 ||
        name.find_first_not_of("0123456789", 4) != 20) {
      continue;
    }
    j->segments_[std::stoull(name.substr(4, 16))] = e.file_size(ec);
  }
  if (ec) return core::Status::ioError("cannot list " + options.dir + ": " + ec.message());

  // Checkpoint: "drosera-journal 1 <seq> <segment> <offset>".
  {
    FILE* f = std::fopen((options.dir + "/checkpoint").c_str(), "r");
    if (f) {
      unsigned long long seq = 0, seg = 0, off = 0;
      if (std::fscanf(f, "drosera-journal 1 %llu %llu %llu", &seq, &seg, &off) == 3) {
        j->checkpoint_seq_ = seq;
        j->checkpoint_pos_ = {seg, off};
      }
      std::fclose(f);
    }
  }

  if (j->segments_.empty()) {
    const uint64_t first = std::max<uint64_t>(j->checkpoint_seq_, 1);
    j->next_seq_ = first;
    j->checkpoint_seq_ = first;
    j->checkpoint_pos_ = {first, 0};
    auto st = j->openSegmentForAppend(first, true);
    if (!st) return st;
    return j;
  }

  // Find the end of the last segment: scan its records, cut a torn tail.
  const uint64_t last = j->segments_.rbegin()->first;
  const std::string path = j->segmentPath(last);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return core::Status::fromErrno("cannot open " + path, errno);
  uint64_t size = j->segments_[last];
  uint64_t off = 0, seq = last - 1, s = 0;
  while (uint64_t n = validRecordAt(fd, off, size, &s, nullptr)) {
    off += n;
    seq = s;
  }
  if (off < size) {
    if (::ftruncate(fd, static_cast<off_t>(off)) != 0) {
      ::close(fd);
      return core::Status::fromErrno("cannot truncate torn journal tail in " + path, errno);
    }
    j->segments_[last] = off;
  }
  ::close(fd);
  j->next_seq_ = seq + 1;
  // A checkpoint past the end of the data (a power loss kept the synced checkpoint but not the
  // last records it covered, which were cut above) starts at the end: the records appended from
  // now on take the positions and seqs of the lost ones, and must be read, not skipped.
  const bool clamp = j->checkpoint_pos_.segment == last &&
                     (j->checkpoint_pos_.offset > off || j->checkpoint_seq_ > j->next_seq_);
  if (clamp) {
    spdlog::warn("capture journal: the checkpoint (seq {}, offset {}) is past the end of the "
                 "journal's data (seq {}, offset {}), lost in a power failure; going on from the "
                 "end",
                 j->checkpoint_seq_, j->checkpoint_pos_.offset, j->next_seq_.load(), off);
    j->checkpoint_pos_ = {last, off};
    j->checkpoint_seq_ = j->next_seq_;
  }
  // A checkpoint before the oldest segment (segments deleted) starts at the oldest segment.
  const uint64_t oldest = j->segments_.begin()->first;
  if (j->checkpoint_pos_.segment < oldest || !j->segments_.count(j->checkpoint_pos_.segment)) {
    j->checkpoint_pos_ = {oldest, 0};
    j->checkpoint_seq_ = oldest;
  }
  auto st = j->openSegmentForAppend(last, false);
  if (!st) return st;
  if (clamp) {
    // On disk too: another crash before the next checkpoint must not start past the captures
    // appended meanwhile (at the lost positions).
    st = j->checkpoint(j->checkpoint_seq_, j->checkpoint_pos_);
    if (!st) return st;
  }
  return j;
}

CaptureJournal::~CaptureJournal() {
  if (write_fd_ >= 0) {
    ::fdatasync(write_fd_);
    ::close(write_fd_);
  }
  if (read_fd_ >= 0) ::close(read_fd_);
}

core::Status CaptureJournal::openSegmentForAppend(uint64_t first_seq, bool create) {
  const std::string path = segmentPath(first_seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
  if (fd < 0) return core::Status::fromErrno("cannot open journal segment " + path, errno);
  if (create) syncDir(opt_.dir);
  int old = -1;
  {
    std::lock_guard lock(meta_mu_);
    old = write_fd_;
    write_fd_ = fd;
    active_ = first_seq;
    active_size_ = create ? 0 : segments_[first_seq];
    segments_[first_seq] = active_size_;
  }
  if (old >= 0) {
    ::fdatasync(old);  // the finished segment is complete on disk before the next one fills
    ::close(old);
  }
  return core::Status::ok();
}

JournalPos CaptureJournal::endPos() const {
  std::lock_guard lock(meta_mu_);
  return {active_, active_size_};
}

JournalPos CaptureJournal::checkpointPos() const {
  std::lock_guard lock(meta_mu_);
  return checkpoint_pos_;
}

uint64_t CaptureJournal::checkpointSeq() const {
  std::lock_guard lock(meta_mu_);
  return checkpoint_seq_;
}

core::Result<JournalRecord> CaptureJournal::append(std::string_view payload) {
  if (payload.size() > kMaxRecord) {
    return core::Status::invalidArgument("capture too large for the journal");
  }
  std::lock_guard append_lock(append_mu_);
  // Only appends change active_/active_size_/write_fd_, so reading them here needs no lock.
  if (active_size_ > 0 && active_size_ + kHeader + payload.size() > opt_.segment_bytes) {
    auto st = openSegmentForAppend(next_seq_.load(), true);
    if (!st) return st;
  }
  const uint64_t seq = next_seq_.load();
  unsigned char h[kHeader];
  put32(h, kMagic);
  put32(h + 4, static_cast<uint32_t>(payload.size()));
  put32(h + 8, checksum(seq, payload));
  put64(h + 12, seq);
  iovec iov[2] = {{h, kHeader}, {const_cast<char*>(payload.data()), payload.size()}};
  const size_t total = kHeader + payload.size();
  size_t done = 0;
  while (done < total) {
    // Skip what was written already.
    iovec v[2];
    int n = 0;
    size_t skip = done;
    for (auto& part : iov) {
      if (skip >= part.iov_len) {
        skip -= part.iov_len;
        continue;
      }
      v[n++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
      skip = 0;
    }
    ssize_t w = ::pwritev(write_fd_, v, n, static_cast<off_t>(active_size_ + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = w < 0 ? errno : EIO;
      // Leave no torn record behind.
      if (::ftruncate(write_fd_, static_cast<off_t>(active_size_)) != 0) {
        // The torn tail is cut at the next open.
      }
      return core::Status::fromErrno("cannot append to the capture journal", err);
    }
    done += static_cast<size_t>(w);
  }
  JournalRecord r;
  r.seq = seq;
  {
    std::lock_guard lock(meta_mu_);
    r.pos = {active_, active_size_};
    active_size_ += total;
    segments_[active_] = active_size_;
    r.next = {active_, active_size_};
  }
  next_seq_.store(seq + 1, std::memory_order_release);  // published after the bytes
  return r;
}

int CaptureJournal::readFd(uint64_t segment) {
  if (read_fd_ >= 0 && read_segment_ == segment) return read_fd_;
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = ::open(segmentPath(segment).c_str(), O_RDONLY | O_CLOEXEC);
  read_segment_ = segment;
  return read_fd_;
}

core::Result<std::optional<JournalRecord>> CaptureJournal::read(JournalPos pos,
                                                                JournalPos* skip_to) {
  while (true) {
    uint64_t size = 0;
    JournalPos after_segment;  // where to go if this segment is damaged
    {
      std::lock_guard lock(meta_mu_);
      auto it = segments_.find(pos.segment);
      if (it == segments_.end()) {
        // The segment is gone (or the position predates it): continue at the next one.
        auto next = segments_.upper_bound(pos.segment);
        if (next == segments_.end()) return std::optional<JournalRecord>();
        pos = {next->first, 0};
        continue;
      }
      auto next = std::next(it);
      if (pos.offset >= it->second) {
        if (next == segments_.end()) return std::optional<JournalRecord>();
        pos = {next->first, 0};
        continue;
      }
      size = it->second;
      after_segment = next == segments_.end() ? JournalPos{active_, active_size_}
                                              : JournalPos{next->first, 0};
    }
    int fd = readFd(pos.segment);
    if (fd < 0) return core::Status::fromErrno("cannot open journal segment", errno);
    JournalRecord r;
    uint64_t n = validRecordAt(fd, pos.offset, size, &r.seq, &r.payload);
    if (n == 0) {
      *skip_to = after_segment;
      return core::Status::corruption("corrupt record in journal segment " +
                                      segmentPath(pos.segment) + " at offset " +
                                      std::to_string(pos.offset));
    }
    r.pos = pos;
    r.next = {pos.segment, pos.offset + n};
    return std::optional<JournalRecord>(std::move(r));
  }
}

core::Status CaptureJournal::sync() {
  int fd = -1;
  {
    std::lock_guard lock(meta_mu_);
    if (write_fd_ >= 0) fd = ::dup(write_fd_);
  }
  if (fd < 0) return core::Status::ok();
  int r = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (r != 0) return core::Status::fromErrno("cannot sync the capture journal", err);
  return core::Status::ok();
}

core::Status CaptureJournal::checkpoint(uint64_t seq, JournalPos pos) {
  const std::string tmp = opt_.dir + "/checkpoint.tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return core::Status::fromErrno("cannot write " + tmp, errno);
  std::fprintf(f, "drosera-journal 1 %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", seq, pos.segment,
               pos.offset);
  bool ok = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), (opt_.dir + "/checkpoint").c_str()) != 0) {
    return core::Status::fromErrno("cannot write the journal checkpoint", errno);
  }
  // Delete segments that end before the checkpoint (never the active one). An open read fd of
  // a deleted segment stays valid; the reader never goes back to it.
  std::vector<uint64_t> doomed;
  {
    std::lock_guard lock(meta_mu_);
    checkpoint_seq_ = seq;
    checkpoint_pos_ = pos;
    for (auto it = segments_.begin(); it != segments_.end();) {
      if (it->first == active_ || it->first >= pos.segment) break;
      doomed.push_back(it->first);
      it = segments_.erase(it);
    }
  }
  for (uint64_t first : doomed) ::unlink(segmentPath(first).c_str());
  return core::Status::ok();
}

uint64_t CaptureJournal::pendingBytes() const {
  std::lock_guard lock(meta_mu_);
  uint64_t total = 0;
  for (const auto& [first, size] : segments_) {
    if (first < checkpoint_pos_.segment) continue;
    total += size;
    if (first == checkpoint_pos_.segment) total -= std::min(size, checkpoint_pos_.offset);
  }
  return total;
}

uint64_t CaptureJournal::diskBytes() const {
  std::lock_guard lock(meta_mu_);
  uint64_t total = 0;
  for (const auto& [first, size] : segments_) total += size;
  return total;
}

}  // namespace drosera::sensor

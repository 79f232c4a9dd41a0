#include "sensor/inspection_pool.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <new>

#include "sensor/capture_codec.h"

namespace drosera::sensor {
namespace {
constexpr size_t kMaxReorder = 4096;  // completed captures waiting for an earlier one

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

InspectionPool::InspectionPool(engine::Inspector& inspector,
                               std::unique_ptr<CaptureJournal> journal, PoolOptions options,
                               VerdictSink sink, SyncFn sync_events)
    : inspector_(inspector),
      journal_(std::move(journal)),
      opt_(options),
      sink_(std::move(sink)),
      sync_events_(std::move(sync_events)) {
  next_dispatch_seq_ = journal_->checkpointSeq();
  next_dispatch_pos_ = journal_->checkpointPos();
}

InspectionPool::~InspectionPool() { stop(0); }

void InspectionPool::start() {
  const uint64_t pending = journal_->nextSeq() - next_dispatch_seq_;
  if (pending > 0) {
    spdlog::info("inspecting {} captures left in the journal by the previous run", pending);
  }
  for (int i = 0; i < std::max(1, opt_.threads); ++i) threads_.emplace_back([this] { worker(); });
  maintenance_ = std::thread([this] { maintenance(); });
}

bool InspectionPool::submit(core::Capture& capture, std::string* why) {
  std::string payload;
  // The journal serialises appends itself; seq order equals append order.
  if (journal_->pendingBytes() > opt_.backlog_max_bytes) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    *why = "backlog_full";
    return false;
  }
  std::unique_lock lock(append_mu_);
  capture.seq = journal_->nextSeq();
  encodeCapture(capture, payload);
  auto rec = journal_->append(payload);
  if (!rec) {
    journal_errors_.fetch_add(1, std::memory_order_relaxed);
    *why = "journal_error";
    return false;
  }
  if (opt_.fsync == FsyncPolicy::kAlways) journal_->sync();
  const size_t bytes = captureFootprint(capture);
  {
    std::lock_guard q(mu_);
    // Keep it in memory only if it continues the run the workers read from memory.
    const bool contiguous = memory_.empty() ? rec->seq == next_dispatch_seq_
                                            : rec->seq == memory_.back().seq + 1;
    if (contiguous && memory_.size() < opt_.queue_max_items &&
        memory_bytes_ + bytes <= opt_.queue_max_bytes) {
      memory_bytes_ += bytes;
      memory_.push_back(Item{rec->seq, rec->pos, rec->next, std::move(capture), bytes});
    }
    backlog_peak_ = std::max(backlog_peak_, rec->seq + 1 - next_dispatch_seq_ +
                                                static_cast<uint64_t>(in_flight_.size()));
  }
  lock.unlock();
  cv_.notify_one();
  return true;
}

bool InspectionPool::take(Item* out) {
  std::lock_guard dispatch(dispatch_mu_);
  while (true) {
    JournalPos pos;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || next_dispatch_seq_ < journal_->nextSeq(); });
      // Bound what waits to be written behind a slow capture.
      reorder_cv_.wait(lock, [&] { return stopping_ || completed_.size() < kMaxReorder; });
      if (stopping_) return false;
      // What may run out of memory (in_flight_, decoding) comes before any change of state:
      // a take() that throws leaves the capture to be taken again.
      if (!memory_.empty() && memory_.front().seq == next_dispatch_seq_) {
        in_flight_.emplace(memory_.front().seq, memory_.front().pos);
        *out = std::move(memory_.front());
        memory_.pop_front();
        memory_bytes_ -= out->bytes;
        next_dispatch_seq_ = out->seq + 1;
        next_dispatch_pos_ = out->next;
        return true;
      }
      pos = next_dispatch_pos_;
    }
    // Not in memory: read it back from the journal, without holding mu_.
    JournalPos skip_to;
    auto r = journal_->read(pos, &skip_to);
    std::unique_lock lock(mu_);
    if (!r) {
      journal_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("capture journal: {}; skipping to the next segment", r.status().message());
      lock.unlock();
      JournalPos ignored;
      auto again = journal_->read(skip_to, &ignored);
      lock.lock();
      next_dispatch_pos_ = skip_to;
      next_dispatch_seq_ = again && again->has_value() ? (*again)->seq : journal_->nextSeq();
      if (!(again && again->has_value())) next_dispatch_pos_ = journal_->endPos();
      continue;
    }
    if (!r->has_value()) {
      // The journal ends earlier than its sequence says (a torn tail was cut at open).
      next_dispatch_seq_ = journal_->nextSeq();
      next_dispatch_pos_ = journal_->endPos();
      continue;
    }
    JournalRecord& rec = **r;
    auto cap = decodeCapture(rec.payload);
    if (cap) in_flight_.emplace(rec.seq, rec.pos);
    next_dispatch_seq_ = rec.seq + 1;
    next_dispatch_pos_ = rec.next;
    // Memory items up to this seq were superseded by the disk read.
    while (!memory_.empty() && memory_.front().seq <= rec.seq) {
      memory_bytes_ -= memory_.front().bytes;
      memory_.pop_front();
    }
    if (!cap) {
      journal_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("capture journal: undecodable record {}, skipped", rec.seq);
      continue;
    }
    cap->seq = rec.seq;
    *out = Item{rec.seq, rec.pos, rec.next, std::move(*cap), 0};
    return true;
  }
}

void InspectionPool::worker() {
  if (opt_.nice > 0) {
    // Linux applies nice per thread: the engine's ~1 ms per request must not delay answers.
    setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), opt_.nice);
  }
  while (true) {
    Item item;
    try {
      if (!take(&item)) return;
    } catch (const std::bad_alloc&) {
      // Nothing was taken (take() changes nothing before what can run out): again shortly.
      out_of_memory_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    Completed done;
    done.verdict = inspectGuarded(item.capture);
    done.done_us = nowUs();
    const int64_t since = item.capture.answered_us ? item.capture.answered_us
                                                   : item.capture.received_us;
    last_lag_ms_.store((done.done_us - since) / 1000, std::memory_order_relaxed);
    const uint64_t seq = item.seq;
    done.capture = std::move(item.capture);
    // In flight until completed: it must get into completed_, or the events behind it wait for
    // ever. A node that cannot be had leaves `done` as it was, so it is tried again; at stop it
    // stays in flight, and the checkpoint keeps it for the next start.
    for (;;) {
      try {
        std::lock_guard lock(mu_);
        completed_.emplace(seq, std::move(done));
        break;
      } catch (const std::bad_alloc&) {
        out_of_memory_.fetch_add(1, std::memory_order_relaxed);
      }
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!writeInOrder()) return;
  }
}

core::Verdict InspectionPool::inspectGuarded(const core::Capture& capture) {
  constexpr int kAttempts = 4;  // 0.1 + 0.2 + 0.4 s for memory to come back
  for (int attempt = 1;; ++attempt) {
    try {
      return inspector_.inspect(capture);
    } catch (const std::bad_alloc&) {
      out_of_memory_.fetch_add(1, std::memory_order_relaxed);
      if (attempt == kAttempts) {
        engine_gave_up_.fetch_add(1, std::memory_order_relaxed);
        return core::Verdict{};  // inspected = false: the event says engine_error
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << (attempt - 1)));
    }
  }
}

bool InspectionPool::sinkGuarded(const core::Capture& capture, const core::Verdict& verdict,
                                 int64_t done_us) {
  try {
    return sink_(capture, verdict, done_us);
  } catch (const std::bad_alloc&) {
    out_of_memory_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
}

// Inspection runs in parallel; events are written strictly in journal order, so that the event
// log follows the order of arrival and the attacker state sees a source's requests in order.
// Whoever completes the lowest outstanding seq writes every consecutive completed event.
bool InspectionPool::writeInOrder() {
  std::unique_lock lock(mu_);
  if (writing_) return true;  // the active writer picks ours up before it stops
  writing_ = true;
  while (!completed_.empty() && !in_flight_.empty() &&
         completed_.begin()->first == in_flight_.begin()->first) {
    auto node = completed_.extract(completed_.begin());
    lock.unlock();
    Completed& c = node.mapped();
    // Writing the event must not fail silently: retry while the disk is full.
    int attempt = 0;
    while (!sinkGuarded(c.capture, c.verdict, c.done_us)) {
      lock.lock();
      if (stopping_) {  // left in flight: the checkpoint keeps it for the next start
        writing_ = false;
        return false;
      }
      lock.unlock();
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5))));
      ++attempt;
    }
    inspected_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    in_flight_.erase(node.key());
    reorder_cv_.notify_all();
  }
  writing_ = false;
  if (in_flight_.empty() && next_dispatch_seq_ >= journal_->nextSeq()) idle_cv_.notify_all();
  return true;
}

void InspectionPool::checkpointNow() {
  uint64_t seq;
  JournalPos pos;
  {
    std::lock_guard lock(mu_);
    if (in_flight_.empty()) {
      seq = next_dispatch_seq_;
      pos = next_dispatch_pos_;
    } else {
      seq = in_flight_.begin()->first;
      pos = in_flight_.begin()->second;
    }
  }
  if (seq == journal_->checkpointSeq()) return;
  // Events up to `seq` are written; make them durable before the journal forgets them.
  if (sync_events_ && !sync_events_()) {
    journal_errors_.fetch_add(1, std::memory_order_relaxed);
    return;  // the journal keeps them; the next checkpoint tries again
  }
  auto st = journal_->checkpoint(seq, pos);
  if (!st) {
    journal_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("capture journal checkpoint: {}", st.message());
  }
}

void InspectionPool::maintenance() {
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(std::min(opt_.fsync_interval_s, 1.0)));
  std::unique_lock lock(maint_mu_);
  while (!maint_stop_) {
    maint_cv_.wait_for(lock, interval, [&] { return maint_stop_; });
    if (maint_stop_) break;
    lock.unlock();
    try {
      if (opt_.fsync == FsyncPolicy::kInterval) journal_->sync();
      checkpointNow();
    } catch (const std::bad_alloc&) {
      out_of_memory_.fetch_add(1, std::memory_order_relaxed);  // done again next time
    }
    lock.lock();
  }
}

void InspectionPool::stop(double drain_s) {
  if (threads_.empty() && !maintenance_.joinable()) return;
  {
    std::unique_lock lock(mu_);
    idle_cv_.wait_for(lock, std::chrono::duration<double>(drain_s), [&] {
      return in_flight_.empty() && next_dispatch_seq_ >= journal_->nextSeq();
    });
    stopping_ = true;
  }
  cv_.notify_all();
  reorder_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  journal_->sync();
  checkpointNow();
  const uint64_t left = journal_->nextSeq() - journal_->checkpointSeq();
  if (left > 0) spdlog::info("{} captures wait in the journal for the next start", left);
}

PoolStats InspectionPool::stats() const {
  PoolStats s;
  std::lock_guard lock(mu_);
  s.queued_memory = memory_.size();
  s.queued_bytes = memory_bytes_;
  s.backlog = journal_->nextSeq() - next_dispatch_seq_ + in_flight_.size();
  s.backlog_disk_bytes = journal_->pendingBytes();
  s.inspected = inspected_.load();
  s.rejected_backlog_full = rejected_.load();
  s.journal_errors = journal_errors_.load();
  s.last_lag_ms = last_lag_ms_.load();
  s.backlog_peak = backlog_peak_;
  s.out_of_memory = out_of_memory_.load();
  s.engine_gave_up = engine_gave_up_.load();
  return s;
}

}  // namespace drosera::sensor

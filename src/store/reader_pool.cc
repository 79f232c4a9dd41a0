#include "store/reader_pool.h"

#include <chrono>
#include <utility>

namespace drosera::store::internal {

ReaderPool::ReaderPool(std::unique_ptr<Db> first, Opener open, DictionaryLoader load, size_t max)
    : open_(std::move(open)), load_(std::move(load)), max_(max < 1 ? 1 : max) {
  // Never more than max_ of either: release() (in a destructor) never has to allocate.
  all_.reserve(max_);
  free_.reserve(max_);
  free_.push_back(add(std::move(first)));
}

ReaderPool::Reader* ReaderPool::add(std::unique_ptr<Db> db) {
  auto r = std::make_unique<Reader>();
  r->db = std::move(db);
  Db* raw = r->db.get();
  r->loader = [this, raw](uint32_t id) { return load_(*raw, id); };
  all_.push_back(std::move(r));
  return all_.back().get();
}

core::Result<ReaderPool::Lease> ReaderPool::acquire() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!free_.empty()) {
      Reader* r = free_.back();
      free_.pop_back();
      return Lease(this, r);
    }
    if (all_.size() + opening_ >= max_) {
      freed_.wait(lock);
      continue;
    }
    if (!all_.empty() && std::chrono::steady_clock::now() < no_open_until_) {
      freed_.wait_until(lock, no_open_until_);  // a reader back, or time to try opening again
      continue;
    }
    // Opened outside the lock: a PostgreSQL connection takes a round trip or more.
    ++opening_;
    lock.unlock();
    core::Result<std::unique_ptr<Db>> db = core::Status::unavailable("store: no reader opened");
    try {
      db = open_();
    } catch (...) {
      lock.lock();
      --opening_;
      freed_.notify_one();
      throw;
    }
    lock.lock();
    --opening_;
    if (db) return Lease(this, add(std::move(db).value()));
    // A server at its connection limit, say: no more connections for a while, and the read
    // waits for one of those open (it fails only when none is).
    no_open_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    freed_.notify_one();
    if (all_.empty()) return db.status();
  }
}

void ReaderPool::release(Reader* reader) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(reader);
  }
  freed_.notify_one();
}

size_t ReaderPool::open() const {
  std::lock_guard lock(mu_);
  return all_.size();
}

}  // namespace drosera::store::internal

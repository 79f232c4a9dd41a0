// The store's read connections: one per read in progress (API requests, the outputs' readers,
// the dashboard), opened when needed up to a maximum, kept open, each with its own
// decompressor. A read beyond the maximum waits for one to come back. So a long read (a
// filtered aggregate over a month) holds one connection, not every reader of the store.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/codec.h"
#include "store/db.h"

namespace drosera::store::internal {

class ReaderPool {
 public:
  using Opener = std::function<core::Result<std::unique_ptr<Db>>()>;
  using DictionaryLoader =
      std::function<core::Result<std::optional<std::string>>(Db& db, uint32_t id)>;

  struct Reader {
    std::unique_ptr<Db> db;
    Decompressor decompressor;
    Decompressor::Loader loader;  // the dictionaries, read through db
  };

  // A reader for the time of one read; given back when destroyed.
  class Lease {
   public:
    Lease(ReaderPool* pool, Reader* reader) : pool_(pool), reader_(reader) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), reader_(o.reader_) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->release(reader_);
    }
    Db& db() { return *reader_->db; }
    Decompressor& decompressor() { return reader_->decompressor; }
    const Decompressor::Loader& loader() { return reader_->loader; }

   private:
    ReaderPool* pool_;
    Reader* reader_;
  };

  // `first`: a connection already open (so that a store that cannot read fails when opened).
  ReaderPool(std::unique_ptr<Db> first, Opener open, DictionaryLoader load, size_t max);

  // A free reader, else a new one while fewer than max are open, else the first given back.
  // After a connection fails to open, none is opened for 10 s and reads wait for the open ones;
  // fails (naming the cause) only when no connection is open at all.
  core::Result<Lease> acquire();
  size_t open() const;  // connections open now

 private:
  void release(Reader* reader);
  Reader* add(std::unique_ptr<Db> db);

  const Opener open_;
  const DictionaryLoader load_;
  const size_t max_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Reader>> all_;  // under mu_
  std::vector<Reader*> free_;                 // under mu_
  size_t opening_ = 0;                        // connections being opened, under mu_
  std::chrono::steady_clock::time_point no_open_until_;  // after a failed open, under mu_
};

}  // namespace drosera::store::internal

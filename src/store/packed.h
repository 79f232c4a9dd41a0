// Ingest format 2, "packed" (docs/store.md, "Packed batches"): a sensor does the per-event work
// of the collector's store, so that one collector keeps up with many sensors. The sensor parses
// its event lines as the collector would, encodes each event's detail and body as the store
// keeps them, and compresses the body with a zstd dictionary the collector hands out
// (GET /api/v1/ingest/dictionary). The collector decodes the detail (a few hundred bytes, no
// JSON), checks the body's frame and stores it as it came.
//
// A batch: kPackedMagic, then records, each a kind byte and varint-length-prefixed fields:
//   kind 0: a line the sensor could not parse (the collector parses it, and refuses it, counted);
//   kind 1: an event's detail (the bytes the store's body holds first), then its body as the
//           store writes it (a codec byte, then the zstd frame of the whole body).
// Thread-safety: a Packer is one sensor's (not thread-safe); the functions are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/status.h"

namespace drosera::store {

inline constexpr std::string_view kPackedContentType = "application/vnd.drosera.packed";
inline constexpr std::string_view kPackedMagic = "DRP1";
// The response header that names the dictionary of GET /api/v1/ingest/dictionary, and the
// member of an ingest response with the id of the dictionary the sensor is to pack with (its own,
// Store::packingDictionaryId).
inline constexpr std::string_view kDictionaryIdHeader = "X-Drosera-Dictionary-Id";

// The most items a packed detail may hold (the collector's parser's defaults, which the sensor
// parses with): more rule hits, request headers, tags on one hit, or scores, trap hits,
// categories, anomalies or limits_hit refuse the batch.
inline constexpr size_t kPackedMaxRules = 1000;
inline constexpr size_t kPackedMaxHeaders = 256;
inline constexpr size_t kPackedMaxTags = 64;
inline constexpr size_t kPackedMaxItems = 256;

class Packer {
 public:
  // The dictionary a collector handed out (its bytes).
  explicit Packer(std::string_view dictionary);
  ~Packer();
  Packer(const Packer&) = delete;
  Packer& operator=(const Packer&) = delete;
  uint32_t dictionaryId() const;
  // Appends the event as a kind 1 record (the batch's magic first when `out` is empty).
  void append(const core::Event& event, std::string* out);
  // Appends a line as a kind 0 record (the same).
  static void appendLine(std::string_view line, std::string* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One record of a packed batch; views into the batch.
struct PackedRecord {
  bool is_line = false;
  std::string_view line;          // kind 0
  std::string_view detail, body;  // kind 1
};

// Starts reading a batch: InvalidArgument when it does not begin with kPackedMagic.
core::Status openPackedBatch(std::string_view* batch);
// The next record from `*batch` (advanced past it). InvalidArgument for a malformed record.
core::Status nextPackedRecord(std::string_view* batch, PackedRecord* out);
// A kind 1 record's detail decoded into `event`: what the store indexes (all insertPacked()
// reads of it), the other strings left empty (the request headers, a rule hit's data and match,
// raw_record...: the body holds them).
core::Status decodePackedDetail(std::string_view detail, core::Event* event);

}  // namespace drosera::store

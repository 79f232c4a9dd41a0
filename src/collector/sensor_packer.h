// The sensor's half of packed ingest (store/packed.h): the shipper hands it each batch of event
// lines, and it parses them as the collector would (parseRecord) and packs them with the
// collector's zstd dictionary, so that the collector only decodes and stores. It learns the
// collector's current dictionary from each ingest answer ("dictionary": its id) and fetches it
// (GET <collector>/api/v1/ingest/dictionary); until it has one, or after the collector refused
// a packed batch (400), batches go as lines.
// Thread-safety: none; the shipper's thread calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/client.h"
#include "store/packed.h"

namespace drosera::collector {

struct SensorPackerOptions {
  std::string ingest_url;  // the collector's ingest endpoint (.../api/v1/ingest)
  std::string token;
  std::string sensor_id;
  bool verify_tls = true;
  std::string ca_file;
  double timeout_s = 30;
  double refetch_after_s = 30;  // after a failed fetch, or a refused batch, before trying again
};

class SensorPacker {
 public:
  SensorPacker(SensorPackerOptions options, std::unique_ptr<http::HttpClient> client);
  ~SensorPacker();

  // Packs the batch of event lines into `packed` (true; `content_type` set), or says to send
  // the lines (false).
  bool pack(std::string_view lines, std::string* packed, std::string* content_type);
  // An answer to an ingest: `was_packed` when the batch was packed.
  void answered(int status, std::string_view body, bool was_packed);
  uint32_t dictionary() const;  // 0: none (lines are sent)

 private:
  void fetch(uint32_t id);

  SensorPackerOptions opt_;
  std::unique_ptr<http::HttpClient> client_;
  std::unique_ptr<store::Packer> packer_;
  double retry_at_ = 0;  // steady seconds: no fetch before
};

}  // namespace drosera::collector

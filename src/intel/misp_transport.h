// Where MISP events go (DESIGN "Interfaces"): a feed directory that a MISP instance pulls, or a
// MISP instance's REST API. Both take the same model; each keeps what it needs to make a
// resend after a crash harmless. Called by one reporter thread; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "intel/misp_model.h"

namespace drosera::intel {

struct PublishRequest {
  const MispEvent* event = nullptr;
  std::vector<MispSighting> sightings;  // pending ones, by increasing index
  bool publish = false;                 // the day is over: publish the event (REST)
  uint64_t version = 0;                 // the part's version this event was built from
};

class MispTransport {
 public:
  virtual ~MispTransport() = default;
  // "feed" or "rest": names the transport's progress in the store.
  virtual std::string name() const = 0;
  // Where its copies go, for people: the feed folder or the MISP server's URL.
  virtual std::string where() const { return ""; }
  // Brings the transport's copy of the event up to date. Not durable before flush() returns.
  virtual core::Status publish(const PublishRequest& request) = 0;
  // Makes everything published so far durable and visible (the feed writes its manifest).
  virtual core::Status flush() = 0;
};

}  // namespace drosera::intel

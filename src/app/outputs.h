// What a collector feeds from its store, owned by the process that runs the collector
// (`drosera collector`, `drosera run`): the ECS NDJSON files and the Elasticsearch _bulk output
// (docs/ecs.md), and the GeoIP databases they and the dashboard share. Each output reads the
// store by its own cursor on its own thread; the collector wakes them after every commit.
// Lifetime: start() after the collector was created, stop() before it is destroyed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/privileges.h"
#include "collector/collector.h"
#include "core/config.h"
#include "core/status.h"

namespace drosera::app {

class StoreOutputs {
 public:
  // Opens what the configuration enables; errors name the key ("ecs.geoip.city_db: ...").
  static core::Result<std::unique_ptr<StoreOutputs>> create(const core::Config& config,
                                                            collector::Collector& collector);
  ~StoreOutputs();
  StoreOutputs(const StoreOutputs&) = delete;
  StoreOutputs& operator=(const StoreOutputs&) = delete;

  void start();
  void stop();
  // One line per enabled output for the start banner ("  ECS NDJSON:   /data/ecs/ecs.ndjson").
  std::string banner() const;
  // The files the outputs write (the NDJSON path), for the privilege drop.
  std::vector<WrittenPath> files() const;

 private:
  struct Parts;
  explicit StoreOutputs(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace drosera::app

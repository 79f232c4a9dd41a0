#include "app/outputs.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ecs/bulk_output.h"
#include "ecs/ecs_mapping.h"
#include "ecs/geoip_maxmind.h"
#include "ecs/ndjson_output.h"

namespace drosera::app {

struct StoreOutputs::Parts {
  std::unique_ptr<ecs::MaxMindGeoLookup> geo;
  std::unique_ptr<ecs::NdjsonOutput> ndjson;
  std::unique_ptr<ecs::BulkOutput> bulk;
  std::string ndjson_path;
  std::string bulk_url;
  bool started = false;
};

namespace {

// "ecs.bulk: <message>", once.
core::Status prefixed(const std::string& key, const core::Status& st) {
  if (st.message().rfind(key + ":", 0) == 0 || st.message().rfind(key + ".", 0) == 0) return st;
  return core::Status::invalidArgument(key + ": " + st.message());
}

nlohmann::json ndjsonStatus(const ecs::NdjsonOutput& out) {
  const auto s = out.stats();
  return {{"cursor", s.cursor}, {"written", s.written}, {"rotations", s.rotations},
          {"errors", s.errors}, {"missed", s.missed},   {"last_error", s.last_error}};
}

nlohmann::json bulkStatus(const ecs::BulkOutput& out) {
  const auto s = out.stats();
  return {{"cursor", s.cursor},
          {"read", s.read},
          {"created", s.created},
          {"duplicates", s.duplicates},
          {"dead_lettered", s.dead_lettered},
          {"item_retries", s.item_retries},
          {"index_refusals", s.index_refusals},
          {"refused_indices", s.refused_indices},
          {"requests", s.requests},
          {"failed_requests", s.failed_requests},
          {"splits", s.splits},
          {"missed", s.missed},
          {"template_installed", s.template_installed},
          {"auth_failed", s.auth_failed},
          {"healthy", s.healthy},
          {"last_error", s.last_error}};
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

StoreOutputs::StoreOutputs(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

std::vector<WrittenPath> StoreOutputs::files() const {
  std::vector<WrittenPath> out;
  if (parts_->ndjson) out.push_back({"ecs.ndjson.path", parts_->ndjson_path});
  return out;
}
StoreOutputs::~StoreOutputs() { stop(); }

core::Result<std::unique_ptr<StoreOutputs>> StoreOutputs::create(const core::Config& config,
                                                                 collector::Collector& collector) {
  auto parts = std::make_unique<Parts>();
  const auto& ecs_config = config.ecs;
  if (!ecs_config.geoip.city_db.empty() || !ecs_config.geoip.asn_db.empty()) {
    auto geo = ecs::MaxMindGeoLookup::open(ecs_config.geoip.city_db, ecs_config.geoip.asn_db);
    if (!geo) return prefixed("ecs.geoip", geo.status());
    parts->geo = std::move(*geo);
    const ecs::MaxMindGeoLookup* lookup = parts->geo.get();
    collector.setGeoResolver([lookup](std::string_view ip, collector::GeoFacts* out) {
      ecs::GeoInfo info;
      if (!lookup->lookup(ip, info)) return false;
      out->country_iso_code = info.country_iso_code;
      out->country_name = info.country_name;
      out->as_number = info.as_number;
      out->as_organization = info.as_organization;
      return true;
    });
  }
  core::EcsMappingConfig mapping = ecs_config.mapping;
  if (mapping.observer_version.empty()) mapping.observer_version = DROSERA_VERSION;
  const ecs::EcsMapper mapper(mapping);

  if (ecs_config.ndjson.enabled) {
    core::EcsNdjsonConfig nc = ecs_config.ndjson;
    if (nc.path.empty()) nc.path = config.general.data_dir + "/ecs/ecs.ndjson";
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(nc.path).parent_path(), ec);
    if (ec) {
      return core::Status::invalidArgument("ecs.ndjson.path: cannot create the folder of " +
                                           nc.path + ": " + ec.message());
    }
    auto out = ecs::NdjsonOutput::open(collector.store(), nc, mapper, parts->geo.get());
    if (!out) return prefixed("ecs.ndjson", out.status());
    parts->ndjson = std::move(*out);
    parts->ndjson_path = nc.path;
    ecs::NdjsonOutput* p = parts->ndjson.get();
    collector.addStoreReader({"ecs_ndjson", [p] { p->wake(); },
                              [p] { return dump(ndjsonStatus(*p)); }});
  }
  if (ecs_config.bulk.enabled) {
    auto out = ecs::BulkOutput::create(collector.store(), ecs_config.bulk, mapper, parts->geo.get());
    if (!out) return prefixed("ecs.bulk", out.status());
    parts->bulk = std::move(*out);
    parts->bulk_url = ecs_config.bulk.url;
    ecs::BulkOutput* p = parts->bulk.get();
    collector.addStoreReader({"ecs_bulk", [p] { p->wake(); }, [p] { return dump(bulkStatus(*p)); }});
  }
  return std::unique_ptr<StoreOutputs>(new StoreOutputs(std::move(parts)));
}

void StoreOutputs::start() {
  if (parts_->started) return;
  parts_->started = true;
  if (parts_->ndjson) parts_->ndjson->start();
  if (parts_->bulk) parts_->bulk->start();
}

void StoreOutputs::stop() {
  if (!parts_ || !parts_->started) return;
  parts_->started = false;
  if (parts_->ndjson) parts_->ndjson->stop();
  if (parts_->bulk) parts_->bulk->stop();
}

std::string StoreOutputs::banner() const {
  std::string out;
  if (parts_->ndjson) out += "  ECS NDJSON:   " + parts_->ndjson_path + "\n";
  if (parts_->bulk) out += "  ECS _bulk:    " + parts_->bulk_url + "\n";
  if (parts_->geo) out += "  GeoIP:        enabled\n";
  return out;
}

}  // namespace drosera::app

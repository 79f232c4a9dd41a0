#include "ecs/geoip_maxmind.h"

#include <maxminddb.h>

#include <initializer_list>
#include <optional>

namespace drosera::ecs {

struct MaxMindGeoLookup::Db {
  MMDB_s mmdb{};
  bool open = false;
  ~Db() {
    if (open) MMDB_close(&mmdb);
  }
};

namespace {

core::Status openDb(const std::string& path, MMDB_s& mmdb) {
  const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb);
  if (rc != MMDB_SUCCESS) {
    return core::Status::invalidArgument("cannot open GeoIP database " + path + ": " +
                                         MMDB_strerror(rc));
  }
  return core::Status::ok();
}

// The value at a NULL-terminated path of keys, if it exists.
bool getValue(MMDB_entry_s* entry, MMDB_entry_data_s& data, const char* const* path) {
  data = MMDB_entry_data_s{};
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS) return false;
  return data.has_data;
}

void getString(MMDB_entry_s* entry, std::string& out, std::initializer_list<const char*> keys) {
  const char* path[8] = {nullptr};
  size_t i = 0;
  for (const char* k : keys) {
    if (i + 1 >= sizeof path / sizeof path[0]) break;
    path[i++] = k;
  }
  MMDB_entry_data_s data;
  if (getValue(entry, data, path) && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
    out.assign(data.utf8_string, data.data_size);
  }
}

std::optional<double> getNumber(MMDB_entry_s* entry, std::initializer_list<const char*> keys) {
  const char* path[8] = {nullptr};
  size_t i = 0;
  for (const char* k : keys) {
    if (i + 1 >= sizeof path / sizeof path[0]) break;
    path[i++] = k;
  }
  MMDB_entry_data_s data;
  if (!getValue(entry, data, path)) return std::nullopt;
  switch (data.type) {
    case MMDB_DATA_TYPE_DOUBLE:
      return data.double_value;
    case MMDB_DATA_TYPE_FLOAT:
      return static_cast<double>(data.float_value);
    case MMDB_DATA_TYPE_UINT16:
      return static_cast<double>(data.uint16);
    case MMDB_DATA_TYPE_UINT32:
      return static_cast<double>(data.uint32);
    case MMDB_DATA_TYPE_INT32:
      return static_cast<double>(data.int32);
    case MMDB_DATA_TYPE_UINT64:
      return static_cast<double>(data.uint64);
    default:
      return std::nullopt;
  }
}

bool find(const MMDB_s& mmdb, const std::string& ip, MMDB_lookup_result_s& result) {
  int gai_error = 0;
  int mmdb_error = MMDB_SUCCESS;
  result = MMDB_lookup_string(&mmdb, ip.c_str(), &gai_error, &mmdb_error);
  return gai_error == 0 && mmdb_error == MMDB_SUCCESS && result.found_entry;
}

}  // namespace

core::Result<std::unique_ptr<MaxMindGeoLookup>> MaxMindGeoLookup::open(const std::string& city_db,
                                                                       const std::string& asn_db) {
  if (city_db.empty() && asn_db.empty()) {
    return core::Status::invalidArgument("no GeoIP database given");
  }
  std::unique_ptr<MaxMindGeoLookup> g(new MaxMindGeoLookup());
  if (!city_db.empty()) {
    g->city_ = std::make_unique<Db>();
    auto st = openDb(city_db, g->city_->mmdb);
    if (!st) return st;
    g->city_->open = true;
  }
  if (!asn_db.empty()) {
    g->asn_ = std::make_unique<Db>();
    auto st = openDb(asn_db, g->asn_->mmdb);
    if (!st) return st;
    g->asn_->open = true;
  }
  return g;
}

MaxMindGeoLookup::~MaxMindGeoLookup() = default;

bool MaxMindGeoLookup::lookup(std::string_view ip_view, GeoInfo& out) const {
  if (ip_view.empty() || ip_view.size() > 64 || ip_view.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string ip(ip_view);
  bool found = false;
  MMDB_lookup_result_s r;
  if (city_ && find(city_->mmdb, ip, r)) {
    found = true;
    MMDB_entry_s* e = &r.entry;
    auto lat = getNumber(e, {"location", "latitude"});
    auto lon = getNumber(e, {"location", "longitude"});
    if (lat && lon) {
      out.lat = lat;
      out.lon = lon;
    }
    getString(e, out.continent_code, {"continent", "code"});
    getString(e, out.continent_name, {"continent", "names", "en"});
    getString(e, out.country_iso_code, {"country", "iso_code"});
    getString(e, out.country_name, {"country", "names", "en"});
    std::string sub;
    getString(e, sub, {"subdivisions", "0", "iso_code"});
    if (!sub.empty() && !out.country_iso_code.empty()) {
      out.region_iso_code = out.country_iso_code + "-" + sub;
    }
    getString(e, out.region_name, {"subdivisions", "0", "names", "en"});
    getString(e, out.city_name, {"city", "names", "en"});
    getString(e, out.postal_code, {"postal", "code"});
    getString(e, out.timezone, {"location", "time_zone"});
  }
  if (asn_ && find(asn_->mmdb, ip, r)) {
    found = true;
    MMDB_entry_s* e = &r.entry;
    if (auto n = getNumber(e, {"autonomous_system_number"}); n && *n > 0 && *n < 4294967296.0) {
      out.as_number = static_cast<uint32_t>(*n);
    }
    getString(e, out.as_organization, {"autonomous_system_organization"});
  }
  return found && (out.hasGeo() || out.hasAs());
}

}  // namespace drosera::ecs

// GeoLookup over MaxMind DB files (GeoLite2-City / GeoIP2-City and GeoLite2-ASN, or any database
// with the same layout, e.g. DB-IP's). libmaxminddb behind it, in geoip_maxmind.cc only.
// Thread-safety: lookup() may be called from any thread once open() returned (the databases are
// read-only memory maps).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "ecs/geo.h"

namespace drosera::ecs {

class MaxMindGeoLookup final : public GeoLookup {
 public:
  // Either path may be empty (no city or no AS data), not both. An unreadable or malformed
  // database is an error (a configuration mistake, reported at start).
  static core::Result<std::unique_ptr<MaxMindGeoLookup>> open(const std::string& city_db,
                                                              const std::string& asn_db);
  ~MaxMindGeoLookup() override;

  bool lookup(std::string_view ip, GeoInfo& out) const override;

 private:
  struct Db;
  MaxMindGeoLookup() = default;
  std::unique_ptr<Db> city_;
  std::unique_ptr<Db> asn_;
};

}  // namespace drosera::ecs

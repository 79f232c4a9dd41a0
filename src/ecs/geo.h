// Geo and AS data for an address, as the ECS mapping writes it into source.geo.* / source.as.*.
// GeoLookup is the seam: MaxMindGeoLookup (geoip_maxmind.h) reads GeoLite2/GeoIP2 databases,
// tests and other callers fill GeoInfo themselves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace drosera::ecs {

struct GeoInfo {
  std::optional<double> lat;  // both or neither
  std::optional<double> lon;
  std::string continent_code;  // "EU"
  std::string continent_name;
  std::string country_iso_code;  // "FR"
  std::string country_name;
  std::string region_iso_code;  // "FR-IDF" (country-subdivision, as ECS wants it)
  std::string region_name;
  std::string city_name;
  std::string postal_code;
  std::string timezone;    // "Europe/Paris"
  uint32_t as_number = 0;  // 0: unknown
  std::string as_organization;

  bool hasGeo() const {
    return (lat && lon) || !continent_code.empty() || !continent_name.empty() ||
           !country_iso_code.empty() || !country_name.empty() || !region_iso_code.empty() ||
           !region_name.empty() || !city_name.empty() || !postal_code.empty() || !timezone.empty();
  }
  bool hasAs() const { return as_number != 0 || !as_organization.empty(); }
};

class GeoLookup {
 public:
  virtual ~GeoLookup() = default;
  // Fills `out` for `ip`; false when nothing is known (or `ip` is not an address).
  // Thread-safe: the outputs call it from their own threads.
  virtual bool lookup(std::string_view ip, GeoInfo& out) const = 0;
};

}  // namespace drosera::ecs

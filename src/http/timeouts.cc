#include "http/timeouts.h"

#include <algorithm>

namespace drosera::http {

double ReadTimeout::seconds(uint64_t bytes) const {
  const double s = base_s + per_byte_s * static_cast<double>(bytes);
  return max_s > 0 ? std::min(s, max_s) : s;
}

ReadTimeout headTimeout(const Persona& persona, double configured) {
  if (configured > 0) return ReadTimeout{configured, 0, 0, false, true};
  if (persona.name == "apache") return ReadTimeout{20, 1.0 / 500, 40, false, true, false};
  if (persona.name == "nginx") return ReadTimeout{60, 0, 0, false, false};
  return ReadTimeout{20, 0, 0, false, true};
}

ReadTimeout bodyTimeout(const Persona& persona, double configured) {
  if (configured > 0) return ReadTimeout{configured, 0, 0, false, true};
  if (persona.name == "apache") return ReadTimeout{10, 1.0 / 500, 0, false, true};
  if (persona.name == "nginx") return ReadTimeout{60, 0, 0, true, false};
  return ReadTimeout{30, 0, 0, false, true};
}

double writeTimeout(const Persona& persona, double configured) {
  if (configured > 0) return configured;
  return persona.name == "nginx" ? 60 : persona.name == "apache" ? 300 : 30;
}

double keepAliveTimeout(const Persona& persona, double configured) {
  if (configured > 0) return configured;
  return persona.name == "nginx" ? 65 : persona.name == "iis" ? 120 : 5;
}

int deferAcceptSeconds(const Persona& persona, double configured_head) {
  return persona.name == "apache" && configured_head <= 0 ? 30 : 0;
}

}  // namespace drosera::http

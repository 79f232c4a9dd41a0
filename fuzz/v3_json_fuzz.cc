// Fuzz target: the collector's parser for drosera event lines and libmodsecurity v3 JSON audit
// records (collector::parseV3Json). Input: an option byte (event_checks.h: bounds, raw record,
// fallback id, UTC offset), then one record. Seeds: "\0" + a line of a real log. Invariants:
// fuzzJsonRecord in event_checks.h.
#include "event_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using drosera::collector::RecordFormat;
  drosera::fuzz::fuzzJsonRecord(data, size, drosera::collector::parseV3Json,
                                {RecordFormat::kDrosera, RecordFormat::kModsec3Json},
                                {"drosera", "modsec3-json"});
  return 0;
}

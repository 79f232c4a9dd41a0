// Fuzz target: the collector's parser for mod_security2 v2 JSON audit records
// (collector::parseV2Json). Input: an option byte (event_checks.h: bounds, raw record, fallback
// id, UTC offset), then one record. Seeds: "\0" + a line of a real log. Invariants:
// fuzzJsonRecord in event_checks.h.
#include "event_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using drosera::collector::RecordFormat;
  drosera::fuzz::fuzzJsonRecord(data, size, drosera::collector::parseV2Json,
                                {RecordFormat::kModsec2Json}, {"modsec2-json"});
  return 0;
}

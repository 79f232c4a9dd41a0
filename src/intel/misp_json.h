// The JSON forms of the model: the MISP core format (REST bodies), the feed's event file in
// PyMISP's to_feed() shape, the feed manifest entry and the hashes.csv lines. One model, so the
// feed and the REST API carry the same data. Pure functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "intel/misp_model.h"

namespace drosera::intel {

using TagColour = std::function<std::string(const std::string& tag)>;

// {"Event": {...}} in the MISP core format: strings for numbers, booleans for flags, every
// attribute with distribution "5" (inherit), tags as [{"name": ...}].
std::string coreEventJson(const MispEvent& event);
// The feed's <uuid>.json: {"Event": {...}} with the keys PyMISP's to_feed() writes (no
// distribution: the consuming MISP's feed settings decide), tags with colour/local/
// relationship_type. Indented by two spaces, as PyMISP writes it.
std::string feedEventJson(const MispEvent& event, const TagColour& colour);
// The event's entry in manifest.json (Orgc, Tag, info, date, analysis, threat_level_id,
// timestamp), serialised as a JSON object.
std::string manifestEntryJson(const MispEvent& event, const TagColour& colour);
// "md5(value),event_uuid" for every attribute value, objects' included, in event order.
std::vector<std::string> hashLines(const MispEvent& event);

// REST bodies.
std::string attributeAddBody(const MispAttribute& a);   // {"Attribute": {...}} (no tags)
std::string attributeEditBody(const MispAttribute& a);  // fields that change, no timestamp
std::string objectAddBody(const MispObject& o);         // {"Object": {..., "Attribute": []}}
std::string eventEditBody(const MispEvent& e);          // metadata only, no timestamp
// A digest of what an attribute edit would change (to skip edits that change nothing).
std::string attributeDigest(const MispAttribute& a);
std::string eventMetaDigest(const MispEvent& e);

std::string md5Hex(std::string_view bytes);

}  // namespace drosera::intel

// Internal to the store: how an event is laid out in its row. The normalised columns are for
// queries; one compressed blob (`body`) keeps the event exactly, every byte of every string
// whatever it is. A small uncompressed blob (`keys`) holds what filters and aggregates need
// from the rule and trap hits without decompressing anything.
// Pure functions and two small codecs; a Compressor/Decompressor is not thread-safe (one per
// connection), everything else is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace drosera::store::internal {

// The event's body: everything the normalised columns do not already make exact, i.e. the
// whole event: the detail (every field but raw_record and request_body) then the payload
// (raw_record and request_body). Format version 1, see codec.cc. Compressed as one frame, so
// the detail costs little beside the raw record that repeats it.
std::string encodeBody(const core::Event& event);
// The same into `out`, whose capacity is reused (a writer encodes every event into one buffer).
void encodeBody(const core::Event& event, std::string* out);
// Fills the event; raw_record and request_body only when `with_payload`.
core::Status decodeBody(std::string_view bytes, bool with_payload, core::Event* event);

// The detail alone (the bytes a body holds after its version byte and the detail's length), and
// back: a packed record carries it beside the compressed body (store/packed.h).
std::string_view detailOfBody(std::string_view body);  // empty when `body` has none
// Fills what the store indexes of the event (all the insert of a packed event reads): sensor,
// unique_id, time, source address and port, destination port, method, uri, user agent, status,
// rule hits (id, severity, message, tags), scores, categories, trap hits (kind, rule id),
// attacker_flagged, anomalies, limits_hit, inspected. The other strings are left empty (they
// are in the body, which the store keeps whole): the request headers, a rule hit's data, match,
// file and version, a trap hit's bait, captured value and origin, and format, dst_ip,
// listener_kind, http_version, host, raw_record and request_body.
// A detail with more items than a sensor's packer keeps is refused (store/packed.h,
// kPackedMaxRules...).
core::Status decodeDetail(std::string_view detail, core::Event* event);
// True when `body` (decompressed) is a whole body whose detail is `detail`.
bool bodyHasDetail(std::string_view body, std::string_view detail);

// What the store derives from one event for its columns, rollups, attackers and filters.
// Views point into the event, which must outlive the facts.
struct EventFacts {
  std::vector<int> rule_ids;                  // distinct, ascending
  std::vector<std::string_view> tags;         // distinct tags over all rule hits, ascending
  std::vector<std::string_view> categories;   // distinct, ascending
  std::vector<std::string_view> traps;        // distinct trap kinds, ascending
  std::string_view path;                      // uri up to the first '?'
  bool has_rules = false;                     // a non-scoring rule matched
  bool has_traps = false;                     // a trap fired
  bool sensor_flagged = false;                // core::Event::attacker_flagged
  bool alert = false;                         // has_rules or has_traps
  bool flagged = false;                       // has_traps or sensor_flagged
};
EventFacts factsOf(const core::Event& event);
// The same into `out`, whose vectors' capacity is reused.
void factsOf(const core::Event& event, EventFacts* out);

// Bits of the `flags` column.
inline constexpr int kFlagHasRules = 1;
inline constexpr int kFlagHasTraps = 2;
inline constexpr int kFlagAttackerFlagged = 4;
int flagsOf(const EventFacts& facts);
inline bool isAlert(int flags) { return (flags & (kFlagHasRules | kFlagHasTraps)) != 0; }

// The `keys` blob: rule ids, tags, categories and trap kinds of the facts.
std::string encodeKeys(const EventFacts& facts);
void appendKeys(const EventFacts& facts, std::string* out);  // the same, appended to `out`
struct KeysView {
  std::vector<int> rule_ids;
  std::vector<std::string_view> tags, categories, traps;  // views into the blob
};
// Reuses the vectors' storage; views point into `bytes`.
core::Status decodeKeys(std::string_view bytes, KeysView* keys);

// Byte strings that occur in the keys blob of every event with this rule id, or with this tag,
// category or trap kind (a substring test that a database can run; it may also match events
// without them, so the blob is decoded to be sure).
std::string keysRulePattern(int rule_id);
std::string keysPattern(std::string_view key);

// A set of byte strings in one blob (attackers' categories, traps and sensors).
std::string encodeSet(const std::vector<std::string>& sorted_unique);
core::Status decodeSet(std::string_view bytes, std::vector<std::string>* out);

// zstd dictionaries (trained by libzstd from samples of bodies) make small records both much
// smaller and faster to compress. A frame names the dictionary it needs (its 32-bit id, in the
// frame header); the store keeps every dictionary it ever used (table `dictionaries`).
// Returns the dictionary's bytes, or nothing when the samples do not make a useful one.
std::optional<std::string> trainDictionary(const std::vector<std::string>& samples,
                                           size_t dictionary_bytes);
uint32_t dictionaryId(std::string_view dictionary);

// The store's zstd level. With a dictionary the level hardly changes the time (about 9 us for a
// 6 KB body on the benchmark's machine at levels -1 to 4) but it does the size: level 3 gives
// 12.6:1 where level 1 gives 11.9:1 and -1 9.8:1 (bench/store_bench's bodies).
inline constexpr int kCompressionLevel = 3;

// One zstd frame behind a codec byte (0: stored as is, 1: zstd). Tiny inputs are stored as is.
class Compressor {
 public:
  explicit Compressor(int level = kCompressionLevel);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  // Compresses with this dictionary from now on (id 0: none).
  void useDictionary(std::string_view dictionary);
  uint32_t dictionary() const { return dict_id_; }
  void compress(std::string_view in, std::string* out);
  // The same appended to `out` (many frames in one buffer, no allocation per frame).
  void compressAppend(std::string_view in, std::string* out);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::unique_ptr<char[]> buf_;  // a frame before it is appended; grows, never shrinks
  size_t buf_size_ = 0;
  int level_;
  uint32_t dict_id_ = 0;
};

class Decompressor {
 public:
  // Fetches a dictionary the decompressor has not seen yet (the store reads its table).
  using Loader = std::function<core::Result<std::optional<std::string>>(uint32_t id)>;
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Corruption for anything that is not a frame this codec wrote (or larger than 1 GiB), or
  // that needs a dictionary `load` cannot find.
  core::Status decompress(std::string_view in, std::string* out, const Loader& load);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Checks a compressed blob as Compressor writes it without decompressing it: its codec byte,
// one whole zstd frame that declares its size (at most 1 GiB). `dictionary` receives the frame's
// dictionary id (0: none), `size` the bytes it holds.
core::Status checkCompressed(std::string_view blob, uint32_t* dictionary, uint64_t* size);

// True when `needle_lower` (already ASCII-lowercased) occurs in `haystack`, ignoring ASCII case.
bool containsIgnoreCase(std::string_view haystack, std::string_view needle_lower);
std::string asciiLower(std::string_view s);

// The same test for one needle over many haystacks (a search through events): Horspool's
// algorithm on ASCII-folded bytes, which skips most bytes of a haystack that does not match.
class IgnoreCaseSearch {
 public:
  explicit IgnoreCaseSearch(std::string_view needle);  // any case
  bool in(std::string_view haystack) const;
  bool empty() const { return needle_.empty(); }

 private:
  std::string needle_;  // lowercased
  size_t skip_[256];
};

}  // namespace drosera::store::internal

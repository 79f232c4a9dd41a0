#include "store/codec.h"

#define ZDICT_STATIC_LINKING_ONLY 1  // ZDICT_trainFromBuffer_fastCover
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/classify.h"
#include "store/packed.h"

namespace drosera::store::internal {
namespace {

// Format of the blobs: a version byte, then fields in a fixed order. Integers are LEB128
// varints (signed ones zigzagged), strings are a varint length and the bytes.
constexpr uint8_t kBodyVersion = 1;
constexpr uint8_t kKeysVersion = 1;
constexpr uint8_t kSetVersion = 1;
constexpr uint8_t kCodecStored = 0;
constexpr uint8_t kCodecZstd = 1;
constexpr size_t kMinCompress = 64;             // below this a frame costs more than it saves
constexpr uint64_t kMaxDecompressed = 1ull << 30;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(int64_t v) { u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  void boolean(bool b) { byte(b ? 1 : 0); }
  void strs(const std::vector<std::string>& v) {
    u64(v.size());
    for (const auto& s : v) str(s);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool ok() const { return ok_; }
  bool atEnd() const { return p_ == end_; }
  uint8_t byte() {
    if (p_ == end_) return fail(), 0;
    return static_cast<uint8_t>(*p_++);
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return fail(), 0;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail(), 0;
  }
  int64_t i64() {
    const uint64_t z = u64();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  int i32() { return static_cast<int>(i64()); }
  std::string_view view() {
    const uint64_t n = u64();
    if (!ok_ || n > static_cast<uint64_t>(end_ - p_)) return fail(), std::string_view();
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  std::string str() { return std::string(view()); }
  bool boolean() { return byte() != 0; }
  // A count of items that each take at least one byte: bounded by what is left.
  size_t count() {
    const uint64_t n = u64();
    if (n > static_cast<uint64_t>(end_ - p_)) return fail(), 0;
    return static_cast<size_t>(n);
  }
  // A count of at most `max` items (a packed detail must keep the parser's limits): more fails.
  size_t count(size_t max) {
    const size_t n = count();
    if (n > max) return fail(), 0;
    return n;
  }
  // Into `v`, whose strings' storage is reused (a reader decoding many details into one event).
  void strs(std::vector<std::string>* v, size_t max = SIZE_MAX) {
    const size_t n = count(max);
    if (v->size() > n) v->resize(n);
    v->reserve(std::min(n, kReserveAtMost));
    for (size_t i = 0; i < n && ok_; ++i) {
      if (i < v->size()) {
        (*v)[i].assign(view());
      } else {
        v->emplace_back(view());
      }
    }
    if (!ok_) v->clear();
  }
  // A count says how many items follow, but a hostile one is believed only as far as this: an
  // item may be a single byte, and reserving for millions of them would be gigabytes.
  static constexpr size_t kReserveAtMost = 64;

 private:
  void fail() { ok_ = false; p_ = end_; }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

core::Status corrupt(const char* what) {
  return core::Status::corruption(std::string("store: malformed ") + what + " blob");
}

template <typename T>
void sortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Body: version byte, the detail's length, the detail, then raw_record and request_body.

void writeDetail(Writer& w, const core::Event& e) {
  w.str(e.sensor);
  w.str(e.unique_id);
  w.str(e.format);
  w.i64(e.time_us);
  w.str(e.src_ip);
  w.u64(e.src_port);
  w.str(e.dst_ip);
  w.u64(e.dst_port);
  w.str(e.listener_kind);
  w.boolean(e.tls);
  w.str(e.method);
  w.str(e.uri);
  w.str(e.http_version);
  w.str(e.host);
  w.str(e.user_agent);
  w.i64(e.status);
  w.u64(e.request_headers.size());
  for (const auto& h : e.request_headers) {
    w.str(h.name);
    w.str(h.value);
  }
  w.u64(e.rules.size());
  for (const auto& r : e.rules) {
    w.i64(r.id);
    w.i64(r.severity);
    w.str(r.message);
    w.str(r.data);
    w.str(r.match);
    w.strs(r.tags);
    w.str(r.file);
    w.i64(r.line);
    w.str(r.ver);
  }
  w.u64(e.scores.size());
  for (const auto& [name, value] : e.scores) {
    w.str(name);
    w.i64(value);
  }
  w.i64(e.inbound_score);
  w.i64(e.outbound_score);
  w.strs(e.categories);
  w.u64(e.traps.size());
  for (const auto& t : e.traps) {
    w.str(t.kind);
    w.str(t.bait);
    w.str(t.captured);
    w.i64(t.rule_id);
    w.str(t.origin);
  }
  w.boolean(e.attacker_flagged);
  w.strs(e.anomalies);
  w.strs(e.limits_hit);
  w.boolean(e.inspected);
}

// `indexed_only`: only what the store indexes (see decodeDetail()); the other strings are
// skipped, not copied, and the counts keep the parser's limits (a sensor packed the detail).
core::Status readDetail(std::string_view bytes, core::Event* e, bool indexed_only = false) {
  Reader r(bytes);
  const size_t none = SIZE_MAX;
  const size_t max_headers = indexed_only ? kPackedMaxHeaders : none;
  const size_t max_rules = indexed_only ? kPackedMaxRules : none;
  const size_t max_tags = indexed_only ? kPackedMaxTags : none;
  const size_t max_items = indexed_only ? kPackedMaxItems : none;
  constexpr size_t kReserve = Reader::kReserveAtMost;
  // Strings are assigned, not replaced: an event decoded into again keeps its storage.
  auto get = [&](std::string* dst) { dst->assign(r.view()); };
  auto take = [&](std::string* dst) {
    if (indexed_only) {
      (void)r.view();
      dst->clear();
    } else {
      get(dst);
    }
  };
  // The first `n` items of `v`, reused; a count past what is left fails (and keeps none).
  auto items = [&](auto* v, size_t n) {
    if (v->size() > n) v->resize(n);
    v->reserve(std::min(n, kReserve));
  };
  // Item `i` of `v` (items() first), appended when `v` holds only the first i.
  auto slot = [](auto* v, size_t i) -> auto& {
    if (i == v->size()) v->emplace_back();
    return (*v)[i];
  };
  get(&e->sensor);
  get(&e->unique_id);
  take(&e->format);
  e->time_us = r.i64();
  get(&e->src_ip);
  e->src_port = static_cast<uint16_t>(r.u64());
  take(&e->dst_ip);
  e->dst_port = static_cast<uint16_t>(r.u64());
  take(&e->listener_kind);
  e->tls = r.boolean();
  get(&e->method);
  get(&e->uri);
  take(&e->http_version);
  take(&e->host);
  get(&e->user_agent);
  e->status = r.i32();
  size_t n = r.count(max_headers);
  if (indexed_only) {
    e->request_headers.clear();
    for (size_t i = 0; i < n && r.ok(); ++i) {
      (void)r.view();
      (void)r.view();
    }
  } else {
    items(&e->request_headers, n);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      core::Header& h = slot(&e->request_headers, i);
      get(&h.name);
      get(&h.value);
    }
  }
  n = r.count(max_rules);
  items(&e->rules, n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    core::RuleHit& h = slot(&e->rules, i);
    h.id = r.i32();
    h.severity = r.i32();
    get(&h.message);
    take(&h.data);
    take(&h.match);
    r.strs(&h.tags, max_tags);
    take(&h.file);
    h.line = r.i32();
    take(&h.ver);
  }
  n = r.count(max_items);
  items(&e->scores, n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    auto& score = slot(&e->scores, i);
    get(&score.first);
    score.second = r.i64();
  }
  e->inbound_score = r.i64();
  e->outbound_score = r.i64();
  r.strs(&e->categories, max_items);
  n = r.count(max_items);
  items(&e->traps, n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    core::TrapHit& t = slot(&e->traps, i);
    get(&t.kind);
    take(&t.bait);
    take(&t.captured);
    t.rule_id = r.i32();
    take(&t.origin);
  }
  e->attacker_flagged = r.boolean();
  r.strs(&e->anomalies, max_items);
  r.strs(&e->limits_hit, max_items);
  e->inspected = r.boolean();
  if (!r.ok() || !r.atEnd()) return corrupt("detail");
  return core::Status::ok();
}

}  // namespace

std::string encodeBody(const core::Event& e) {
  std::string out;
  encodeBody(e, &out);
  return out;
}

void encodeBody(const core::Event& e, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.clear();
  out.reserve(1024 + e.uri.size() * 2 + e.user_agent.size() * 2 + e.rules.size() * 512 +
              e.request_headers.size() * 64 + e.raw_record.size() + e.request_body.size());
  Writer w(out);
  w.byte(kBodyVersion);
  // The detail's length goes in front of it: written in place as a 5-byte varint, then filled.
  const size_t at = out.size();
  out.append(5, '\0');
  writeDetail(w, e);
  uint64_t n = out.size() - at - 5;
  DROSERA_CHECK(n < (1ull << 35));
  for (int i = 0; i < 5; ++i, n >>= 7) {
    out[at + static_cast<size_t>(i)] = static_cast<char>((n & 0x7F) | (i < 4 ? 0x80 : 0));
  }
  w.str(e.raw_record);
  w.str(e.request_body);
}

std::string_view detailOfBody(std::string_view body) {
  Reader r(body);
  if (r.byte() != kBodyVersion) return {};
  const std::string_view detail = r.view();
  return r.ok() ? detail : std::string_view();
}

core::Status decodeDetail(std::string_view detail, core::Event* e) {
  e->raw_record.clear();
  e->request_body.clear();
  return readDetail(detail, e, true);
}

bool bodyHasDetail(std::string_view body, std::string_view detail) {
  Reader r(body);
  if (r.byte() != kBodyVersion) return false;
  const std::string_view d = r.view();
  (void)r.view();  // raw record
  (void)r.view();  // request body
  return r.ok() && r.atEnd() && d == detail;
}

core::Status decodeBody(std::string_view bytes, bool with_payload, core::Event* e) {
  Reader r(bytes);
  if (r.byte() != kBodyVersion) return corrupt("body");
  const std::string_view detail = r.view();
  const std::string_view raw = r.view();
  const std::string_view body = r.view();
  if (!r.ok() || !r.atEnd()) return corrupt("body");
  if (auto st = readDetail(detail, e); !st) return st;
  if (with_payload) {
    e->raw_record.assign(raw);
    e->request_body.assign(body);
  } else {
    e->raw_record.clear();
    e->request_body.clear();
  }
  return core::Status::ok();
}

EventFacts factsOf(const core::Event& e) {
  EventFacts f;
  factsOf(e, &f);
  return f;
}

void factsOf(const core::Event& e, EventFacts* out) {
  EventFacts& f = *out;
  f.rule_ids.clear();
  f.tags.clear();
  f.categories.clear();
  f.traps.clear();
  f.has_rules = false;
  f.rule_ids.reserve(e.rules.size());
  for (const auto& r : e.rules) {
    f.rule_ids.push_back(r.id);
    if (!core::isScoringRule(r.id)) f.has_rules = true;
    for (const auto& t : r.tags) f.tags.push_back(t);
  }
  sortUnique(f.rule_ids);
  sortUnique(f.tags);
  for (const auto& c : e.categories) f.categories.push_back(c);
  sortUnique(f.categories);
  for (const auto& t : e.traps) f.traps.push_back(t.kind);
  sortUnique(f.traps);
  const std::string_view uri(e.uri);
  f.path = uri.substr(0, std::min(uri.find('?'), uri.size()));
  f.has_traps = !e.traps.empty();
  f.sensor_flagged = e.attacker_flagged;
  f.alert = f.has_rules || f.has_traps;
  f.flagged = f.has_traps || f.sensor_flagged;
}

int flagsOf(const EventFacts& f) {
  return (f.has_rules ? kFlagHasRules : 0) | (f.has_traps ? kFlagHasTraps : 0) |
         (f.sensor_flagged ? kFlagAttackerFlagged : 0);
}

std::string encodeKeys(const EventFacts& f) {
  std::string out;
  appendKeys(f, &out);
  return out;
}

void appendKeys(const EventFacts& f, std::string* out_ptr) {
  Writer w(*out_ptr);
  w.byte(kKeysVersion);
  w.u64(f.rule_ids.size());
  for (int id : f.rule_ids) w.i64(id);
  for (const auto* list : {&f.tags, &f.categories, &f.traps}) {
    w.u64(list->size());
    for (auto s : *list) w.str(s);
  }
}

std::string keysRulePattern(int rule_id) {
  std::string out;
  Writer(out).i64(rule_id);
  return out;
}

std::string keysPattern(std::string_view key) {
  std::string out;
  Writer(out).str(key);
  return out;
}

core::Status decodeKeys(std::string_view bytes, KeysView* k) {
  Reader r(bytes);
  if (r.byte() != kKeysVersion) return corrupt("keys");
  size_t n = r.count();
  k->rule_ids.clear();
  for (size_t i = 0; i < n && r.ok(); ++i) k->rule_ids.push_back(r.i32());
  for (auto* list : {&k->tags, &k->categories, &k->traps}) {
    n = r.count();
    list->clear();
    for (size_t i = 0; i < n && r.ok(); ++i) list->push_back(r.view());
  }
  if (!r.ok() || !r.atEnd()) return corrupt("keys");
  return core::Status::ok();
}

std::string encodeSet(const std::vector<std::string>& v) {
  std::string out;
  Writer w(out);
  w.byte(kSetVersion);
  w.strs(v);
  return out;
}

core::Status decodeSet(std::string_view bytes, std::vector<std::string>* out) {
  Reader r(bytes);
  if (r.byte() != kSetVersion) return corrupt("set");
  r.strs(out);
  if (!r.ok() || !r.atEnd()) return corrupt("set");
  return core::Status::ok();
}

std::optional<std::string> trainDictionary(const std::vector<std::string>& samples,
                                           size_t dictionary_bytes) {
  std::string all;
  std::vector<size_t> sizes;
  for (const auto& s : samples) {
    all += s;
    sizes.push_back(s.size());
  }
  if (sizes.size() < 8) return std::nullopt;
  std::string dict(dictionary_bytes, '\0');
  // fastCover with fixed parameters: ZDICT_trainFromBuffer() searches segment sizes (k) at
  // several times the cost (0.3 s instead of 0.05 s for 500 bodies of 6 KB), for a dictionary
  // that compresses the benchmark's bodies as well (12.5:1 either way). k and d are the values
  // its search picks for them; the default trainer remains for samples fastCover cannot use.
  ZDICT_fastCover_params_t params{};
  params.k = 1024;
  params.d = 8;
  params.f = 20;
  params.accel = 1;
  params.zParams.compressionLevel = kCompressionLevel;
  size_t n = ZDICT_trainFromBuffer_fastCover(dict.data(), dict.size(), all.data(), sizes.data(),
                                             static_cast<unsigned>(sizes.size()), params);
  if (ZDICT_isError(n) || n == 0) {
    n = ZDICT_trainFromBuffer(dict.data(), dict.size(), all.data(), sizes.data(),
                              static_cast<unsigned>(sizes.size()));
  }
  if (ZDICT_isError(n) || n == 0) return std::nullopt;
  dict.resize(n);
  if (ZSTD_getDictID_fromDict(dict.data(), dict.size()) == 0) return std::nullopt;
  return dict;
}

uint32_t dictionaryId(std::string_view dictionary) {
  return ZSTD_getDictID_fromDict(dictionary.data(), dictionary.size());
}

struct Compressor::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_CDict* cdict = nullptr;
};

Compressor::Compressor(int level) : ctx_(std::make_unique<Ctx>()), level_(level) {
  ctx_->cctx = ZSTD_createCCtx();
  DROSERA_CHECK(ctx_->cctx != nullptr);
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_compressionLevel, level_);
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_contentSizeFlag, 1);
}

Compressor::~Compressor() {
  ZSTD_freeCDict(ctx_->cdict);
  ZSTD_freeCCtx(ctx_->cctx);
}

void Compressor::useDictionary(std::string_view dictionary) {
  ZSTD_freeCDict(ctx_->cdict);
  ctx_->cdict = nullptr;
  dict_id_ = 0;
  if (dictionary.empty()) return;
  ctx_->cdict = ZSTD_createCDict(dictionary.data(), dictionary.size(), level_);
  DROSERA_CHECK(ctx_->cdict != nullptr);
  dict_id_ = dictionaryId(dictionary);
}

void Compressor::compress(std::string_view in, std::string* out) {
  out->clear();
  compressAppend(in, out);
}

void Compressor::compressAppend(std::string_view in, std::string* out) {
  if (in.size() < kMinCompress) {
    out->push_back(static_cast<char>(kCodecStored));
    out->append(in.data(), in.size());
    return;
  }
  const size_t bound = ZSTD_compressBound(in.size());
  if (buf_size_ < bound) {
    // The size changes only once the buffer is had (std::bad_alloc leaves the old pair).
    const size_t size = std::max(bound, buf_size_ * 2);
    buf_ = std::make_unique<char[]>(size);
    buf_size_ = size;
  }
  const size_t n =
      ctx_->cdict != nullptr
          ? ZSTD_compress_usingCDict(ctx_->cctx, buf_.get(), bound, in.data(), in.size(),
                                     ctx_->cdict)
          : ZSTD_compress2(ctx_->cctx, buf_.get(), bound, in.data(), in.size());
  // With a buffer of ZSTD_compressBound() bytes compression cannot fail but for a bug.
  DROSERA_CHECK(!ZSTD_isError(n));
  if (n >= in.size()) {  // incompressible: keep it as is
    out->push_back(static_cast<char>(kCodecStored));
    out->append(in.data(), in.size());
    return;
  }
  out->push_back(static_cast<char>(kCodecZstd));
  out->append(buf_.get(), n);
}

core::Status checkCompressed(std::string_view in, uint32_t* dictionary, uint64_t* declared) {
  *dictionary = 0;
  *declared = 0;
  if (in.empty()) return corrupt("compressed");
  const uint8_t codec = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (codec == kCodecStored) {
    *declared = in.size();
    return core::Status::ok();
  }
  if (codec != kCodecZstd) return corrupt("compressed");
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kMaxDecompressed || ZSTD_findFrameCompressedSize(in.data(), in.size()) != in.size()) {
    return corrupt("compressed");
  }
  *dictionary = ZSTD_getDictID_fromFrame(in.data(), in.size());
  *declared = size;
  return core::Status::ok();
}

struct Decompressor::Ctx {
  ZSTD_DCtx* dctx = nullptr;
  std::unordered_map<uint32_t, ZSTD_DDict*> dicts;
};

Decompressor::Decompressor() : ctx_(std::make_unique<Ctx>()) {
  ctx_->dctx = ZSTD_createDCtx();
  DROSERA_CHECK(ctx_->dctx != nullptr);
}

Decompressor::~Decompressor() {
  for (auto& [id, d] : ctx_->dicts) ZSTD_freeDDict(d);
  ZSTD_freeDCtx(ctx_->dctx);
}

core::Status Decompressor::decompress(std::string_view in, std::string* out, const Loader& load) {
  out->clear();
  if (in.empty()) return corrupt("compressed");
  const uint8_t codec = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (codec == kCodecStored) {
    out->assign(in.data(), in.size());
    return core::Status::ok();
  }
  if (codec != kCodecZstd) return corrupt("compressed");
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kMaxDecompressed) {
    return corrupt("compressed");
  }
  ZSTD_DDict* ddict = nullptr;
  if (const uint32_t id = ZSTD_getDictID_fromFrame(in.data(), in.size()); id != 0) {
    auto it = ctx_->dicts.find(id);
    if (it == ctx_->dicts.end()) {
      if (!load) return corrupt("compressed (dictionary unavailable)");
      auto dict = load(id);
      if (!dict) return dict.status();
      if (!dict.value() || dictionaryId(*dict.value()) != id) {
        return core::Status::corruption("store: a record needs zstd dictionary " +
                                        std::to_string(id) + ", which the store does not have");
      }
      ZSTD_DDict* d = ZSTD_createDDict(dict.value()->data(), dict.value()->size());
      if (d == nullptr) return corrupt("dictionary");
      it = ctx_->dicts.emplace(id, d).first;
    }
    ddict = it->second;
  }
  out->resize(size);
  const size_t n = ddict != nullptr
                       ? ZSTD_decompress_usingDDict(ctx_->dctx, out->data(), size, in.data(),
                                                    in.size(), ddict)
                       : ZSTD_decompressDCtx(ctx_->dctx, out->data(), size, in.data(), in.size());
  if (ZSTD_isError(n) || n != size) {
    out->clear();
    return corrupt("compressed");
  }
  return core::Status::ok();
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {
inline unsigned char fold(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}
}  // namespace

IgnoreCaseSearch::IgnoreCaseSearch(std::string_view needle) : needle_(asciiLower(needle)) {
  const size_t m = needle_.size();
  for (size_t& s : skip_) s = m;
  for (size_t j = 0; j + 1 < m; ++j) skip_[static_cast<unsigned char>(needle_[j])] = m - 1 - j;
}

bool IgnoreCaseSearch::in(std::string_view hay) const {
  const size_t m = needle_.size();
  if (m == 0) return true;
  if (m > hay.size()) return false;
  const auto* h = reinterpret_cast<const unsigned char*>(hay.data());
  const auto* n = reinterpret_cast<const unsigned char*>(needle_.data());
  const unsigned char last = n[m - 1];
  for (size_t i = 0; i + m <= hay.size();) {
    const unsigned char c = fold(h[i + m - 1]);
    if (c == last) {
      size_t j = 0;
      while (j + 1 < m && fold(h[i + j]) == n[j]) ++j;
      if (j + 1 >= m) return true;
    }
    i += skip_[c];
  }
  return false;
}

bool containsIgnoreCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  const char first = needle[0];
  const size_t last = hay.size() - needle.size();
  for (size_t i = 0; i <= last; ++i) {
    if (lower(hay[i]) != first) continue;
    size_t j = 1;
    while (j < needle.size() && lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace drosera::store::internal

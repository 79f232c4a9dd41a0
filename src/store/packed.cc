#include "store/packed.h"

#include "store/codec.h"

namespace drosera::store {
namespace {

constexpr uint8_t kKindLine = 0;
constexpr uint8_t kKindEvent = 1;

void appendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void appendField(std::string_view bytes, std::string* out) {
  appendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

bool readField(std::string_view* in, std::string_view* out) {
  uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    if (in->empty() || shift > 63) return false;
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    n |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

core::Status malformed(const std::string& what) {
  return core::Status::invalidArgument("packed batch: " + what);
}

}  // namespace

struct Packer::Impl {
  internal::Compressor compressor;
  std::string body;
};

Packer::Packer(std::string_view dictionary) : impl_(std::make_unique<Impl>()) {
  impl_->compressor.useDictionary(dictionary);
}

Packer::~Packer() = default;

uint32_t Packer::dictionaryId() const { return impl_->compressor.dictionary(); }

void Packer::append(const core::Event& event, std::string* out) {
  if (out->empty()) out->append(kPackedMagic);
  internal::encodeBody(event, &impl_->body);
  out->push_back(static_cast<char>(kKindEvent));
  appendField(internal::detailOfBody(impl_->body), out);
  // The compressed body, its length in front: written after a 5-byte varint placeholder.
  const size_t at = out->size();
  out->append(5, '\0');
  impl_->compressor.compressAppend(impl_->body, out);
  uint64_t n = out->size() - at - 5;
  for (int i = 0; i < 5; ++i, n >>= 7) {
    (*out)[at + static_cast<size_t>(i)] = static_cast<char>((n & 0x7F) | (i < 4 ? 0x80 : 0));
  }
}

void Packer::appendLine(std::string_view line, std::string* out) {
  if (out->empty()) out->append(kPackedMagic);
  out->push_back(static_cast<char>(kKindLine));
  appendField(line, out);
}

core::Status openPackedBatch(std::string_view* batch) {
  if (batch->substr(0, kPackedMagic.size()) != kPackedMagic) {
    return malformed("it does not begin with " + std::string(kPackedMagic));
  }
  batch->remove_prefix(kPackedMagic.size());
  return core::Status::ok();
}

core::Status nextPackedRecord(std::string_view* batch, PackedRecord* out) {
  if (batch->empty()) return malformed("a record expected");
  const uint8_t kind = static_cast<uint8_t>(batch->front());
  batch->remove_prefix(1);
  *out = PackedRecord{};
  if (kind == kKindLine) {
    out->is_line = true;
    if (!readField(batch, &out->line)) return malformed("a line record is cut short");
    return core::Status::ok();
  }
  if (kind != kKindEvent) return malformed("unknown record kind");
  if (!readField(batch, &out->detail) || !readField(batch, &out->body)) {
    return malformed("an event record is cut short");
  }
  // An empty body would leave the store to make one from the detail, which lacks the headers
  // and the raw record: refused, so an event is kept whole or not at all.
  if (out->body.empty()) return malformed("an event record has no body");
  return core::Status::ok();
}

core::Status decodePackedDetail(std::string_view detail, core::Event* event) {
  auto st = internal::decodeDetail(detail, event);
  if (!st) return malformed("an event's detail cannot be decoded");
  return st;
}

}  // namespace drosera::store

// Fuzz target: a packed batch as a sensor sends it to the collector's ingest (store/packed.h):
// openPackedBatch, nextPackedRecord, decodePackedDetail, and the checks the store makes of a
// body before it keeps it (checkCompressed; a stored or small frame decompressed and held
// against its detail, bodyHasDetail), as Collector::ingest and Store::insertPacked call them.
//
// Input: the batch. Invariants:
//  - every record read lies within the batch and takes at least one byte of it; reading stops
//    at the first malformed record, with an InvalidArgument;
//  - a detail that decodes leaves raw_record and request_body empty;
//  - a body checkCompressed accepts as stored declares its own size; one it accepts and that
//    decompresses (without a dictionary, at most 1 MiB) is as long as declared;
//  - a body whose detail is the record's own (bodyHasDetail) has that detail first.
#include <string>
#include <string_view>

#include "core/event.h"
#include "fuzz_check.h"
#include "store/codec.h"
#include "store/packed.h"

namespace {

namespace store = drosera::store;
namespace internal = drosera::store::internal;

bool within(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view batch(reinterpret_cast<const char*>(data), size);
  std::string_view in = batch;
  if (!store::openPackedBatch(&in)) return 0;
  internal::Decompressor decompressor;
  std::string body;
  while (!in.empty()) {
    const size_t before = in.size();
    store::PackedRecord rec;
    auto st = store::nextPackedRecord(&in, &rec);
    if (!st) {
      FUZZ_CHECK(st.code() == drosera::core::Status::Code::kInvalidArgument);
      break;
    }
    FUZZ_CHECK(in.size() < before);
    FUZZ_CHECK(within(rec.line, batch) && within(rec.detail, batch) && within(rec.body, batch));
    if (rec.is_line) continue;
    drosera::core::Event e;
    e.raw_record = "left over";
    if (store::decodePackedDetail(rec.detail, &e)) {
      FUZZ_CHECK(e.raw_record.empty() && e.request_body.empty());
    }
    uint32_t dictionary = 0;
    uint64_t declared = 0;
    if (!internal::checkCompressed(rec.body, &dictionary, &declared)) continue;
    if (static_cast<uint8_t>(rec.body[0]) == 0) FUZZ_CHECK(declared == rec.body.size() - 1);
    if (dictionary != 0 || declared > (1u << 20)) continue;
    if (!decompressor.decompress(rec.body, &body, nullptr)) continue;
    FUZZ_CHECK(body.size() == declared);
    if (internal::bodyHasDetail(body, rec.detail)) {
      FUZZ_CHECK(internal::detailOfBody(body) == rec.detail);
    }
  }
  return 0;
}

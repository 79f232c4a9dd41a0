#include "collector/sensor_packer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "collector/parse.h"

namespace drosera::collector {
namespace {

double packerSteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t packerWallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SensorPacker::SensorPacker(SensorPackerOptions options, std::unique_ptr<http::HttpClient> client)
    : opt_(std::move(options)), client_(std::move(client)) {}

SensorPacker::~SensorPacker() = default;

uint32_t SensorPacker::dictionary() const { return packer_ ? packer_->dictionaryId() : 0; }

bool SensorPacker::pack(std::string_view lines, std::string* packed, std::string* content_type) {
  if (!packer_) return false;
  *content_type = store::kPackedContentType;
  packed->clear();
  ParseContext ctx;  // as the collector's ingest parses a line
  ctx.sensor = opt_.sensor_id;
  ctx.fallback_time_us = packerWallUs();
  ctx.max_rules = store::kPackedMaxRules;  // what the collector takes of a packed detail
  ctx.max_headers = store::kPackedMaxHeaders;
  ctx.max_tags = store::kPackedMaxTags;
  ctx.max_items = store::kPackedMaxItems;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t nl = lines.find('\n', pos);
    if (nl == std::string_view::npos) nl = lines.size();
    const std::string_view line = lines.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto e = parseRecord(line, ctx);
    if (e) {
      packer_->append(*e, packed);
    } else {
      // The collector parses it again, and refuses it (counted there) or, short of memory
      // here, takes it.
      store::Packer::appendLine(line, packed);
    }
  }
  return !packed->empty();
}

void SensorPacker::answered(int status, std::string_view body, bool was_packed) {
  if (status == 400 && was_packed) {
    // A body the collector would not take (a dictionary it lost, another version): lines
    // from now on, until an answer names a dictionary again after a while.
    spdlog::warn("shipper: the collector refused a packed batch ({}); sending lines",
                 std::string(body.substr(0, 200)));
    packer_.reset();
    retry_at_ = packerSteadySeconds() + opt_.refetch_after_s;
    return;
  }
  if (status < 200 || status >= 300) return;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("dictionary") ||
      !j["dictionary"].is_number_unsigned()) {
    packer_.reset();  // an older collector (one rolled back): lines, or it drops packed ones
    return;
  }
  const uint64_t id = j["dictionary"].get<uint64_t>();
  if (id == 0 || id > UINT32_MAX || id == dictionary()) return;
  if (packerSteadySeconds() < retry_at_) return;
  fetch(static_cast<uint32_t>(id));
}

void SensorPacker::fetch(uint32_t id) {
  http::ClientRequest req;
  req.method = "GET";
  req.url = opt_.ingest_url + "/dictionary";
  req.timeout_s = opt_.timeout_s;
  req.verify_tls = opt_.verify_tls;
  req.ca_file = opt_.ca_file;
  req.max_response_bytes = 1u << 20;
  req.headers = {{"Authorization", "Bearer " + opt_.token}};
  auto resp = client_->send(req);
  std::string why;
  if (!resp) {
    why = resp.status().message();
  } else if (resp->status != 200) {
    why = "the collector answered " + std::to_string(resp->status);
  } else {
    auto p = std::make_unique<store::Packer>(resp->body);
    if (p->dictionaryId() == 0) {
      why = "the collector sent no zstd dictionary";
    } else {
      if (p->dictionaryId() != id) {
        spdlog::info("shipper: the collector offered dictionary {} and sent {}", id,
                     p->dictionaryId());
      }
      spdlog::info("shipper: packing batches with the collector's dictionary {}",
                   p->dictionaryId());
      packer_ = std::move(p);
      return;
    }
  }
  spdlog::warn("shipper: cannot fetch the collector's dictionary {}: {}; sending lines", id, why);
  retry_at_ = packerSteadySeconds() + opt_.refetch_after_s;
}

}  // namespace drosera::collector

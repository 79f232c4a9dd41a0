#include "engine/modsec_inspector.h"

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rule_message.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>

namespace drosera::engine {
namespace fs = std::filesystem;
namespace {

// CRS collection variables worth reporting. Only non-zero ones end up in the verdict.
constexpr const char* kScoreNames[] = {
    "anomaly_score",        "inbound_anomaly_score", "outbound_anomaly_score",
    "sql_injection_score",  "xss_score",             "rfi_score",
    "lfi_score",            "rce_score",             "php_injection_score",
    "http_violation_score", "session_fixation_score", "anomaly_score_pl1",
    "anomaly_score_pl2",    "anomaly_score_pl3",     "anomaly_score_pl4",
};

// Rule messages reach us through Transaction::m_rulesMessages; the callback exists only so that
// libmodsecurity does not print every match on stderr.
void silentLog(void*, const void*) {}

// The engine takes the request line's parts as C strings: a NUL byte (which the parser lets
// through, anomaly nul_in_request_line) would hide everything after it from the rules. It goes
// in percent-encoded, as %00, which the rules' decoding turns back into a NUL. `s` itself when
// it holds none (no copy per request); else `scratch`, made from it.
const char* withoutNul(const std::string& s, std::string* scratch) {
  if (s.find('\0') == std::string::npos) return s.c_str();
  scratch->clear();
  scratch->reserve(s.size() + 8);
  for (char ch : s) {
    if (ch == '\0')
      *scratch += "%00";
    else
      *scratch += ch;
  }
  return scratch->c_str();
}

// `s` cut to at most `max` bytes (not inside a UTF-8 sequence), with the cut marked.
std::string boundedText(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t keep = max;
  for (int k = 0; k < 3 && keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80; ++k) {
    --keep;
  }
  return s.substr(0, keep) + " ... (" + std::to_string(s.size() - keep) + " bytes omitted)";
}

std::string quoteDirectiveArg(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class ModSecInspector final : public Inspector {
 public:
  ModSecInspector() : ms_(std::make_unique<modsecurity::ModSecurity>()) {
    ms_->setConnectorInformation("drosera");
    ms_->setServerLogCb(silentLog, modsecurity::RuleMessageLogProperty);
  }

  core::Status load(const std::string& config_text, const std::string& ref, bool inspect_body,
                    const std::string& engine) {
    rules_ = std::make_unique<modsecurity::RulesSet>();
    if (rules_->load(config_text.c_str(), ref) < 0) {
      return core::Status::invalidArgument("ModSecurity rejected the rules: " +
                                           rules_->getParserError());
    }
    inspect_response_body_ = inspect_body;
    engine_state_ = engine == "On" ? "Enabled" : "DetectionOnly";
    for (std::string c : rules_->m_components) {
      // libmodsecurity 3.0.9 keeps a stray closing quote ("OWASP_CRS/3.3.4\"").
      while (!c.empty() && (c.back() == '"' || c.back() == ' ')) c.pop_back();
      components_.push_back(c);
    }
    return core::Status::ok();
  }

  std::string producer() const override { return ms_->whoAmI(); }
  std::vector<std::string> components() const override { return components_; }
  std::string ruleEngineState() const override { return engine_state_; }

  core::Verdict inspect(const core::Capture& c) override {
    core::Verdict v;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      run(c, v);
      v.inspected = true;
    } catch (const std::bad_alloc&) {
      throw;  // out of memory: the inspection pool tries again before giving up (engine_error)
    } catch (const std::exception&) {
      // libmodsecurity should not throw; if it does, the capture is still logged, uninspected.
      v.inspected = false;
    }
    v.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    return v;
  }

 private:
  void checkIntervention(modsecurity::Transaction& tx, core::Verdict& v) {
    modsecurity::ModSecurityIntervention it;
    modsecurity::intervention::clean(&it);
    if (tx.intervention(&it) && it.disruptive && v.intervention_status == 0) {
      v.intervention_status = it.status;
    }
    modsecurity::intervention::free(&it);
  }

  void run(const core::Capture& c, core::Verdict& v) {
    // The transaction id is ours, so the engine's view and the event share one id.
    std::string id = c.unique_id;
    modsecurity::Transaction tx(ms_.get(), rules_.get(), id.data(), nullptr);
    if (auto* col = tx.m_collections.m_tx_collection) {
      for (const auto& [name, value] : c.facts) col->storeOrUpdateFirst("drosera_" + name, value);
    }
    tx.processConnection(c.client.ip.c_str(), c.client.port, c.local.ip.c_str(), c.local.port);
    const std::string& version = c.request.version.empty() ? kDefaultVersion : c.request.version;
    std::string target, method, line_version;
    tx.processURI(withoutNul(c.request.target, &target), withoutNul(c.request.method, &method),
                  withoutNul(version, &line_version));
    checkIntervention(tx, v);
    for (const auto& h : c.request.headers) {
      tx.addRequestHeader(reinterpret_cast<const unsigned char*>(h.name.data()), h.name.size(),
                          reinterpret_cast<const unsigned char*>(h.value.data()), h.value.size());
    }
    tx.processRequestHeaders();
    checkIntervention(tx, v);
    if (!c.request.body.empty()) {
      tx.appendRequestBody(reinterpret_cast<const unsigned char*>(c.request.body.data()),
                           c.request.body.size());
    }
    tx.processRequestBody();
    checkIntervention(tx, v);
    for (const auto& h : c.response.headers) {
      tx.addResponseHeader(reinterpret_cast<const unsigned char*>(h.name.data()), h.name.size(),
                           reinterpret_cast<const unsigned char*>(h.value.data()), h.value.size());
    }
    tx.processResponseHeaders(c.response.status ? c.response.status : 200,
                              "HTTP " + std::string(version));
    checkIntervention(tx, v);
    if (inspect_response_body_ && !c.response.body.empty()) {
      tx.appendResponseBody(reinterpret_cast<const unsigned char*>(c.response.body.data()),
                            c.response.body.size());
    }
    tx.processResponseBody();
    checkIntervention(tx, v);
    tx.processLogging();

    v.matches.reserve(tx.m_rulesMessages.size());
    for (const auto& m : tx.m_rulesMessages) {
      core::RuleMatch r;
      r.id = m.m_ruleId;
      r.message = m.m_message;
      r.data = boundedText(m.m_data, kMaxRuleDataBytes);
      r.match = boundedText(m.m_match, kMaxRuleMatchBytes);
      r.reference = m.m_reference;
      r.file = m.m_ruleFile ? *m.m_ruleFile : std::string();
      r.line = m.m_ruleLine;
      r.severity = m.m_severity;
      r.phase = m.m_phase;
      r.tags.assign(m.m_tags.begin(), m.m_tags.end());
      r.ver = m.m_ver;
      r.rev = m.m_rev;
      r.maturity = m.m_maturity;
      r.accuracy = m.m_accuracy;
      r.disruptive = m.m_isDisruptive;
      v.matches.push_back(std::move(r));
    }
    if (auto* col = tx.m_collections.m_tx_collection) {
      for (const char* name : kScoreNames) {
        std::unique_ptr<std::string> s = col->resolveFirst(name);
        if (!s || s->empty()) continue;
        char* end = nullptr;
        long long n = std::strtoll(s->c_str(), &end, 10);
        if (end != s->c_str() && n != 0) v.scores.emplace_back(name, n);
      }
    }
  }

  static inline const std::string kDefaultVersion = "1.1";
  std::unique_ptr<modsecurity::ModSecurity> ms_;
  std::unique_ptr<modsecurity::RulesSet> rules_;
  std::vector<std::string> components_;
  std::string engine_state_;
  bool inspect_response_body_ = false;
};

core::Status requireFile(const std::string& path, const std::string& key, const char* hint) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return core::Status::notFound(key + ": " + path + " does not exist" + (hint ? hint : ""));
  }
  std::ifstream probe(path);
  if (fs::is_regular_file(path, ec) && !probe) {
    return core::Status::invalidArgument(key + ": " + path + " cannot be read");
  }
  return core::Status::ok();
}

}  // namespace

core::Result<std::string> buildEngineConfig(const EngineOptions& o) {
  const auto& c = o.config;
  const std::string rules_dir = c.crs_dir + "/rules";
  std::error_code ec;
  if (!fs::is_directory(rules_dir, ec)) {
    return core::Status::notFound(
        "engine.crs_dir: the OWASP Core Rule Set was not found at " + rules_dir +
        " (install the Debian package modsecurity-crs, or point engine.crs_dir at a CRS folder)");
  }
  if (!c.crs_setup.empty()) {
    auto st = requireFile(c.crs_setup, "engine.crs_setup",
                          " (it comes with the Debian package modsecurity-crs; set "
                          "engine.crs_setup = \"\" to load none)");
    if (!st) return st;
  }
  if (!c.unicode_map.empty()) {
    auto st = requireFile(c.unicode_map, "engine.unicode_map",
                          " (it comes with the Debian package libmodsecurity3)");
    if (!st) return st;
  }
  for (const auto& f : c.extra_rules) {
    auto st = requireFile(f, "engine.extra_rules", nullptr);
    if (!st) return st;
  }
  const int epl = c.executing_paranoia_level ? c.executing_paranoia_level : c.paranoia_level;
  std::ostringstream s;
  s << "# drosera engine configuration (generated)\n"
    << "SecRuleEngine " << c.rule_engine << "\n"
    << "SecRequestBodyAccess On\n"
    << "SecRequestBodyLimit " << std::max<uint64_t>(o.request_body_limit, 1) << "\n"
    << "SecRequestBodyNoFilesLimit " << std::max<uint64_t>(o.request_body_limit, 1) << "\n"
    << "SecRequestBodyLimitAction ProcessPartial\n"
    << "SecRequestBodyJsonDepthLimit 512\n"
    << "SecArgumentsLimit 1000\n"
    << "SecResponseBodyAccess " << (c.inspect_response_body ? "On" : "Off") << "\n"
    << "SecResponseBodyMimeType text/plain text/html text/xml\n"
    << "SecResponseBodyLimit 524288\n"
    << "SecResponseBodyLimitAction ProcessPartial\n"
    << "SecPcreMatchLimit " << c.pcre_match_limit << "\n"
    << "SecPcreMatchLimitRecursion " << c.pcre_match_limit << "\n"
    << "SecTmpDir " << quoteDirectiveArg(o.tmp_dir) << "\n"
    << "SecDataDir " << quoteDirectiveArg(o.tmp_dir) << "\n"
    << "SecAuditEngine Off\n"
    << "SecArgumentSeparator &\n"
    << "SecCookieFormat 0\n"
    << "SecStatusEngine Off\n";
  if (!c.unicode_map.empty()) {
    if (c.unicode_map.find_first_of(" \t\"") != std::string::npos) {
      return core::Status::invalidArgument("engine.unicode_map: the path must not contain spaces or quotes");
    }
    s << "SecUnicodeMapFile " << c.unicode_map << " 20127\n";
  }
  // Request body processors, as in ModSecurity's recommended configuration.
  s << "SecRule REQUEST_HEADERS:Content-Type \"^(?:application(?:/soap\\+|/)|text/)xml\" "
       "\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n"
    << "SecRule REQUEST_HEADERS:Content-Type \"^application/json\" "
       "\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
    << "SecRule REQBODY_ERROR \"!@eq 0\" \"id:200002,phase:2,t:none,log,pass,"
       "msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2\"\n";
  if (!c.crs_setup.empty()) s << "Include " << quoteDirectiveArg(c.crs_setup) << "\n";
  s << "SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level="
    << c.paranoia_level << "\"\n"
    << "SecAction \"id:900001,phase:1,nolog,pass,t:none,setvar:tx.executing_paranoia_level="
    << epl << "\"\n"
    << "SecAction \"id:900110,phase:1,nolog,pass,t:none,"
       "setvar:tx.inbound_anomaly_score_threshold=" << c.inbound_threshold
    << ",setvar:tx.outbound_anomaly_score_threshold=" << c.outbound_threshold << "\"\n";
  // The CRS rule files in order, as Debian's owasp-crs.load does.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(rules_dir, ec)) {
    if (e.path().extension() == ".conf") files.push_back(e.path().string());
  }
  if (files.empty()) {
    return core::Status::notFound("engine.crs_dir: no .conf rule files in " + rules_dir);
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) s << "Include " << quoteDirectiveArg(f) << "\n";
  for (const auto& f : c.extra_rules) s << "Include " << quoteDirectiveArg(f) << "\n";
  return s.str();
}

core::Result<std::unique_ptr<Inspector>> makeModSecInspector(const EngineOptions& o) {
  auto text = buildEngineConfig(o);
  if (!text) return text.status();
  auto insp = std::make_unique<ModSecInspector>();
  std::string full = *text;
  for (const auto& extra : o.extra_rule_texts) {
    full += "\n# " + extra.name + "\n" + extra.text + "\n";
  }
  core::Status st = insp->load(full, o.config.crs_dir + "/rules/", o.config.inspect_response_body,
                               o.config.rule_engine);
  if (!st) return st;
  return std::unique_ptr<Inspector>(std::move(insp));
}

}  // namespace drosera::engine

// The honeytraps: the explicit table of trap kinds, built from the configuration and the
// install's secret. Baits are laid by the server (DESIGN decision 3): static ones into the site
// at start, per-visitor ones (the cookie, honeytokens) per response. Identification is done by
// the generated ModSecurity rules; interpret() turns their hits into structured trap hits.
// Thread-safety: read-only after create() except the honeytoken registry (internally locked).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/capture.h"
#include "core/config.h"
#include "core/status.h"
#include "core/verdict.h"
#include "http/response.h"
#include "sensor/traps/admin_login.h"
#include "sensor/traps/cookie.h"
#include "sensor/traps/fake_port.h"
#include "sensor/traps/hidden_field.h"
#include "sensor/traps/honeytoken.h"
#include "sensor/traps/html_comment.h"
#include "sensor/traps/robots.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"
#include "sensor/traps/sensitive_files.h"

namespace drosera::sensor {
class Site;
}

namespace drosera::sensor::traps {

class Traps {
 public:
  static core::Result<std::unique_ptr<Traps>> create(const core::TrapsConfig& config,
                                                     InstallSecret secret,
                                                     std::vector<uint16_t> fake_ports,
                                                     const std::string& baits_dir);

  // The identification rules, with a comment per bait.
  std::string ruleText(RuleFlavor flavor) const;

  // At start: lays the static baits into a site (hidden fields, the HTML comment, robots.txt).
  void decorate(Site& site) const;
  // First, for every answered request: the visitor id from a valid trap cookie, if any.
  void identify(core::Capture& capture) const;
  // A bait resource answers instead of the site (the robots path's 401, the commented backup,
  // fake files, fake logins); nullopt for anything else. Registers handed-out honeytokens with
  // `capture.unique_id` as their origin.
  std::optional<http::Response> answer(core::Capture& capture, const http::Persona& persona);
  // Whether answer() reads the request's body (a fake login shows the user name sent): such a
  // request is answered once its body is in, whatever the persona.
  bool readsBody(const core::HttpRequestData& request) const;
  // After any answer: sets capture.visitor and gives new visitors the bait cookie.
  void finish(core::Capture& capture, http::Response& response) const;
  // What only the server knows, for the rules: listener kind, cookie state, honeytoken use.
  void addFacts(core::Capture& capture) const;
  // Trap hits from the verdict's rule hits (merged per kind and bait).
  std::vector<core::TrapHit> interpret(const core::Capture& capture,
                                       const core::Verdict& verdict) const;

  HoneytokenRegistry& tokens() { return tokens_; }
  const core::TrapsConfig& config() const { return config_; }
  const RobotsTrap* robots() const { return robots_ ? &*robots_ : nullptr; }
  const CommentTrap* comment() const { return comment_ ? &*comment_ : nullptr; }
  const HiddenFieldTrap* hiddenField() const { return hidden_ ? &*hidden_ : nullptr; }
  const CookieTrap* cookie() const { return cookie_ ? &*cookie_ : nullptr; }

 private:
  Traps(const core::TrapsConfig& config, InstallSecret secret);
  RuleSet buildRules(RuleFlavor flavor) const;
  // Last-Modified and ETag for a bait file, as a static file has them: a modification time in
  // 2025 that stays the same for this install and path.
  // A static file's headers as the persona's server sends them (Site::serveFile): validators,
  // Accept-Ranges, Vary when it would, the type.
  void addFileHeaders(const std::string& path, const http::Persona& persona,
                      const std::string& content_type, http::Response& r) const;
  static void answerConditional(const core::Capture& capture, const http::Persona& persona,
                                http::Response& r);
  std::string renderBait(const std::string& template_name, core::Capture& capture,
                         std::vector<std::pair<std::string, std::string>> extra);
  const std::string* templ(const std::string& name) const;

  core::TrapsConfig config_;
  InstallSecret secret_;
  std::optional<FakePortTrap> fake_port_;
  std::optional<RobotsTrap> robots_;
  std::optional<CommentTrap> comment_;
  std::optional<HiddenFieldTrap> hidden_;
  std::optional<CookieTrap> cookie_;
  std::optional<SensitiveFilesTrap> files_;
  std::optional<AdminLoginTrap> logins_;
  std::map<std::string, std::string> templates_;  // baits folder, loaded at start
  std::map<int, RuleSpec> specs_;                 // rule id -> kind and bait
  HoneytokenRegistry tokens_;
};

}  // namespace drosera::sensor::traps

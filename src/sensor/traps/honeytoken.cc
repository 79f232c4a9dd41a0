#include "sensor/traps/honeytoken.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace drosera::sensor::traps {
namespace {

constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kUpper32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kHexLower = "0123456789abcdef";
constexpr size_t kMinToken = 16;

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool isHoneytokenName(std::string_view n) {
  static const char* kNames[] = {"app_key", "db_password", "aws_access_key_id",
                                 "aws_secret_access_key", "mail_password", "stripe_secret",
                                 "jwt_secret", "git_token", "api_token"};
  for (const char* k : kNames) {
    if (n == k) return true;
  }
  return n.rfind("wp_salt_", 0) == 0;
}

std::string makeToken(const InstallSecret& s, std::string_view name, std::string_view visitor) {
  const std::string label = "token/" + std::string(name);
  if (name == "aws_access_key_id") return "AKIA" + s.text(label, visitor, kUpper32, 16);
  if (name == "stripe_secret") return "sk_live_" + s.text(label, visitor, kAlnum, 24);
  if (name == "git_token") return s.text(label, visitor, kHexLower, 40);
  if (name == "api_token") return s.text(label, visitor, kHexLower, 40);
  if (name == "app_key") return s.text(label, visitor, kAlnum, 43) + "=";
  if (name == "db_password") return s.text(label, visitor, kAlnum, 20);
  if (name == "mail_password") return s.text(label, visitor, kAlnum, 16);
  if (name == "aws_secret_access_key") return s.text(label, visitor, kAlnum, 40);
  if (name == "jwt_secret") return s.text(label, visitor, kAlnum, 48);
  if (name.rfind("wp_salt_", 0) == 0) return s.text(label, visitor, kAlnum, 64);
  return s.text(label, visitor, kAlnum, 24);
}

std::string tokenKey(std::string_view v) {
  size_t end = 0;
  while (end < v.size() && isWordChar(v[end])) ++end;
  return std::string(v.substr(0, end));
}

void HoneytokenRegistry::add(const std::string& token, TokenOrigin origin) {
  if (token.size() < kMinToken) return;
  std::lock_guard lock(mu_);
  if (tokens_.count(token)) return;
  tokens_.emplace(token, std::move(origin));
  order_.push_back(token);
  dirty_ = true;
  while (order_.size() > max_) {
    tokens_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<TokenOrigin> HoneytokenRegistry::find(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<std::string, TokenOrigin>> HoneytokenRegistry::scan(
    std::string_view text) const {
  std::lock_guard lock(mu_);
  if (tokens_.empty()) return std::nullopt;
  size_t i = 0;
  std::string word;
  while (i < text.size()) {
    while (i < text.size() && !isWordChar(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && isWordChar(text[i])) ++i;
    if (i - start >= kMinToken && i - start <= 128) {
      word.assign(text.substr(start, i - start));
      auto it = tokens_.find(word);
      if (it != tokens_.end()) return std::make_pair(word, it->second);
    }
  }
  return std::nullopt;
}

size_t HoneytokenRegistry::size() const {
  std::lock_guard lock(mu_);
  return tokens_.size();
}

std::vector<std::string> HoneytokenRegistry::recent(size_t n) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto it = order_.rbegin(); it != order_.rend() && out.size() < n; ++it) out.push_back(*it);
  return out;
}

core::Status HoneytokenRegistry::save(const std::string& path) const {
  nlohmann::json arr = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    if (!dirty_) return core::Status::ok();
    for (const auto& t : order_) {
      const auto& o = tokens_.at(t);
      arr.push_back({{"token", t}, {"origin", o.unique_id}, {"name", o.name}, {"ip", o.ip},
                     {"issued_us", o.issued_us}});
    }
    dirty_ = false;
  }
  // A failed write leaves the registry dirty, so the next save tries again.
  const auto failed = [this](core::Status st) {
    std::lock_guard lock(mu_);
    dirty_ = true;
    return st;
  };
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.flush();
    if (!out) return failed(core::Status::ioError("cannot write " + tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return failed(core::Status::fromErrno("cannot write " + path, errno));
  }
  return core::Status::ok();
}

core::Status HoneytokenRegistry::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::Status::ok();  // nothing saved yet
  try {
    auto arr = nlohmann::json::parse(in);
    for (const auto& e : arr) {
      add(e.at("token").get<std::string>(),
          TokenOrigin{e.value("origin", ""), e.value("name", ""), e.value("ip", ""),
                      e.value("issued_us", int64_t{0})});
    }
  } catch (const std::exception& e) {
    return core::Status::corruption(path + ": " + e.what());
  }
  return core::Status::ok();
}

void honeytokenRules(int base, RuleFlavor flavor, const std::vector<std::string>& known,
                     RuleSet& out) {
  const int id = base + 70;
  const std::string actions =
      "id:" + std::to_string(id) +
      ",phase:2,pass,log,msg:'Honeytrap: a honeytoken handed out by the decoy was used',"
      "tag:'honeytrap/honeytoken',severity:'CRITICAL',";
  if (flavor == RuleFlavor::kExport && known.empty()) return;  // none handed out yet
  out.comment("Honeytokens: fake keys and passwords in the decoy's fake files, unique per\n"
              "visitor. Nobody has a reason to send one back.");
  if (flavor == RuleFlavor::kSensor) {
    out.rule({id, "honeytoken", "registry"},
             "SecRule TX:DROSERA_HONEYTOKEN \"@rx .\" \"" + actions +
                 "logdata:'%{TX.drosera_honeytoken}'\"");
    return;
  }
  std::string list;
  for (const auto& t : known) list += (list.empty() ? "" : " ") + ruleArg(t);
  out.comment("The " + std::to_string(known.size()) +
              " most recent tokens handed out at export time.");
  out.rule({id, "honeytoken", "registry"},
           "SecRule REQUEST_URI|REQUEST_HEADERS|ARGS|REQUEST_BODY \"@pm " + list + "\" \"" +
               actions + "logdata:'%{MATCHED_VAR_NAME}'\"");
}

}  // namespace drosera::sensor::traps

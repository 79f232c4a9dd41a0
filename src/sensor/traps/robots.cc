#include "sensor/traps/robots.h"

#include <vector>

namespace drosera::sensor::traps {
namespace {

const std::vector<std::string> kStems = {
    "db-archive", "backup-old", "old-site", "sql-backup", "private-files", "internal-docs",
    "admin-archive", "exports", "dumps", "legacy-portal", "staff-only", "tmp-uploads",
    "site-backup", "archive-2019", "restore", "ops-archive"};
const std::vector<std::string> kSuffixes = {"", "-2018", "-2019", "-2020", "-old", "_bak", "-v1"};
const std::vector<std::string> kRealms = {"Restricted Area", "Admin", "Staff only",
                                          "Backup Server", "Internal", "Authorized users only",
                                          "Archive"};

std::string stemOf(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

RobotsTrap RobotsTrap::make(const core::TrapsConfig& c, const InstallSecret& s) {
  RobotsTrap t;
  t.path = c.robots_path;
  if (t.path.empty()) {
    t.path = "/" + s.pick("robots/stem", kStems) + s.pick("robots/suffix", kSuffixes) + "/";
  }
  if (t.path.front() != '/') t.path.insert(0, "/");
  t.realm = c.robots_realm.empty() ? s.pick("robots/realm", kRealms) : c.robots_realm;
  return t;
}

std::string RobotsTrap::inject(std::string_view robots) const {
  const std::string line = "Disallow: " + path + "\n";
  // Find the "User-agent: *" line and the end of its group (the next User-agent line after a
  // rule line, or the end of the file).
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < robots.size()) {
    size_t nl = robots.find('\n', pos);
    if (nl == std::string_view::npos) nl = robots.size() - 1;
    lines.push_back(robots.substr(pos, nl + 1 - pos));
    pos = nl + 1;
  }
  auto isAgent = [](std::string_view l, bool star) {
    std::string low;
    for (char c : l) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') low += static_cast<char>(std::tolower(c));
    }
    return low.rfind("user-agent:", 0) == 0 && (!star || low == "user-agent:*");
  };
  int group = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (isAgent(lines[i], true)) group = static_cast<int>(i);
  }
  std::string out;
  if (group < 0) {
    out.assign(robots);
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (!out.empty()) out += '\n';
    return out + "User-agent: *\n" + line;
  }
  // Insert after the last rule line of the group (before blank lines or the next group).
  size_t insert_at = static_cast<size_t>(group) + 1;
  for (size_t i = insert_at; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    bool blank = l.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (isAgent(l, false) && i > static_cast<size_t>(group) + 1) break;
    if (!blank) insert_at = i + 1;
    else break;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == insert_at) out += line;
    out.append(lines[i]);
    if (i + 1 == lines.size() && out.back() != '\n') out += '\n';
  }
  if (insert_at >= lines.size()) out += line;
  return out;
}

bool RobotsTrap::covers(std::string_view p) const {
  const std::string stem = stemOf(path);
  return p.size() >= stem.size() && p.substr(0, stem.size()) == stem &&
         (p.size() == stem.size() || p[stem.size()] == '/' || p[stem.size()] == '?');
}

void RobotsTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const std::string stem = stemOf(path);
  const TrapPath p = trapPath(flavor);
  out.comment("robots.txt bait: \"Disallow: " + path + "\" in the \"User-agent: *\" group.\n"
              "Only clients that read robots.txt for hidden paths go there; the path answers\n"
              "401 with WWW-Authenticate: Basic realm=\"" + realm + "\".");
  const int id = base + 10;
  out.rule({id, "robots", path},
           "SecRule " + p.variable + " \"@rx ^" + ruleArg(regexLiteral(stem)) +
               "(?:/|$)\" \"id:" + std::to_string(id) + ",phase:1," + p.transforms +
               ",pass,log,msg:'Honeytrap: robots.txt disallowed path requested',"
               "tag:'honeytrap/robots',severity:'CRITICAL',logdata:'" +
               p.logdata + "'\"");
  const int cid = base + 11;
  out.comment("Credentials sent to the bait's Basic challenge, decoded (user:password).");
  out.rule({cid, "robots", path},
           "SecRule " + p.variable + " \"@rx ^" + ruleArg(regexLiteral(stem)) +
               "(?:/|$)\" \"id:" + std::to_string(cid) + ",phase:1," + p.transforms +
               ",pass,log,chain,msg:'Honeytrap: credentials sent to a robots.txt bait',"
               "tag:'honeytrap/robots',severity:'CRITICAL',logdata:'%{TX.1}'\"\n"
               "    SecRule REQUEST_HEADERS:Authorization \"@rx (?i)^basic\\s+(\\S+)\" "
               "\"capture,chain\"\n"
               "        SecRule TX:1 \"@rx ^(.*)$\" \"t:none,t:base64DecodeExt,capture\"");
}

}  // namespace drosera::sensor::traps

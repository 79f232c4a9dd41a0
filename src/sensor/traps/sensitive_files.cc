#include "sensor/traps/sensitive_files.h"

namespace drosera::sensor::traps {

SensitiveFilesTrap SensitiveFilesTrap::make() {
  SensitiveFilesTrap t;
  t.files = {
      {"/.env", "env.txt", "text/plain"},
      {"/.git/config", "git-config.txt", "text/plain"},
      {"/backup.sql", "backup.sql", "application/sql"},
      {"/wp-config.php.bak", "wp-config.php.bak", "application/x-trash"},
      {"/phpinfo.php", "phpinfo.html", "text/html; charset=UTF-8"},
  };
  return t;
}

const SensitiveFile* SensitiveFilesTrap::find(std::string_view path) const {
  for (const auto& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

void SensitiveFilesTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const int id = base + 50;
  const TrapPath p = trapPath(flavor);
  std::string alt;
  std::string list;
  for (const auto& f : files) {
    alt += (alt.empty() ? "" : "|") + regexLiteral(f.path.substr(1));
    list += (list.empty() ? "" : ", ") + f.path;
  }
  out.comment("Fake sensitive files (" + list + "), served with honeytokens.");
  out.rule({id, "sensitive_file", "files"},
           "SecRule " + p.variable + " \"@rx ^/(?:" + ruleArg(alt) +
               ")$\" \"id:" + std::to_string(id) + ",phase:1," + p.transforms +
               ",pass,log,msg:'Honeytrap: fake sensitive file requested',"
               "tag:'honeytrap/sensitive_file',severity:'CRITICAL',logdata:'" +
               p.logdata + "'\"");
}

}  // namespace drosera::sensor::traps

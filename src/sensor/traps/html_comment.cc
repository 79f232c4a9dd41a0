#include "sensor/traps/html_comment.h"

#include <vector>

#include "sensor/traps/html.h"

namespace drosera::sensor::traps {
namespace {

const std::vector<std::string> kFiles = {"login.php.bak", "login.php.old", "login_old.php.txt",
                                         "login.php.save", "login-2019.php.bak", "login.php.orig"};
const std::vector<std::string> kWho = {"jk", "mreyes", "dev", "tk", "ops", "anna"};
const std::vector<std::string> kTemplates = {
    "<!-- TODO({who}): remove {file} once the new portal login is live -->",
    "<!-- old login kept as {file} for rollback, do not link ({who}) -->",
    "<!-- DEBUG: previous version of this page is {file} -->",
    "<!-- {who}: the legacy login ({file}) still has the DB fallback, delete after migration -->"};

std::string fill(std::string t, const std::string& key, const std::string& value) {
  for (size_t at = t.find(key); at != std::string::npos; at = t.find(key, at + value.size())) {
    t.replace(at, key.size(), value);
  }
  return t;
}

}  // namespace

CommentTrap CommentTrap::make(const core::TrapsConfig& c, const InstallSecret& s) {
  CommentTrap t;
  t.page = c.comment_page.empty() ? "/login.php" : c.comment_page;
  std::string dir = t.page.substr(0, t.page.rfind('/') + 1);
  std::string file = s.pick("comment/file", kFiles);
  t.path = c.comment_path.empty() ? dir + file : c.comment_path;
  if (t.path.front() != '/') t.path.insert(0, "/");
  // The comment names the file relative to the page, as a developer would.
  std::string shown = t.path.rfind(dir, 0) == 0 ? t.path.substr(dir.size()) : t.path;
  t.comment = fill(fill(s.pick("comment/template", kTemplates), "{file}", shown), "{who}",
                   s.pick("comment/who", kWho));
  return t;
}

bool CommentTrap::inject(std::string& html) const {
  const std::string text = comment + "\n";
  return insertBeforeFirst(html, "<form", text) || insertBeforeFirst(html, "</body", text);
}

void CommentTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const int id = base + 20;
  const TrapPath p = trapPath(flavor);
  out.comment("HTML comment bait in " + page + ": " + comment + "\nNothing links to " + path +
              "; only someone reading the page source finds it.");
  out.rule({id, "comment", path},
           "SecRule " + p.variable + " \"@streq " + ruleArg(path) +
               "\" \"id:" + std::to_string(id) + ",phase:1," + p.transforms +
               ",pass,log,msg:'Honeytrap: file named in an HTML comment requested',"
               "tag:'honeytrap/comment',severity:'CRITICAL',logdata:'" +
               p.logdata + "'\"");
}

}  // namespace drosera::sensor::traps

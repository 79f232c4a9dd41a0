#include "sensor/traps/hidden_field.h"

#include <utility>
#include <vector>

#include "http/response.h"
#include "sensor/traps/html.h"

namespace drosera::sensor::traps {
namespace {

const std::vector<std::pair<std::string, std::string>> kPairs = {
    {"debug", "0"},        {"debug", "false"},     {"is_admin", "0"},   {"is_admin", "false"},
    {"role", "customer"},  {"role", "guest"},      {"access_level", "1"}, {"user_level", "basic"},
    {"show_debug", "no"},  {"internal", "0"},      {"staff_view", "false"}, {"priv", "user"},
    {"account_type", "standard"}, {"edit_mode", "0"}};

}  // namespace

HiddenFieldTrap HiddenFieldTrap::make(const core::TrapsConfig& c, const InstallSecret& s) {
  HiddenFieldTrap t;
  const auto& pair = kPairs[s.number("hidden/pair", kPairs.size())];
  t.name = c.hidden_field_name.empty() ? pair.first : c.hidden_field_name;
  t.value = c.hidden_field_value.empty() ? pair.second : c.hidden_field_value;
  return t;
}

std::string HiddenFieldTrap::input() const {
  return "<input type=\"hidden\" name=\"" + http::htmlEscape(name) + "\" value=\"" +
         http::htmlEscape(value) + "\">";
}

std::string HiddenFieldTrap::inject(std::string_view html, size_t* forms) const {
  return insertBeforeEach(html, "</form>", input(), forms);
}

void HiddenFieldTrap::rules(int base, RuleFlavor, RuleSet& out) const {
  const int id = base + 30;
  out.comment("Hidden form field bait: " + input() + " before every </form>.\n"
              "Browsers send it back unchanged; another value means the request was edited.");
  out.rule({id, "hidden_field", name},
           "SecRule ARGS:" + ruleArg(name) + " \"!@streq " + ruleArg(value) + "\" \"id:" +
               std::to_string(id) +
               ",phase:2,pass,log,msg:'Honeytrap: hidden form field tampered with',"
               "tag:'honeytrap/hidden_field',severity:'CRITICAL',"
               "logdata:'%{MATCHED_VAR}'\"");
}

}  // namespace drosera::sensor::traps

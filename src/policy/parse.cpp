// Reading a policy file: TOML -> validated rules. Every mistake an operator
// can make is an Error naming the file, the line and the key; nothing here
// throws past Policy::parse.
#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <map>

#include "policy/rule_parser.hpp"
#include "trex/policy.hpp"
#include "util/file.hpp"
#include "util/toml.hpp"

namespace trex::policy {
namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxRules = 10000;

Error too_large(std::string_view source) {
  return make_error(std::string(source) + ": policy file larger than " +
                    std::to_string(kMaxFileBytes >> 20) + " MiB");
}

Error at(std::string_view source, const toml::source_region& where, const std::string& what) {
  return make_error(std::string(source) + ":" + std::to_string(where.begin.line) + ": " + what);
}

// The only top-level key is `rule`, an array of tables.
Result<const toml::array*> rule_array(const toml::table& doc, std::string_view source) {
  for (auto&& [key, value] : doc) {
    if (key.str() != "rule") {
      return at(
          source, key.source(),
          "unknown key '" + std::string(key.str()) + "' (a policy holds only [[rule]] tables)");
    }
  }
  const toml::node* node = doc.get("rule");
  if (node == nullptr) return static_cast<const toml::array*>(nullptr);
  const toml::array* rules = node->as_array();
  // `rule = []` is an empty policy; toml++ does not count it as of tables.
  if (rules == nullptr || (!rules->empty() && !rules->is_array_of_tables())) {
    return at(source, node->source(), "key 'rule' must be an array of tables ([[rule]])");
  }
  if (rules->size() > kMaxRules) {
    return at(source, node->source(),
              "too many rules (" + std::to_string(rules->size()) + ", at most " +
                  std::to_string(kMaxRules) + ")");
  }
  return rules;
}

Result<std::vector<Rule>> parse_rules(const toml::array& array, std::string_view source) {
  std::vector<Rule> rules;
  std::map<std::string, int, std::less<>> lines_by_name;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array.get(i)->as_table();
    Result<Rule> rule = detail::parse_rule(table, i + 1, source);
    if (!rule) return rule.error();
    auto [it, fresh] = lines_by_name.emplace(rule->name, rule->line);
    if (!fresh) {
      return at(source, table.source(),
                "rule '" + rule->name + "': duplicate rule name (first used at line " +
                    std::to_string(it->second) + ")");
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

}  // namespace

Result<Policy> Policy::load_file(const std::string& path) {
  const util::FileText file = util::read_file(path, kMaxFileBytes);
  if (file.error == EFBIG) return too_large(path);
  if (!file.ok()) return make_error("cannot read policy file '" + path + "': " + file.message());
  return parse(file.text, path);
}

Result<Policy> Policy::parse(std::string_view text, std::string_view source_name) {
  if (text.size() > kMaxFileBytes) return too_large(source_name);
  // A policy is reloaded by a running server on SIGHUP: whatever goes wrong
  // while reading it must come back as an Error, never unwind the server.
  try {
    Result<toml::table> doc = util::parse_toml(text, source_name);
    if (!doc) return doc.error();
    Result<const toml::array*> array = rule_array(*doc, source_name);
    if (!array) return array.error();
    Policy policy;
    policy.source_ = std::string(source_name);
    if (*array == nullptr) return policy;
    Result<std::vector<Rule>> rules = parse_rules(**array, source_name);
    if (!rules) return rules.error();
    policy.rules_ = std::move(*rules);
    return policy;
  } catch (const std::exception& e) {
    return make_error(std::string(source_name) + ": cannot load policy: " + e.what());
  }
}

}  // namespace trex::policy

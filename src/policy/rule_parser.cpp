#include "policy/rule_parser.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <regex>
#include <system_error>

#include "policy/paths.hpp"
#include "policy/text.hpp"
#include "util/size.hpp"

namespace trex::policy::detail {
namespace {

constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxPatternBytes = 512;
// Larger repeat counts ({n}, {n,m}) and reference numbers (\N) overflow libstdc++'s regex compiler
// (an int64 multiplication, undefined behaviour: found by policy_fuzz) or build a huge automaton.
constexpr std::uint64_t kMaxRepeat = 1000;

using Check = std::optional<std::string>;  // an error message, or nullopt when fine

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

Check check_allow_entry(const std::string& entry) {
  if (entry == "*") return std::nullopt;
  if (entry.front() == '/') {
    if (is_clean_absolute(entry)) return std::nullopt;
    return "entry " + quote(entry) +
           " must be a normalised absolute path (no '//', '.', '..' or trailing '/')";
  }
  if (entry.find('/') != std::string::npos) {
    return "entry " + quote(entry) +
           " is a relative path: use a bare name (looked up in the server's PATH) or an "
           "absolute path";
  }
  if (entry == "." || entry == "..") return "entry " + quote(entry) + " is not a program name";
  return std::nullopt;
}

Check check_user(const std::string& name) {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < (std::size_t{1} << 20)) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0) {
    return "cannot look up user " + quote(name) + ": " + std::generic_category().message(rc);
  }
  if (found == nullptr) return "unknown user " + quote(name);
  return std::nullopt;
}

// The first count in a {n}, {n,} or {n,m}, or back-reference \N, that is over
// kMaxRepeat. Escaped braces do not count; one inside [...] is checked too,
// erring on the safe side.
std::optional<std::string> oversized_repeat(const std::string& pattern) {
  const auto number_at = [&](std::size_t& j) {
    const std::size_t from = j;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') ++j;
    return pattern.substr(from, j - from);
  };
  const auto too_big = [](const std::string& digits) {
    return digits.size() > 4 || (!digits.empty() && std::stoull(digits) > kMaxRepeat);
  };
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {  // \N: a back-reference number, parsed the same way
      std::size_t j = i + 1;
      const std::string ref = number_at(j);
      if (too_big(ref)) return ref;
      i = ref.empty() ? i + 1 : j - 1;
      continue;
    }
    if (pattern[i] != '{') continue;
    std::size_t j = i + 1;
    const std::string low = number_at(j);
    if (too_big(low)) return low;
    if (j < pattern.size() && pattern[j] == ',') {
      ++j;
      const std::string high = number_at(j);
      if (too_big(high)) return high;
    }
  }
  return std::nullopt;
}

Result<std::regex> compile_pattern(const std::string& pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return make_error("is longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  if (auto n = oversized_repeat(pattern)) {
    return make_error("has the count " + *n + "; repeat counts and references of at most " +
                      std::to_string(kMaxRepeat) + " are allowed");
  }
  auto flags = std::regex::ECMAScript;
#ifdef __GLIBCXX__
  // libstdc++'s default matcher backtracks recursively: exponential time on
  // patterns like (a*)*b and a stack frame per input byte. The polynomial
  // (breadth-first) matcher has neither problem; it refuses backreferences,
  // which is why they are a load error.
  flags |= std::regex_constants::__polynomial;
#endif
  try {
    return std::regex(pattern, flags);
  } catch (const std::regex_error& e) {
    return make_error(std::string("is not a valid regular expression: ") + e.what());
  }
}

std::optional<std::int64_t> integer(const toml::node& node) {
  if (const auto* v = node.as_integer()) return v->get();
  return std::nullopt;
}

std::optional<std::uint64_t> size(const toml::node& node) {
  if (auto n = integer(node)) {
    if (*n > 0) return static_cast<std::uint64_t>(*n);
    return std::nullopt;
  }
  if (const auto* s = node.as_string()) {
    if (auto n = util::parse_size(s->get()); n && *n > 0) return *n;
  }
  return std::nullopt;
}

constexpr const char* kSizeType =
    "must be a positive size: an integer (bytes) or a string like \"512M\" (K, M, G, T)";

// Reads one [[rule]] table. Each key has a handler that reports the first
// problem with that key, at the key's line.
class RuleParser {
 public:
  RuleParser(const toml::table& table, std::size_t index, std::string_view source)
      : table_(table), source_(source), label_("rule #" + std::to_string(index)) {
    rule_.line = static_cast<int>(table.source().begin.line);
  }

  Result<Rule> parse() {
    if (Status s = parse_name(); !s) return s.error();
    for (auto&& [key, value] : table_) {
      if (key.str() == "name") continue;
      if (Status s = parse_key(key, value); !s) return s.error();
    }
    if (Status s = finish(); !s) return s.error();
    return std::move(rule_);
  }

 private:
  Error fail(const toml::source_region& where, const std::string& what) const {
    return make_error(std::string(source_) + ":" + std::to_string(where.begin.line) + ": " +
                      label_ + ": " + what);
  }
  Error key_fail(const toml::node& at, std::string_view key, const std::string& what) const {
    return fail(at.source(), "key '" + std::string(key) + "' " + what);
  }

  Status parse_name() {
    const toml::node* node = table_.get("name");
    if (node == nullptr) return fail(table_.source(), "key 'name' is required");
    const auto* name = node->as_string();
    if (name == nullptr || name->get().empty() || name->get().size() > kMaxNameBytes) {
      return key_fail(
          *node, "name",
          "must be a non-empty string of at most " + std::to_string(kMaxNameBytes) + " bytes");
    }
    if (has_control(name->get()) || name->get().find('\'') != std::string::npos) {
      return key_fail(*node, "name", "must not contain quotes or control characters");
    }
    rule_.name = name->get();
    label_ = "rule '" + rule_.name + "'";
    return {};
  }

  Status parse_key(const toml::key& key, const toml::node& value) {
    const std::string_view k = key.str();
    if (k == "cn" || k == "ou") {
      Status s = string_list(k, value, false, k == "cn" ? rule_.cn : rule_.ou);
      if (s && k == "ou" && std::find(rule_.ou.begin(), rule_.ou.end(), "*") != rule_.ou.end()) {
        return key_fail(value, k, "cannot hold \"*\": use cn = [\"*\"] to match every certificate");
      }
      return s;
    }
    if (k == "allow") return parse_allow(value);
    if (k == "put" || k == "get") return parse_globs(k, value);
    if (k == "args") return parse_args(value);
    if (k == "arg_lists") return parse_arg_lists(value);
    if (k == "umask") return parse_umask(value);
    if (k == "limits") return parse_limits(value);
    if (k == "shell" || k == "linger" || k == "tty" || k == "record_input" || k == "run_as" ||
        k == "timeout" || k == "max_output" || k == "cwd") {
      return parse_scalar(k, value);
    }
    return fail(key.source(),
                "unknown key '" + escape(k) +
                    "' (known: name, cn, ou, allow, args, arg_lists, shell, linger, tty, "
                    "record_input, put, get, "
                    "run_as, timeout, max_output, cwd, umask, limits)");
  }

  Status string_list(std::string_view key, const toml::node& value, bool allow_empty,
                     std::vector<std::string>& out) {
    const auto* array = value.as_array();
    if (array == nullptr) return key_fail(value, key, "must be an array of strings");
    for (const toml::node& item : *array) {
      const auto* s = item.as_string();
      if (s == nullptr) return key_fail(item, key, "must be an array of strings");
      if (s->get().empty() && !allow_empty)
        return key_fail(item, key, "must not hold an empty string");
      if (has_control(s->get())) {
        return key_fail(item, key, "holds " + quote(s->get()) + " with a control character");
      }
      out.push_back(s->get());
    }
    return {};
  }

  Status parse_allow(const toml::node& value) {
    if (Status s = string_list("allow", value, false, rule_.allow); !s) return s;
    for (std::size_t i = 0; i < rule_.allow.size(); ++i) {
      if (Check bad = check_allow_entry(rule_.allow[i])) {
        return key_fail(*value.as_array()->get(i), "allow", *bad);
      }
    }
    return {};
  }

  Status parse_globs(std::string_view key, const toml::node& value) {
    auto& out = key == "put" ? rule_.put : rule_.get;
    if (Status s = string_list(key, value, false, out); !s) return s;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (Check bad = check_glob(out[i])) {
        return key_fail(*value.as_array()->get(i), key, "entry " + quote(out[i]) + " " + *bad);
      }
    }
    return {};
  }

  Status parse_args(const toml::node& value) {
    // An empty pattern is legitimate: it allows running without arguments.
    if (Status s = string_list("args", value, true, rule_.args_patterns); !s) return s;
    for (std::size_t i = 0; i < rule_.args_patterns.size(); ++i) {
      Result<std::regex> re = compile_pattern(rule_.args_patterns[i]);
      if (!re) {
        return key_fail(*value.as_array()->get(i), "args",
                        "pattern " + quote(rule_.args_patterns[i]) + " " + re.message());
      }
      rule_.args.push_back(std::move(*re));
    }
    return {};
  }

  // [[], ["status"], ["status", "[a-z0-9@.-]+"]]: one pattern per argument.
  Status parse_arg_lists(const toml::node& value) {
    constexpr const char* kType = "must be an array of arrays of patterns, one per argument";
    const auto* lists = value.as_array();
    if (lists == nullptr) return key_fail(value, "arg_lists", kType);
    for (const toml::node& item : *lists) {
      if (!item.is_array()) return key_fail(item, "arg_lists", kType);
      std::vector<std::string> sources;
      if (Status s = string_list("arg_lists", item, true, sources); !s) return s;
      std::vector<std::regex> compiled;
      for (const auto& src : sources) {
        Result<std::regex> re = compile_pattern(src);
        if (!re) return key_fail(item, "arg_lists", "pattern " + quote(src) + " " + re.message());
        compiled.push_back(std::move(*re));
      }
      rule_.arg_list_patterns.push_back(std::move(sources));
      rule_.arg_lists.push_back(std::move(compiled));
    }
    return {};
  }

  Status parse_scalar(std::string_view key, const toml::node& value);
  Status parse_umask(const toml::node& value);
  Status parse_limits(const toml::node& value);
  Status finish();

  const toml::table& table_;
  std::string_view source_;
  std::string label_;  // "rule 'NAME'" once the name is known
  Rule rule_;
};

Status RuleParser::parse_scalar(std::string_view key, const toml::node& value) {
  if (key == "shell" || key == "linger" || key == "tty" || key == "record_input") {
    const auto* b = value.as_boolean();
    if (b == nullptr) return key_fail(value, key, "must be true or false");
    (key == "shell"    ? rule_.shell
     : key == "linger" ? rule_.linger
     : key == "tty"    ? rule_.tty
                       : rule_.record_input) = b->get();
  } else if (key == "run_as") {
    const auto* s = value.as_string();
    if (s == nullptr || s->get().empty()) return key_fail(value, key, "must be a user name");
    if (Check bad = check_user(s->get())) return key_fail(value, key, *bad);
    rule_.run_as = s->get();
  } else if (key == "timeout") {
    const auto n = integer(value);
    if (!n || *n <= 0 || *n > std::numeric_limits<std::uint32_t>::max()) {
      return key_fail(value, key, "must be a positive integer");
    }
    rule_.timeout_s = static_cast<std::uint32_t>(*n);
  } else if (key == "max_output") {
    rule_.max_output = size(value);
    if (!rule_.max_output) return key_fail(value, key, kSizeType);
  } else if (key == "cwd") {
    const auto* s = value.as_string();
    if (s == nullptr || s->get().empty() || s->get().front() != '/' || has_control(s->get())) {
      return key_fail(value, key, "must be an absolute path");
    }
    rule_.cwd = s->get();
  }
  return {};
}

Status RuleParser::parse_umask(const toml::node& value) {
  constexpr const char* kType =
      "must be an octal string like \"0027\" or an octal integer like 0o027";
  if (const auto* s = value.as_string()) {
    rule_.umask = detail::parse_umask(s->get());
    if (!rule_.umask) return key_fail(value, "umask", kType);
    return {};
  }
  const auto* n = value.as_integer();
  if (n == nullptr || n->get() < 0 || n->get() > 0777) return key_fail(value, "umask", kType);
  // TOML's 27 is decimal (octal 033): only an integer written 0o... (or 0)
  // says what the operator meant.
  const auto base = static_cast<unsigned>(n->flags()) & 3u;
  if (n->get() != 0 && base != static_cast<unsigned>(toml::value_flags::format_as_octal)) {
    return key_fail(value, "umask", kType + std::string(" (a decimal integer is ambiguous)"));
  }
  rule_.umask = static_cast<unsigned>(n->get());
  return {};
}

Status RuleParser::parse_limits(const toml::node& value) {
  const auto* table = value.as_table();
  if (table == nullptr) return key_fail(value, "limits", "must be a table like { cpu = 60 }");
  for (auto&& [key, item] : *table) {
    const std::string name = "limits." + std::string(key.str());
    std::optional<std::uint64_t>* slot = nullptr;
    bool sized = false;
    if (key.str() == "cpu") {
      slot = &rule_.limits.cpu_seconds;
    } else if (key.str() == "memory" || key.str() == "file_size") {
      slot = key.str() == "memory" ? &rule_.limits.memory : &rule_.limits.file_size;
      sized = true;
    } else if (key.str() == "processes" || key.str() == "open_files") {
      slot = key.str() == "processes" ? &rule_.limits.processes : &rule_.limits.open_files;
    } else {
      return fail(key.source(), "unknown key '" + escape(name) +
                                    "' (known: cpu, memory, processes, open_files, file_size)");
    }
    const auto n = integer(item);
    *slot = sized ? size(item) : (n && *n > 0 ? std::optional<std::uint64_t>(*n) : std::nullopt);
    if (!*slot) return key_fail(item, name, sized ? kSizeType : "must be a positive integer");
  }
  return {};
}

Status RuleParser::finish() {
  if (rule_.cn.empty() && rule_.ou.empty()) {
    return fail(table_.source(), "needs a non-empty 'cn' or 'ou' (who the rule is for)");
  }
  if (rule_.allow.empty() && !rule_.shell && rule_.put.empty() && rule_.get.empty()) {
    return fail(table_.source(), "allows nothing: give 'allow', 'shell = true', 'put' or 'get'");
  }
  for (const char* key : {"args", "arg_lists"}) {
    if (table_.get(key) != nullptr && rule_.allow.empty()) {
      return key_fail(*table_.get(key), key,
                      "needs 'allow' (patterns apply to the arguments of allowed programs)");
    }
  }
  return {};
}

}  // namespace

Result<Rule> parse_rule(const toml::table& table, std::size_t index, std::string_view source) {
  return RuleParser(table, index, source).parse();
}

}  // namespace trex::policy::detail

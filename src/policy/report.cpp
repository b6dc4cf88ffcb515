// lint() and summary(): what an operator reads from `trexd --check-config`.
#include <algorithm>
#include <regex>

#include "policy/text.hpp"
#include "trex/policy.hpp"

namespace trex::policy {
namespace {

bool has(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool subset(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  return std::all_of(small.begin(), small.end(), [&](const std::string& s) { return has(big, s); });
}

// Does `first` decide every request that `later` would allow? This is an
// approximation that errs towards silence: identities are compared as
// lists (a later cn the earlier rule only reaches through an OU is not
// seen), and only identical or absent args patterns count as broader.
bool shadows(const Rule& first, const Rule& later) {
  const bool identity =
      has(first.cn, "*") || (subset(later.cn, first.cn) && subset(later.ou, first.ou));
  const bool programs =
      later.allow.empty() || ((has(first.allow, "*") || subset(later.allow, first.allow)) &&
                              ((first.args_patterns.empty() && first.arg_lists.empty()) ||
                               (first.args_patterns == later.args_patterns &&
                                first.arg_list_patterns == later.arg_list_patterns)));
  const bool files = subset(later.put, first.put) && subset(later.get, first.get);
  return identity && programs && files && (!later.shell || first.shell) &&
         (!later.tty || first.tty);
}

std::string at_line(const Rule& rule) {
  return "rule '" + rule.name + "' (line " + std::to_string(rule.line) + ")";
}

// Could this args pattern match a space inside one argument? A scan for the
// constructs that can (".", "\s", "\W", "\D", a negated class, a space in a
// class); errs towards warning.
bool may_match_inner_space(const std::string& pattern) {
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's' || e == 'W' || e == 'D') return true;
    } else if (in_class) {
      if (c == ' ') return true;
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') return true;
    } else if (c == '.') {
      return true;
    }
  }
  return false;
}

// Since args patterns refuse lists with an empty argument or one holding a
// space (joined, they read as another list), say where that changes what a
// rule admits.
void lint_args(const Rule& rule, std::vector<std::string>& out) {
  const std::string name = at_line(rule);
  for (std::size_t i = 0; i < rule.args.size(); ++i) {
    const std::string& p = rule.args_patterns[i];
    if (std::regex_match(std::string(), rule.args[i])) {
      out.push_back(name + ": args pattern " + detail::quote(p) +
                    " now admits only no arguments, not one empty argument (meaning changed)");
    } else if (may_match_inner_space(p)) {
      out.push_back(name + ": args pattern " + detail::quote(p) +
                    " may match a space inside one argument; arguments that are empty or hold "
                    "a space are now refused by args patterns (meaning changed): write arg_lists "
                    "to admit such arguments exactly");
    }
  }
}

void lint_rule(const Rule& rule, bool running_as_root, std::vector<std::string>& out) {
  lint_args(rule, out);
  const std::string name = "rule '" + rule.name + "'";
  if (has(rule.cn, "*")) out.push_back(name + " matches every certificate of the CA (cn = \"*\")");
  if (rule.shell && has(rule.allow, "*")) {
    out.push_back(name + " allows any program and shell commands: full access for its identities");
  } else if (rule.shell) {
    out.push_back(name +
                  " allows shell commands: a shell can run any program, so 'allow' and 'args' "
                  "do not limit it");
  }
  if (rule.record_input && !rule.tty) {
    out.push_back(name + " sets record_input without tty = true: it records nothing");
  }
  if (rule.tty && rule.shell) {
    out.push_back(name + " allows login shells on a terminal (tty and shell)");
  }
  if (rule.run_as == "root") {
    out.push_back(name + " runs commands as root (run_as = \"root\")");
  } else if (running_as_root && !rule.run_as) {
    out.push_back(name + " runs commands as root (no run_as)");
  }
}

std::string limits_text(const exec::Limits& l) {
  std::string out;
  const auto add = [&](const char* key, const std::optional<std::uint64_t>& v, bool sized,
                       const char* unit) {
    if (!v) return;
    out += out.empty() ? "" : " ";
    out += std::string(key) + "=" + (sized ? detail::format_size(*v) : std::to_string(*v)) + unit;
  };
  add("cpu", l.cpu_seconds, false, "s");
  add("memory", l.memory, true, "");
  add("processes", l.processes, false, "");
  add("open_files", l.open_files, false, "");
  add("file_size", l.file_size, true, "");
  return out.empty() ? "none" : out;
}

std::string summarize(const Rule& r) {
  std::string out = at_line(r) + ": who";
  if (!r.cn.empty()) out += " cn=" + detail::list(r.cn);
  if (!r.ou.empty()) out += " ou=" + detail::list(r.ou);
  out += "; programs " + (r.allow.empty() ? std::string("none") : detail::list(r.allow));
  if (!r.allow.empty()) {
    if (r.args.empty() && r.arg_lists.empty()) {
      out += " with any args";
    } else {
      out += " with args matching " + std::to_string(r.args.size()) + " pattern(s)";
      if (!r.arg_lists.empty()) out += " or " + std::to_string(r.arg_lists.size()) + " arg list(s)";
    }
  }
  out += std::string("; shell ") + (r.shell ? "yes" : "no");
  if (!r.put.empty()) out += "; put " + detail::list(r.put);
  if (!r.get.empty()) out += "; get " + detail::list(r.get);
  if (r.linger) out += "; linger";
  if (r.tty) out += r.record_input ? "; tty (recorded with input)" : "; tty (recorded)";
  out += "; run_as " + (r.run_as ? *r.run_as : std::string("(server's user)"));
  if (r.timeout_s) out += "; timeout " + std::to_string(*r.timeout_s) + "s";
  if (r.max_output) out += "; max_output " + detail::format_size(*r.max_output);
  if (r.cwd) out += "; cwd " + detail::escape(*r.cwd);
  if (r.umask) out += "; umask " + detail::format_umask(*r.umask);
  return out + "; limits " + limits_text(r.limits);
}

}  // namespace

std::vector<std::string> Policy::lint(bool running_as_root) const {
  if (allow_all_) {
    return {
        "no policy file: every certificate of the CA may run anything, including shell "
        "commands"};
  }
  std::vector<std::string> out;
  if (rules_.empty()) out.push_back("the policy has no rules: every command is denied");
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    lint_rule(rules_[i], running_as_root, out);
    for (std::size_t j = 0; j < i; ++j) {
      if (shadows(rules_[j], rules_[i])) {
        out.push_back(at_line(rules_[i]) + " can never decide: " + at_line(rules_[j]) +
                      " comes first, covers the same identities and allows everything it allows");
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> Policy::summary() const {
  if (allow_all_) return {"no policy file: every certificate of the CA may run anything"};
  if (rules_.empty()) return {"no rules: every command is denied"};
  std::vector<std::string> out;
  out.reserve(rules_.size());
  for (const Rule& rule : rules_) out.push_back(summarize(rule));
  return out;
}

}  // namespace trex::policy

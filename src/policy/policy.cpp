// Deciding and explaining. Parsing lives in parse.cpp, lint and summary in
// report.cpp; the per-rule judgement they share is in eval.cpp.
#include <regex>
#include <utility>

#include "policy/eval.hpp"
#include "policy/text.hpp"
#include "trex/policy.hpp"

namespace trex::policy {
namespace {

constexpr const char* kAllowAllReason =
    "no policy file: every certificate of the CA may run anything";

Decision allowed_by(const Rule& rule, const detail::RuleEval& ev) {
  Decision d;
  d.allowed = true;
  d.rule = rule.name;
  d.reason = "allowed by rule '" + rule.name + "' (" + ev.identity_via + ")";
  d.linger = rule.linger;
  d.record_input = rule.record_input;
  d.run_as = rule.run_as;
  d.timeout_s = rule.timeout_s;
  d.max_output = rule.max_output;
  d.cwd = rule.cwd;
  d.umask = rule.umask;
  d.limits = rule.limits;
  return d;
}

Decision denied(std::string rule, std::string reason) {
  Decision d;
  d.rule = std::move(rule);
  d.reason = std::move(reason);
  return d;
}

std::string describe_request(const Request& what) {
  if (what.login) return "a login shell on a terminal";
  const std::string on = what.tty ? " on a terminal" : "";
  if (what.shell) return "shell " + detail::quote(what.command) + on;
  std::string out = "argv [";
  for (std::size_t i = 0; i < what.argv.size(); ++i) {
    if (i > 0) out += ", ";
    out += detail::quote(what.argv[i]);
  }
  return out + "]" + on;
}

// ['a b', ''] : each item quoted, so that no two lists read the same.
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + detail::quote(items[i]);
  return out + "]";
}

std::string explain_args(const Rule& rule, const detail::RuleEval& ev, const Request& what,
                         const std::string& joined) {
  using detail::ArgsOutcome;
  switch (ev.args) {
    case ArgsOutcome::kNoPatterns:
      return "no args patterns";
    case ArgsOutcome::kMatched:
      if (ev.by_list) {
        return "arguments match arg_lists entry " + quoted_list(rule.arg_list_patterns[ev.pattern]);
      }
      return "arguments " + detail::quote(joined) + " match pattern " +
             detail::quote(rule.args_patterns[ev.pattern]);
    case ArgsOutcome::kAmbiguous:
      return "argument " + std::to_string(detail::ambiguous_arg(what)) +
             " is empty or holds a space: args patterns cannot tell it apart";
    case ArgsOutcome::kNoMatch:
      return "arguments " + detail::quote(joined) + " match none of " +
             std::to_string(rule.args.size() + rule.arg_lists.size()) + " pattern(s)";
    case ArgsOutcome::kTooLong:
      return "arguments too long for this rule's patterns";
    case ArgsOutcome::kLineBreak:
      return "arguments contain a line break";
    case ArgsOutcome::kMatchError:
      return "arguments could not be checked";
    case ArgsOutcome::kNotChecked:
      break;
  }
  return "arguments not checked";
}

std::string explain_rule(const Rule& rule, const detail::RuleEval& ev, const Request& what,
                         const std::string& joined) {
  using detail::Progress;
  if (ev.progress == Progress::kNoIdentity) return "identity does not match -> skip";
  std::string out = "identity matches (" + ev.identity_via + "); ";
  if (what.tty && !rule.tty) return out + "terminals not allowed (no tty = true) -> no";
  if (what.tty) out += "terminals allowed; ";
  if (what.login) {
    return out + (rule.shell ? "login shell allowed (shell = true) -> ALLOW"
                             : "login shell not allowed (no shell = true) -> no");
  }
  if (what.shell) {
    return out +
           (rule.shell ? "shell commands allowed -> ALLOW" : "shell commands not allowed -> no");
  }
  out += "program " + detail::quote(what.argv.front());
  if (ev.progress == Progress::kIdentity) return out + " not allowed -> no";
  out += " allowed; " + explain_args(rule, ev, what, joined);
  return out + (ev.progress == Progress::kAllowed ? " -> ALLOW" : " -> no");
}

// What each pattern was matched against, for --explain: the arguments one by
// one for arg_lists, the joined string for args.
std::vector<std::string> args_trace(const Rule& rule, const detail::RuleEval& ev,
                                    const Request& what, const std::string& joined) {
  using detail::ArgsOutcome;
  std::vector<std::string> out;
  if (ev.args != ArgsOutcome::kMatched && ev.args != ArgsOutcome::kNoMatch &&
      ev.args != ArgsOutcome::kAmbiguous) {
    return out;
  }
  const std::vector<std::string> args(what.argv.begin() + 1, what.argv.end());
  const std::size_t lists = ev.by_list ? ev.pattern + 1 : rule.arg_lists.size();
  for (std::size_t i = 0; i < lists; ++i) {
    out.push_back("  arg_lists entry " + quoted_list(rule.arg_list_patterns[i]) +
                  " against arguments " + quoted_list(args) + ": " +
                  (detail::list_admits(rule.arg_lists[i], what) ? "match" : "no match"));
  }
  if (ev.by_list || rule.args.empty()) return out;
  if (ev.args == ArgsOutcome::kAmbiguous) {
    out.push_back("  args patterns not tried: joined with spaces, arguments " + quoted_list(args) +
                  " could be another list");
    return out;
  }
  const std::size_t tried = ev.args == ArgsOutcome::kMatched ? ev.pattern + 1 : rule.args.size();
  for (std::size_t i = 0; i < tried; ++i) {
    out.push_back("  args pattern " + detail::quote(rule.args_patterns[i]) + " against " +
                  detail::quote(joined) + " (arguments joined with spaces): " +
                  (std::regex_match(joined, rule.args[i]) ? "match" : "no match"));
  }
  return out;
}

}  // namespace

Policy Policy::allow_all() {
  Policy p;
  p.allow_all_ = true;
  return p;
}

Decision Policy::decide(const Identity& who, const Request& what) const {
  if (auto bad = detail::malformed(what)) return denied("", *bad);
  if (allow_all_) {
    Decision d;
    d.allowed = true;
    d.reason = kAllowAllReason;
    return d;
  }
  const std::string joined = what.shell || what.login ? std::string() : detail::join_args(what);
  const Rule* closest = nullptr;
  detail::RuleEval closest_ev;
  for (const Rule& rule : rules_) {
    detail::RuleEval ev = detail::evaluate(rule, who, what, joined);
    if (ev.progress == detail::Progress::kAllowed) return allowed_by(rule, ev);
    if (ev.progress > closest_ev.progress) {
      closest = &rule;
      closest_ev = std::move(ev);
    }
  }
  if (closest == nullptr) return denied("", "no rule for " + detail::describe(who));
  return denied(closest->name, closest_ev.denial);
}

std::vector<std::string> Policy::explain(const Identity& who, const Request& what) const {
  std::vector<std::string> lines;
  lines.push_back("request from " + detail::describe(who) + ": " + describe_request(what));
  if (allow_all_) {
    lines.push_back(kAllowAllReason);
  } else if (!detail::malformed(what)) {
    // The same walk as decide(): rules after the deciding one are never read.
    const std::string joined = what.shell || what.login ? std::string() : detail::join_args(what);
    bool decided = false;
    for (const Rule& rule : rules_) {
      std::string line =
          "rule '" + rule.name + "' (" + source_ + ":" + std::to_string(rule.line) + "): ";
      if (decided) {
        lines.push_back(line + "not reached");
        continue;
      }
      const detail::RuleEval ev = detail::evaluate(rule, who, what, joined);
      lines.push_back(line + explain_rule(rule, ev, what, joined));
      for (auto& l : args_trace(rule, ev, what, joined)) lines.push_back(std::move(l));
      decided = ev.progress == detail::Progress::kAllowed;
    }
  }
  const Decision decision = decide(who, what);
  if (!decision.allowed) {
    lines.push_back("decision: deny: " + decision.reason);
  } else if (decision.rule.empty()) {
    lines.push_back("decision: allow (no policy file)");
  } else {
    lines.push_back("decision: allow by rule '" + decision.rule + "'");
  }
  return lines;
}

}  // namespace trex::policy

#include "policy/eval.hpp"

#include <algorithm>
#include <regex>

#include "policy/text.hpp"

namespace trex::policy::detail {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Exact string equality on purpose: a bare name only ever equals a bare
// argv[0] (the server resolves it through its fixed PATH), and an absolute
// entry only the same spelling, so "./x", "/tmp/x" and "/usr/bin/../bin/x"
// never pass for an allowed program.
bool program_allowed(const Rule& rule, const std::string& argv0) {
  return contains(rule.allow, "*") || contains(rule.allow, argv0);
}

// Patterns are written for one line of arguments. A line break lets text
// slip past classes like [^;] into programs that read their arguments line
// by line, and splits the audit trail's picture of the command, so rules
// with patterns refuse it rather than trusting each pattern to exclude it.
bool has_line_break(const Request& what) {
  return std::any_of(what.argv.begin() + 1, what.argv.end(), [](const std::string& a) {
    return a.find_first_of("\n\r") != std::string::npos;
  });
}

// arg_lists entries first (exact), then the joined args patterns, which
// refuse a list they cannot tell from another.
ArgsOutcome match_args(const Rule& rule, const Request& what, const std::string& joined,
                       RuleEval& ev) {
  if (rule.args.empty() && rule.arg_lists.empty()) return ArgsOutcome::kNoPatterns;
  if (joined.size() > kMaxMatchedArgsBytes) return ArgsOutcome::kTooLong;
  if (has_line_break(what)) return ArgsOutcome::kLineBreak;
  try {
    for (std::size_t i = 0; i < rule.arg_lists.size(); ++i) {
      if (list_admits(rule.arg_lists[i], what)) {
        ev.pattern = i;
        ev.by_list = true;
        return ArgsOutcome::kMatched;
      }
    }
    if (rule.args.empty()) return ArgsOutcome::kNoMatch;
    if (ambiguous_arg(what) != 0) return ArgsOutcome::kAmbiguous;
    for (std::size_t i = 0; i < rule.args.size(); ++i) {
      if (std::regex_match(joined, rule.args[i])) {
        ev.pattern = i;
        return ArgsOutcome::kMatched;
      }
    }
  } catch (const std::regex_error&) {
    return ArgsOutcome::kMatchError;
  }
  return ArgsOutcome::kNoMatch;
}

std::string args_denial(const Rule& rule, ArgsOutcome outcome, const Request& what,
                        const std::string& joined) {
  const std::string prefix = "rule '" + rule.name + "': ";
  switch (outcome) {
    case ArgsOutcome::kTooLong:
      return prefix + "arguments too long for this rule's patterns (" +
             std::to_string(joined.size()) + " bytes, limit " +
             std::to_string(kMaxMatchedArgsBytes) + ")";
    case ArgsOutcome::kLineBreak:
      return prefix + "arguments contain a line break, which args patterns never allow";
    case ArgsOutcome::kMatchError:
      return prefix + "arguments could not be checked against its args patterns";
    case ArgsOutcome::kAmbiguous:
      return prefix + "argument " + std::to_string(ambiguous_arg(what)) +
             " is empty or holds a space, which its args patterns cannot tell apart from "
             "other arguments (arg_lists can admit it)";
    default:
      return prefix + "arguments " + quote(joined) + " match none of its args patterns";
  }
}

}  // namespace

std::optional<std::string> malformed(const Request& what) {
  if (what.login) {
    if (!what.tty) return "a login shell needs a terminal";
    return std::nullopt;
  }
  if (what.shell) {
    if (what.command.find('\0') != std::string::npos) return "shell command contains a NUL byte";
    return std::nullopt;
  }
  if (what.argv.empty() || what.argv.front().empty()) return "empty command";
  for (std::size_t i = 0; i < what.argv.size(); ++i) {
    if (what.argv[i].find('\0') != std::string::npos) {
      return "argument " + std::to_string(i) + " contains a NUL byte";
    }
  }
  return std::nullopt;
}

std::string join_args(const Request& what) {
  std::string out;
  for (std::size_t i = 1; i < what.argv.size(); ++i) {
    if (i > 1) out += ' ';
    out += what.argv[i];
  }
  return out;
}

std::size_t ambiguous_arg(const Request& what) {
  for (std::size_t i = 1; i < what.argv.size(); ++i) {
    if (what.argv[i].empty() || what.argv[i].find(' ') != std::string::npos) return i;
  }
  return 0;
}

bool list_admits(const std::vector<std::regex>& list, const Request& what) {
  if (list.size() + 1 != what.argv.size()) return false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!std::regex_match(what.argv[i + 1], list[i])) return false;
  }
  return true;
}

std::optional<std::string> identity_match(const Rule& rule, const Identity& who) {
  if (contains(rule.cn, "*")) return std::string("cn=*");
  // An empty CN never names anyone, even if a rule were to list "".
  if (!who.cn.empty() && contains(rule.cn, who.cn)) return "cn=" + escape(who.cn);
  for (const auto& ou : who.ou) {
    if (!ou.empty() && contains(rule.ou, ou)) return "ou=" + escape(ou);
  }
  return std::nullopt;
}

std::string describe(const Identity& who) { return "cn=" + escape(who.cn) + " ou=" + list(who.ou); }

RuleEval evaluate(const Rule& rule, const Identity& who, const Request& what,
                  const std::string& joined_args) {
  RuleEval ev;
  auto via = identity_match(rule, who);
  if (!via) return ev;
  ev.identity_via = std::move(*via);
  ev.progress = Progress::kIdentity;
  if (what.tty && !rule.tty) {
    ev.denial = "rule '" + rule.name + "' does not allow terminals (tty = true)";
    return ev;
  }
  if (what.login) {
    if (rule.shell) {
      ev.progress = Progress::kAllowed;
    } else {
      ev.denial = "rule '" + rule.name + "' does not allow a login shell (it needs shell = true)";
    }
    return ev;
  }
  if (what.shell) {
    if (rule.shell) {
      ev.progress = Progress::kAllowed;
    } else {
      ev.denial = "rule '" + rule.name + "' does not allow shell commands";
    }
    return ev;
  }
  if (!program_allowed(rule, what.argv.front())) {
    ev.denial = "rule '" + rule.name + "' does not allow program " + quote(what.argv.front());
    return ev;
  }
  ev.progress = Progress::kProgram;
  ev.args = match_args(rule, what, joined_args, ev);
  if (ev.args == ArgsOutcome::kMatched || ev.args == ArgsOutcome::kNoPatterns) {
    ev.progress = Progress::kAllowed;
  } else {
    ev.denial = args_denial(rule, ev.args, what, joined_args);
  }
  return ev;
}

}  // namespace trex::policy::detail

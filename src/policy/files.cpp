// Deciding file transfers: which rule grants a put or get of a path.
#include "policy/eval.hpp"
#include "policy/paths.hpp"
#include "policy/text.hpp"
#include "trex/policy.hpp"

namespace trex::policy {
namespace {

const char* op_name(FileOp op) { return op == FileOp::kPut ? "put" : "get"; }

// The part of `path` below `tree` ("/" or a prefix of whole components).
std::string below(const std::string& tree, const std::string& path) {
  return tree == "/" ? path.substr(1) : path.substr(tree.size() + 1);
}

Decision granted(const Rule& rule, const std::string& via, const std::string& glob,
                 const FileRequest& what) {
  Decision d;
  d.allowed = true;
  d.rule = rule.name;
  d.reason = "allowed by rule '" + rule.name + "' (" + via + ", " + op_name(what.op) + " " +
             detail::quote(glob) + ")";
  d.run_as = rule.run_as;
  d.umask = rule.umask;
  d.timeout_s = rule.timeout_s;
  d.tree = detail::glob_tree(glob);
  d.beneath = below(d.tree, what.path);
  return d;
}

Decision refused(std::string rule, std::string reason) {
  Decision d;
  d.rule = std::move(rule);
  d.reason = std::move(reason);
  return d;
}

}  // namespace

Decision Policy::decide_file(const Identity& who, const FileRequest& what) const {
  const std::string op = op_name(what.op);
  if (what.path.find('\0') != std::string::npos || !detail::is_clean_absolute(what.path)) {
    return refused("", op + " path " + detail::quote(what.path) +
                           " must be a normalised absolute path (no '//', '.', '..' or "
                           "trailing '/')");
  }
  if (allow_all_) {
    Decision d;
    d.allowed = true;
    d.reason = "no policy file: every certificate of the CA may transfer any file";
    d.tree = "/";
    d.beneath = what.path.substr(1);
    return d;
  }
  const Rule* named = nullptr;    // the first rule naming the identity
  const Rule* closest = nullptr;  // the first of those with globs for this op
  for (const Rule& rule : rules_) {
    const auto via = detail::identity_match(rule, who);
    if (!via) continue;
    const auto& globs = what.op == FileOp::kPut ? rule.put : rule.get;
    for (const auto& glob : globs) {
      if (detail::glob_matches(glob, what.path)) return granted(rule, *via, glob, what);
    }
    if (named == nullptr) named = &rule;
    if (closest == nullptr && !globs.empty()) closest = &rule;
  }
  if (named == nullptr) return refused("", "no rule for " + detail::describe(who));
  if (closest == nullptr) return refused(named->name, "rule '" + named->name + "' grants no " + op);
  const auto& globs = what.op == FileOp::kPut ? closest->put : closest->get;
  return refused(closest->name, "rule '" + closest->name + "' does not grant " + op + " of " +
                                    detail::quote(what.path) + " (" + op + " = " +
                                    detail::list(globs) + ")");
}

// One rule's part in a file decision, for --explain.
std::string explain_file_rule(const Rule& rule, const Identity& who, const FileRequest& what,
                              bool& decided) {
  const std::string op = op_name(what.op);
  if (!detail::identity_match(rule, who)) return "does not name " + detail::describe(who);
  const auto& globs = what.op == FileOp::kPut ? rule.put : rule.get;
  if (globs.empty()) return "grants no " + op;
  for (const auto& glob : globs) {
    if (!detail::glob_matches(glob, what.path)) continue;
    decided = true;
    return "allowed: " + op + " glob " + detail::quote(glob) + " matches; opened beneath " +
           detail::quote(detail::glob_tree(glob)) + " without following symlinks, as " +
           rule.run_as.value_or("trexd's own user");
  }
  return "no " + op + " glob matches (" + op + " = " + detail::list(globs) + ")";
}

std::vector<std::string> Policy::explain_file(const Identity& who, const FileRequest& what) const {
  std::vector<std::string> lines{"request from " + detail::describe(who) + ": " + op_name(what.op) +
                                 " " + detail::quote(what.path)};
  const Decision d = decide_file(who, what);
  bool decided = !d.allowed && d.rule.empty() && !allow_all_ &&
                 !detail::is_clean_absolute(what.path);  // refused before any rule
  for (const Rule& rule : allow_all_ ? std::vector<Rule>{} : rules_) {
    const std::string line =
        "rule '" + rule.name + "' (" + source_ + ":" + std::to_string(rule.line) + "): ";
    lines.push_back(line + (decided ? "not reached" : explain_file_rule(rule, who, what, decided)));
  }
  if (!d.allowed) {
    lines.push_back("decision: deny: " + d.reason);
  } else if (d.rule.empty()) {
    lines.push_back("decision: allow (" + d.reason + ")");
  } else {
    lines.push_back("decision: allow by rule '" + d.rule + "'");
  }
  return lines;
}

}  // namespace trex::policy

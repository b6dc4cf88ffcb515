// Authorization policy: (identity, request) -> decision. Parsing reads a TOML
// file (see README "Authorization policy"); deciding is a pure function of the
// loaded rules. A Policy is immutable after load and safe to share between
// threads (sessions hold a shared_ptr<const Policy>; SIGHUP swaps it).
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "trex/exec.hpp"
#include "trex/result.hpp"

namespace trex::policy {

struct Identity {
  std::string cn;
  std::vector<std::string> ou;  // a certificate may carry several OUs
};

struct Request {
  bool shell = false;
  std::vector<std::string> argv;  // argv mode
  std::string command;            // shell mode
  bool tty = false;               // on a pseudo-terminal (trex -t): needs the rule's tty
  bool login = false;             // with tty and no command: a login shell; needs tty and shell
};

struct Rule {
  std::string name;
  std::vector<std::string> cn;
  std::vector<std::string> ou;
  std::vector<std::string> allow;          // bare names, absolute paths, or "*"
  std::vector<std::string> args_patterns;  // source text, for reports
  std::vector<std::regex> args;            // compiled, matched against the whole joined args
  // arg_lists: each entry admits exactly the argument lists of its length
  // whose i-th argument matches its i-th pattern ([] admits no arguments).
  std::vector<std::vector<std::string>> arg_list_patterns;  // source text
  std::vector<std::vector<std::regex>> arg_lists;
  bool shell = false;
  bool linger = false;        // processes a command leaves behind keep running
  bool tty = false;           // may run on a pseudo-terminal (trex -t)
  bool record_input = false;  // a terminal session's recording holds its input too
  // Path globs (README "File transfers") of files `trex put` may write and
  // `trex get` may read.
  std::vector<std::string> put, get;
  std::optional<std::string> run_as;
  std::optional<std::uint32_t> timeout_s;
  std::optional<std::uint64_t> max_output;
  std::optional<std::string> cwd;
  std::optional<unsigned> umask;
  exec::Limits limits;
  int line = 0;  // where the rule starts in its file
};

enum class FileOp { kPut, kGet };

// A file transfer: which file, to write (put) or read (get).
struct FileRequest {
  FileOp op = FileOp::kGet;
  std::string path;  // absolute, as the client sent it
};

struct Decision {
  bool allowed = false;
  std::string rule;    // the deciding rule's name; empty when none matched
  std::string reason;  // one line for people: why allowed or denied
  // Settings of the deciding rule (empty when denied or without a policy).
  bool linger = false;
  bool record_input = false;  // a terminal session records the keystrokes too
  std::optional<std::string> run_as;
  std::optional<std::uint32_t> timeout_s;
  std::optional<std::uint64_t> max_output;
  std::optional<std::string> cwd;
  std::optional<unsigned> umask;
  exec::Limits limits;
  // File transfers: the granted tree the path must be resolved beneath
  // without following symlinks ("/" without a policy), and the path's
  // components below it ("inbox/a.txt").
  std::string tree, beneath;
};

class Policy {
 public:
  // No policy file: every certificate of the CA may run anything.
  static Policy allow_all();
  // Errors name the file, the line and the key: "policy.toml:12: rule 'ops':
  // key 'timeout' must be a positive integer".
  static Result<Policy> load_file(const std::string& path);
  static Result<Policy> parse(std::string_view text, std::string_view source_name);

  Decision decide(const Identity& who, const Request& what) const;
  // A put or get: the first rule naming the identity whose put (get) globs
  // match the path decides; a path that is not normalised is refused.
  Decision decide_file(const Identity& who, const FileRequest& what) const;
  // For `trexd --explain`: one line per rule saying whether it matched the
  // identity, the program, the arguments and shell mode, then the decision.
  std::vector<std::string> explain(const Identity& who, const Request& what) const;
  // The same for a put or get (`trexd --explain CN --put PATH`): per rule,
  // whether it names the identity and which glob, if any, grants the path.
  std::vector<std::string> explain_file(const Identity& who, const FileRequest& what) const;

  // Suspicious but legal things, one line each (for --check-config): a rule
  // allowing "*" with shell, a rule shadowed by an earlier one, rules without
  // run_as when `running_as_root`.
  std::vector<std::string> lint(bool running_as_root) const;
  // A short human summary, one line per rule.
  std::vector<std::string> summary() const;

  bool is_allow_all() const { return allow_all_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::string& source() const { return source_; }

 private:
  bool allow_all_ = false;
  std::string source_;
  std::vector<Rule> rules_;
};

}  // namespace trex::policy

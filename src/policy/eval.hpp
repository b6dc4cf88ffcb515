// How one rule judges one request. decide() and explain() share this so that
// the explanation can never disagree with the decision.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "trex/policy.hpp"

namespace trex::policy::detail {

// Joined arguments longer than this are never given to std::regex: its
// matcher recurses and the arguments come from the network.
inline constexpr std::size_t kMaxMatchedArgsBytes = 1024;

enum class ArgsOutcome {
  kNotChecked,  // shell mode, or the program was refused first
  kNoPatterns,  // the rule has no args: any arguments
  kMatched,
  kNoMatch,
  kAmbiguous,  // only args patterns, and an argument is empty or holds a space
  kTooLong,
  kLineBreak,
  kMatchError,  // std::regex gave up (complexity or stack)
};

// How far a request got through a rule, used to pick the "closest" rule for
// a denial: the furthest one, the earliest among equals.
enum class Progress { kNoIdentity = 0, kIdentity = 1, kProgram = 2, kAllowed = 3 };

struct RuleEval {
  Progress progress = Progress::kNoIdentity;
  std::string identity_via;  // "cn=alice", "ou=ops", "cn=*"
  ArgsOutcome args = ArgsOutcome::kNotChecked;
  std::size_t pattern = 0;  // index of the matching pattern (or list) when kMatched
  bool by_list = false;     // kMatched by an arg_lists entry, not an args pattern
  std::string denial;       // why this rule refused, when the identity matched
};

// A request no policy can approve: empty argv or argv[0], or a NUL byte (execve and
// /bin/sh -c would silently run a shorter string than the one audited).
std::optional<std::string> malformed(const Request& what);
// argv[1..] joined with single spaces; "" without arguments.
std::string join_args(const Request& what);
// The first argument (1-based) that is empty or holds a space, or 0. Joined
// with spaces, such a list reads as a different one: args patterns refuse it.
std::size_t ambiguous_arg(const Request& what);
// Does this arg_lists entry admit argv[1..]? (Same count, each matches.)
bool list_admits(const std::vector<std::regex>& list, const Request& what);
// How the rule names the identity ("cn=alice", "ou=ops", "cn=*"), if it does.
std::optional<std::string> identity_match(const Rule& rule, const Identity& who);
// "cn=alice ou=[ops,dev]"
std::string describe(const Identity& who);

// `what` must not be malformed().
RuleEval evaluate(const Rule& rule, const Identity& who, const Request& what,
                  const std::string& joined_args);

}  // namespace trex::policy::detail

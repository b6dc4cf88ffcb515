// Private: what an approved request becomes. Pure: the request, the policy's
// decision, the account it runs as and the server's settings in; the process
// spec, the limits of the command loop and the audit's view of the command
// out. No I/O (the program is resolved on PATH later, by the session).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/command.hpp"
#include "trex/audit_events.hpp"
#include "trex/config.hpp"
#include "trex/exec.hpp"
#include "trex/policy.hpp"
#include "trex/proto.hpp"

namespace trex::server {

// The user a command runs as: its name and a home that exists ("/" if not).
struct Account {
  std::string name, home;
  std::string shell = "/bin/sh";  // its login shell
};

// The account a command runs as (run_as, else trexd's own), for its
// environment; cached for up to a second.
Account account_for(const std::optional<std::string>& run_as);

// Who asks, for the command's environment.
struct Requester {
  std::string cn;
  std::uint64_t conn = 0;
};

struct CommandPlan {
  exec::Spec spec;
  CommandLimits limits;  // stop fds unset: the session adds its own
};

CommandPlan plan_command(const proto::ExecRequest& request, const policy::Decision& decision,
                         const Account& account, const Requester& who,
                         const config::ServerConfig& config);

// A terminal session: the command (or with none the account's login shell,
// argv[0] "-NAME" as login(1) gives it, in its home) on a pty of the
// request's size, with TERM.
CommandPlan plan_terminal(const proto::TerminalRequest& request, const policy::Decision& decision,
                          const Account& account, const Requester& who,
                          const config::ServerConfig& config);

audit::CommandText command_text(const proto::ExecRequest& request);
// The audit's view of a terminal request; a login shell is its program's path.
audit::CommandText command_text(const proto::TerminalRequest& request, const Account& account);
// exec_start's `tty`: {term, rows, cols, login}.
audit::Json terminal_audit(const proto::TerminalRequest& request);
// The recording's file name for command `id` started at `now` (Unix time):
// tty-YYYYMMDDTHHMMSSZ-ID.cast, unique across restarts that reuse ids.
std::string recording_name(const std::string& id, std::int64_t now);
// The policy's view of a terminal request.
policy::Request policy_request(const proto::TerminalRequest& request);

}  // namespace trex::server

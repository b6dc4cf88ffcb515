// A pseudo-terminal pair for a terminal command (Spec::terminal). Private to
// the exec module.
#pragma once

#include <sys/types.h>

#include <optional>

#include "trex/exec.hpp"
#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec::detail {

struct PtyPair {
  util::UniqueFd master;  // trexd's end: non-blocking, close-on-exec
  util::UniqueFd slave;   // the command's stdio and controlling terminal; close-on-exec, >= 3
};

// Opens a pty of `size`; the slave is not made anyone's controlling terminal
// here (O_NOCTTY): the command's process does that after its setsid(). When
// `owner` is set (trexd runs as root and the command as another user), the
// slave is handed to that user, as login(1) and sshd do.
Result<PtyPair> open_pty(const Terminal& size, std::optional<uid_t> owner);

// A terminal command's stdio: the master twice (read as its stdout, written
// as its stdin) and the slave three times (its 0, 1 and 2); all >= 3.
struct TerminalStdio {
  util::UniqueFd master, master_copy;
  util::UniqueFd slave_in, slave_out, slave_err;
};
Result<TerminalStdio> terminal_stdio(const Terminal& size, std::optional<uid_t> owner);

// TIOCSWINSZ on the master: the command's foreground group gets SIGWINCH.
Status set_window(int master, const Terminal& size);

}  // namespace trex::exec::detail

#include "exec/pty.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace trex::exec::detail {
namespace {

Error pty_error(const char* what) {
  return make_error(std::string("cannot open a pseudo-terminal: ") + what + ": " +
                    std::strerror(errno));
}

}  // namespace

Status set_window(int master, const Terminal& size) {
  winsize ws{};
  ws.ws_row = size.rows;
  ws.ws_col = size.cols;
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0) {
    return make_error(std::string("cannot set the window size: ") + std::strerror(errno));
  }
  return Status::success();
}

Result<PtyPair> open_pty(const Terminal& size, std::optional<uid_t> owner) {
  PtyPair pair;
  pair.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!pair.master.valid()) return pty_error("posix_openpt");
  if (::grantpt(pair.master.get()) != 0) return pty_error("grantpt");
  if (::unlockpt(pair.master.get()) != 0) return pty_error("unlockpt");
  char name[64];
  if (const int rc = ::ptsname_r(pair.master.get(), name, sizeof name); rc != 0) {
    errno = rc;
    return pty_error("ptsname");
  }
  // Above stdio, so that the child's dup2 onto 0/1/2 cannot clobber it.
  const int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return pty_error(name);
  pair.slave.reset(slave);
  if (slave <= STDERR_FILENO) {
    pair.slave.reset(::fcntl(slave, F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    if (!pair.slave.valid()) return pty_error("fcntl");
  }
  if (owner && ::fchown(pair.slave.get(), *owner, static_cast<gid_t>(-1)) != 0) {
    return pty_error("fchown");
  }
  if (auto s = set_window(pair.master.get(), size); !s) return s.error();
  return pair;
}

Result<TerminalStdio> terminal_stdio(const Terminal& size, std::optional<uid_t> owner) {
  auto pty = open_pty(size, owner);
  if (!pty) return pty.error();
  const auto copy = [](const util::UniqueFd& fd) {
    return util::UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
  };
  TerminalStdio t;
  t.master_copy = copy(pty->master);
  t.slave_in = copy(pty->slave);
  t.slave_out = copy(pty->slave);
  if (!t.master_copy.valid() || !t.slave_in.valid() || !t.slave_out.valid()) {
    return pty_error("fcntl");
  }
  t.master = std::move(pty->master);
  t.slave_err = std::move(pty->slave);
  return t;
}

}  // namespace trex::exec::detail

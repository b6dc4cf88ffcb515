#include "exec/plumbing.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>

#include "exec/pty.hpp"

namespace trex::exec::detail {

using util::UniqueFd;

namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// Keeps the child's end away from 0/1/2, where it could be clobbered by the
// dup2 of another stdio stream in the child (the server may run with 0-2
// closed).
Status lift_above_stdio(UniqueFd& fd) {
  if (fd.get() > STDERR_FILENO) return Status::success();
  const int lifted = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (lifted < 0) return make_error(std::string("cannot create pipe: ") + std::strerror(errno));
  fd.reset(lifted);
  return Status::success();
}

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(std::string("cannot create pipe: ") + std::strerror(errno));
  }
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  if (auto s = lift_above_stdio(pipe.read); !s) return s.error();
  if (auto s = lift_above_stdio(pipe.write); !s) return s.error();
  return pipe;
}

// Only for an end make_pipe just made: its status flags are O_NONBLOCK alone
// after this (there were none to keep), without an F_GETFL to ask.
Status set_nonblocking(const UniqueFd& fd) {
  if (::fcntl(fd.get(), F_SETFL, O_NONBLOCK) < 0) {
    return make_error(std::string("cannot set O_NONBLOCK: ") + std::strerror(errno));
  }
  return Status::success();
}

Status make_output(UniqueFd& child, UniqueFd& parent) {
  auto p = make_pipe();
  if (!p) return p.error();
  child = std::move(p->write);
  parent = std::move(p->read);
  // A 1 MiB pipe (Linux's default maximum for unprivileged users) instead of
  // 64 KiB lets a fast writer run ahead while trexd encrypts: fewer, larger
  // reads and fewer wake-ups on both sides. Best effort: the default works.
  (void)::fcntl(parent.get(), F_SETPIPE_SZ, 1 << 20);
  return set_nonblocking(parent);
}

// The command's three stdio streams are the pty's slave; trexd reads and
// writes the master.
Status make_terminal(const Spec& spec, const ChildPlan& plan, Plumbing& io) {
  auto t = terminal_stdio(*spec.terminal,
                          plan.switch_user ? std::optional<uid_t>(plan.uid) : std::nullopt);
  if (!t) return t.error();
  io.stdout_parent = std::move(t->master);
  io.stdin_parent = std::move(t->master_copy);
  io.stdin_child = std::move(t->slave_in);
  io.stdout_child = std::move(t->slave_out);
  io.stderr_child = std::move(t->slave_err);
  return Status::success();
}

Status make_stdio(bool stdin_open, Plumbing& io) {
  if (stdin_open) {
    auto p = make_pipe();
    if (!p) return p.error();
    io.stdin_child = std::move(p->read);
    io.stdin_parent = std::move(p->write);
    if (auto s = set_nonblocking(io.stdin_parent); !s) return s.error();
  } else {
    io.stdin_child.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!io.stdin_child.valid()) {
      return make_error(std::string("cannot open /dev/null: ") + std::strerror(errno));
    }
    if (auto s = lift_above_stdio(io.stdin_child); !s) return s.error();
  }
  if (auto s = make_output(io.stdout_child, io.stdout_parent); !s) return s.error();
  return make_output(io.stderr_child, io.stderr_parent);
}

}  // namespace

// The stdio pipes (none for a terminal: make_plan opens the pty once the
// user is known) and the pipes to the reaper.
Result<Plumbing> make_plumbing(const Spec& spec, bool reaper) {
  Plumbing io;
  if (!spec.terminal) {
    if (auto s = make_stdio(spec.stdin_open, io); !s) return s.error();
  }
  auto report = make_pipe();
  if (!report) return report.error();
  io.report_read = std::move(report->read);
  io.report_write = std::move(report->write);
  if (!reaper) return io;
  auto ctl = make_pipe();
  if (!ctl) return ctl.error();
  io.ctl_child = std::move(ctl->read);
  io.ctl_parent = std::move(ctl->write);
  auto events = make_pipe();
  if (!events) return events.error();
  io.events_child = std::move(events->write);
  io.events_parent = std::move(events->read);
  if (auto s = set_nonblocking(io.events_parent); !s) return s.error();
  return io;
}

Result<ChildPlan> make_plan(const Spec& spec, const Limits& rlimits, Plumbing& io) {
  ChildPlan plan;
  plan.parent = ::getpid();
  plan.new_session = has_terminal();
  add_limits(rlimits, plan);
  if (spec.umask) plan.umask = static_cast<mode_t>(*spec.umask);
  plan.cwd = spec.cwd.c_str();
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    plan.fd_limit = nofile.rlim_cur;
  }
  if (spec.run_as) {
    if (auto s = resolve_user(*spec.run_as, plan); !s) return s.error();
  }
  if (spec.terminal) {
    if (auto s = make_terminal(spec, plan, io); !s) return s.error();
  }
  plan.stdin_fd = io.stdin_child.get();
  plan.stdout_fd = io.stdout_child.get();
  plan.stderr_fd = io.stderr_child.get();
  plan.report_fd = io.report_write.get();
  return plan;
}

// Empty once the child has exec'd; a SetupFailure when its setup failed.
std::optional<SetupFailure> read_report(const UniqueFd& fd) {
  SetupFailure failure;
  ssize_t n = 0;
  while ((n = ::read(fd.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure)) return failure;
  return std::nullopt;
}

ssize_t write_without_sigpipe(int fd, const void* buf, std::size_t len) {
  sigset_t pipe;
  sigset_t old;
  sigset_t pending;
  ::sigemptyset(&pipe);
  ::sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, &old);
  // One pending already (from elsewhere) is left alone: ours merges into it.
  const bool was_pending = ::sigpending(&pending) == 0 && ::sigismember(&pending, SIGPIPE) == 1;
  ssize_t n = 0;
  while ((n = ::write(fd, buf, len)) < 0 && errno == EINTR) {
  }
  const int error = errno;
  if (n < 0 && error == EPIPE && !was_pending) {
    const timespec now{0, 0};
    while (::sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = error;
  return n;
}

}  // namespace trex::exec::detail

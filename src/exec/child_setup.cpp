#include "exec/child_setup.hpp"
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include "util/unique_fd.hpp"

namespace trex::exec::detail {
namespace {

constexpr unsigned kCloseRangeCloexec = 1U << 2;  // CLOSE_RANGE_CLOEXEC, Linux 5.11

constexpr const char* limit_name(int resource) {
  switch (resource) {
    case RLIMIT_CPU:
      return "cpu";
    case RLIMIT_AS:
      return "memory";
    case RLIMIT_NPROC:
      return "processes";
    case RLIMIT_NOFILE:
      return "open_files";
    case RLIMIT_FSIZE:
      return "file_size";
    default:
      return "unknown";
  }
}

[[noreturn]] void fail(const ChildPlan& plan, SetupStep step, int error, int detail = 0) {
  report_failure(plan, step, error, detail);
  ::_exit(126);
}

// Handled signals are reset by execve anyway, but ignored ones (the server
// ignores SIGPIPE) would be inherited; and until this point the signal mask
// blocks everything (see launch), so no parent handler can run in the child.
void reset_signal_dispositions() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  // SIGKILL, SIGSTOP and glibc's internal signals refuse; that is fine.
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
}

void redirect_stdio(const ChildPlan& plan) {
  // dup2 clears FD_CLOEXEC on the new descriptor; the sources are >= 3.
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0) {
    fail(plan, SetupStep::kStdio, errno);
  }
}

// Another thread may have forked between a pipe() of Boost's (or of any
// library) and its fcntl(FD_CLOEXEC): mark everything above stdio
// close-on-exec here so that no server descriptor reaches the command.
void close_fds_on_exec(const ChildPlan& plan) {
  if (::syscall(SYS_close_range, 3U, ~0U, kCloseRangeCloexec) == 0) return;
  if (errno != ENOSYS && errno != EINVAL) fail(plan, SetupStep::kCloseOnExec, errno);
  for (rlim_t fd = 3; fd < plan.fd_limit; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
}

void apply_limits(const ChildPlan& plan) {
  for (int i = 0; i < plan.limit_count; ++i) {
    const auto& limit = plan.limits[static_cast<std::size_t>(i)];
    const rlimit value{limit.value, limit.value};
    if (::setrlimit(limit.resource, &value) != 0) fail(plan, SetupStep::kLimit, errno, i);
  }
}

// Raw syscalls, not the glibc wrappers: in a vfork child glibc's setxid
// broadcast would signal the *parent's* threads and change their credentials.
void switch_user(const ChildPlan& plan) {
  if (!plan.switch_user) return;
  if (::syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) != 0 ||
      ::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
      ::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    fail(plan, SetupStep::kUser, errno);
  }
  const bool ids_ok = ::getuid() == plan.uid && ::geteuid() == plan.uid && ::getgid() == plan.gid &&
                      ::getegid() == plan.gid;
  // Dropping from root must be irreversible.
  const bool regained = plan.uid != 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0;
  if (!ids_ok || regained) fail(plan, SetupStep::kUserVerify, EPERM);
}

}  // namespace

void report_failure(const ChildPlan& plan, SetupStep step, int error, int detail) noexcept {
  const SetupFailure record{static_cast<int>(step), error, detail};
  // Below PIPE_BUF, so atomic; nothing useful to do if it fails.
  [[maybe_unused]] const ssize_t n = ::write(plan.report_fd, &record, sizeof record);
}

Status resolve_user(const std::string& user, ChildPlan& plan) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0) return make_error("cannot look up user " + user + ": " + std::strerror(rc));
  if (found == nullptr) return make_error("cannot switch to user " + user + ": no such user");

  if (::geteuid() != 0) {
    if (pw.pw_uid == ::geteuid()) return Status::success();  // already that user
    return make_error("cannot switch to user " + user + ": the server does not run as root");
  }
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count) * 2);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<std::size_t>(count));
  plan.switch_user = true;
  plan.uid = pw.pw_uid;
  plan.gid = pw.pw_gid;
  plan.groups = std::move(groups);
  return Status::success();
}

bool has_terminal() {
  static const bool has = [] {
    char buf[1024];
    const util::UniqueFd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
    if (!fd) return true;
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
    if (n <= 0) return true;
    buf[n] = '\0';
    // "pid (comm) state ppid pgrp session tty_nr ...": comm may hold ')'.
    const char* p = std::strrchr(buf, ')');
    int tty = 1;
    if (p == nullptr || std::sscanf(p + 1, " %*c %*d %*d %*d %d", &tty) != 1) return true;
    return tty != 0;
  }();
  return has;
}

void add_limits(const Limits& limits, ChildPlan& plan) {
  const std::pair<int, const std::optional<std::uint64_t>&> all[] = {
      {RLIMIT_CPU, limits.cpu_seconds},
      {RLIMIT_AS, limits.memory},
      {RLIMIT_NPROC, limits.processes},
      {RLIMIT_NOFILE, limits.open_files},
      {RLIMIT_FSIZE, limits.file_size}};
  plan.limit_count = 0;
  for (const auto& [resource, value] : all) {
    if (!value) continue;
    plan.limits[static_cast<std::size_t>(plan.limit_count++)] = {resource,
                                                                 static_cast<rlim_t>(*value)};
  }
}

namespace {

// Signals stay blocked: the reaper keeps them so, and unblocks them in the
// command's process.
[[noreturn]] void exec_reaper(const ChildPlan& plan) {
  for (const int fd : plan.keep) {
    if (fd >= 0 && ::fcntl(fd, F_SETFD, 0) != 0) fail(plan, SetupStep::kReaper, errno);
  }
  ::syscall(SYS_execveat, plan.reaper_fd, "", plan.reaper_argv, plan.envp, AT_EMPTY_PATH);
  fail(plan, SetupStep::kReaper, errno);
}

}  // namespace

void run_child_setup(const ChildPlan& plan) noexcept {
  reset_signal_dispositions();
  // No controlling terminal: when trexd was started from a terminal, a new
  // session, so that a command can neither open /dev/tty nor push keystrokes
  // into the operator's shell with TIOCSTI, and the terminal's Ctrl-C does
  // not reach it. A server without a terminal hands none on, and a new
  // process group is enough: setsid would also give each command a
  // scheduler autogroup of its own, whose making and placement cost 0.6 to
  // 2.4 ms per command on a loaded machine (2 cores, load 9).
  const bool session = plan.new_session || plan.terminal;
  const int made = session ? static_cast<int>(::setsid()) : ::setpgid(0, 0);
  if (made < 0) fail(plan, SetupStep::kProcessGroup, errno);
  redirect_stdio(plan);
  // A terminal command's Ctrl-C, Ctrl-Z and hang-up come from its pty.
  if (plan.terminal && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) {
    fail(plan, SetupStep::kStdio, errno);
  }
  close_fds_on_exec(plan);
  if (plan.reaper_fd >= 0) exec_reaper(plan);
  // Limits before the user switch: only root may raise a hard limit.
  apply_limits(plan);
  if (plan.umask) ::umask(*plan.umask);
  switch_user(plan);
  // A server killed with SIGKILL cannot clean up: let its commands die with
  // it. Set after the user switch, which clears the parent-death signal, and
  // re-check the parent in case it died before prctl.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != plan.parent) ::_exit(126);
  // After the switch, so that the directory is entered with the user's rights.
  if (::chdir(plan.cwd) != 0) fail(plan, SetupStep::kChdir, errno);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::string describe_failure(const SetupFailure& failure, const ChildPlan& plan, const Spec& spec) {
  const std::string why = std::strerror(failure.error);
  const std::string user = spec.run_as.value_or("?");
  switch (static_cast<SetupStep>(failure.step)) {
    case SetupStep::kProcessGroup:
      return std::string(plan.new_session ? "cannot create a session: "
                                          : "cannot create a process group: ") +
             why;
    case SetupStep::kStdio:
      return "cannot redirect stdio: " + why;
    case SetupStep::kCloseOnExec:
      return "cannot mark descriptors close-on-exec: " + why;
    case SetupStep::kLimit: {
      const int i = failure.detail >= 0 && failure.detail < plan.limit_count ? failure.detail : 0;
      return std::string("cannot set limit ") +
             limit_name(plan.limits[static_cast<std::size_t>(i)].resource) + ": " + why;
    }
    case SetupStep::kUser:
      return "cannot switch to user " + user + ": " + why;
    case SetupStep::kUserVerify:
      return "cannot switch to user " + user + ": privileges were not dropped";
    case SetupStep::kChdir:
      return "cannot change directory to " + spec.cwd + ": " + why;
    case SetupStep::kExec:
      return "cannot execute " + spec.program + ": " + why;
    case SetupStep::kReaper:
      return "cannot start the command's reaper: " + why;
    case SetupStep::kCgroup:
      return "cannot start the command in its cgroup: " + why;
  }
  return "cannot start " + spec.program + ": child setup failed (" + why + ")";
}

}  // namespace trex::exec::detail

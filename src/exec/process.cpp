#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "exec/cgroup.hpp"
#include "exec/child_setup.hpp"
#include "exec/launcher.hpp"
#include "exec/pty.hpp"
#include "exec/reaper.hpp"
#include "trex/exec.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec {

using util::UniqueFd;

struct Process::Impl {
  pid_t pid = -1;     // the reaper's
  pid_t leader = -1;  // the command's own (reported by the reaper)
  UniqueFd stdin_w;
  UniqueFd stdout_r;
  UniqueFd stderr_r;
  UniqueFd events;  // the reaper's ReaperRecords; closed once settled
  UniqueFd ctl;     // to the reaper: kill or release; its end of file kills
  std::optional<ExitStatus> status;
  std::optional<int> lingered;  // set once settled
  bool reaped = false;
  // The command's cgroup (none without one): killed with the tree, removed
  // once the tree has settled (or later, when processes lingered).
  std::optional<detail::CommandGroup> group;
  bool terminal = false;  // stdout_r is a pty's master, stdin_w a copy of it

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (pid <= 0 || reaped) return;
    // The reaper kills the whole tree when its control pipe closes; never
    // SIGKILL the reaper itself, which would set the tree loose.
    if (group) group->kill();
    ctl.reset();
    reap();
  }

  void reap() {
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  // Reaping waits for the end of the output so that signal_group stays safe.
  void reap_when_done() {
    if (lingered && !reaped && !stdout_r.valid() && !stderr_r.valid()) reap();
  }
  // One word to the reaper (atomic: below PIPE_BUF). It may be gone: EPIPE.
  void send(const char* word, std::size_t len) {
    if (!ctl.valid()) return;
    while (::write(ctl.get(), word, len) < 0 && errno == EINTR) {
    }
  }
  // Every process of the tree: the cgroup at once, then the reaper's rounds
  // (which also reap what the cgroup killed).
  void kill_tree() {
    if (group) group->kill();
    send(&detail::kReaperKill, 1);
  }
  void read_events(int limit = -1);  // up to `limit` records (-1: all there are)
  void reaper_gone();
};

namespace {

ExitStatus decode_status(int raw) {
  ExitStatus status;
  if (WIFSIGNALED(raw)) {
    status.signaled = true;
    status.signal = WTERMSIG(raw);
  } else {
    status.code = WEXITSTATUS(raw);
  }
  return status;
}

}  // namespace

void Process::Impl::read_events(int limit) {
  detail::ReaperRecord rec;
  for (int got = 0; limit < 0 || got < limit; ++got) {
    ssize_t n = 0;
    while ((n = ::read(events.get(), &rec, sizeof rec)) < 0 && errno == EINTR) {
    }
    if (n < 0 && errno == EAGAIN) return;
    if (n != static_cast<ssize_t>(sizeof rec)) return reaper_gone();
    if (rec.event == static_cast<int>(detail::ReaperEvent::kStarted)) {
      leader = rec.value;
    } else if (rec.event == static_cast<int>(detail::ReaperEvent::kExited)) {
      status = decode_status(rec.value);
    } else if (rec.event == static_cast<int>(detail::ReaperEvent::kSettled)) {
      lingered = rec.value;
      events.reset();
      ctl.reset();
      // Nothing lingered, so whatever is still in the group came from
      // outside the command's tree: it ends too.
      if (group) group->remove(rec.value == 0);
      return reap_when_done();
    }
  }
}

// The reaper ended without settling (killed from outside): take its own
// status as the command's if none came, and count nothing as lingering.
void Process::Impl::reaper_gone() {
  events.reset();
  ctl.reset();
  // The tree has lost its owner: the cgroup, where there is one, still ends it.
  if (group) {
    group->kill();
    group->remove();
  }
  if (!status) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0) {
      status = info.si_code == CLD_EXITED ? ExitStatus{false, info.si_status, 0}
                                          : ExitStatus{true, 0, info.si_status};
    } else {
      status = ExitStatus{false, -1, 0};  // reaped behind our back
      reaped = true;
    }
  }
  lingered = 0;
  reap_when_done();
}

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

Status set_nonblocking(const UniqueFd& fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return make_error(std::string("cannot set O_NONBLOCK: ") + std::strerror(errno));
  }
  return Status::success();
}

// The parent's and the child's ends of the three stdio streams and the
// setup-report pipe.
struct Plumbing {
  UniqueFd stdin_child, stdin_parent;
  UniqueFd stdout_child, stdout_parent;
  UniqueFd stderr_child, stderr_parent;
  UniqueFd report_read, report_write;
  UniqueFd ctl_child, ctl_parent;        // trexd -> reaper
  UniqueFd events_child, events_parent;  // reaper -> trexd
};

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
Status make_terminal(const Spec& spec, const detail::ChildPlan& plan, Plumbing& io) {
  auto t = detail::terminal_stdio(*spec.terminal,
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

// The stdio pipes (none for a terminal: make_plan opens the pty once the
// user is known) and the pipes to the reaper.
Result<Plumbing> make_plumbing(const Spec& spec) {
  Plumbing io;
  if (!spec.terminal) {
    if (auto s = make_stdio(spec.stdin_open, io); !s) return s.error();
  }
  auto report = make_pipe();
  if (!report) return report.error();
  io.report_read = std::move(report->read);
  io.report_write = std::move(report->write);
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

Result<detail::ChildPlan> make_plan(const Spec& spec, const Limits& rlimits, Plumbing& io) {
  detail::ChildPlan plan;
  plan.parent = ::getpid();
  plan.new_session = detail::has_terminal();
  detail::add_limits(rlimits, plan);
  if (spec.umask) plan.umask = static_cast<mode_t>(*spec.umask);
  plan.cwd = spec.cwd.c_str();
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    plan.fd_limit = nofile.rlim_cur;
  }
  if (spec.run_as) {
    if (auto s = detail::resolve_user(*spec.run_as, plan); !s) return s.error();
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
std::optional<detail::SetupFailure> read_report(const UniqueFd& fd) {
  detail::SetupFailure failure;
  ssize_t n = 0;
  while ((n = ::read(fd.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure)) return failure;
  return std::nullopt;
}

}  // namespace

Result<Process> detail::spawn_with_mode(const Spec& spec, ForkMode mode) {
  auto image = reaper_image_fd();
  if (!image) return image.error();
  auto io = make_plumbing(spec);
  if (!io) return io.error();
  // Where the command has a cgroup, its memory and process limits may be the
  // group's (per command) instead of rlimits (per process, per user).
  std::optional<CommandGroup> group;
  Limits rlimits = spec.limits;
  if (const CgroupBase* base = active_cgroup()) {
    auto made = CommandGroup::make(*base, spec.limits);
    if (!made) return made.error();
    group = std::move(*made);
    rlimits = base->rlimits(spec.limits);
  }
  const int cgroup_fd = group ? group->dir_fd() : -1;
  auto plan = make_plan(spec, rlimits, *io);
  if (!plan) return plan.error();
  std::vector<std::string> argv = reaper_argv(
      spec, *plan, io->ctl_child.get(), io->report_write.get(), io->events_child.get(), cgroup_fd);
  std::vector<std::string> env = spec.env;
  const std::vector<char*> argv_ptrs = detail::pointers(argv);
  const std::vector<char*> env_ptrs = detail::pointers(env);
  plan->reaper_fd = *image;
  plan->keep = {io->ctl_child.get(), io->report_write.get(), io->events_child.get(), cgroup_fd};
  plan->reaper_argv = argv_ptrs.data();
  plan->envp = env_ptrs.data();

  auto pid = launch(spec, *plan, mode);
  // The parent's copies of the child's ends must go, or EOF never comes.
  io->stdin_child.reset();
  io->stdout_child.reset();
  io->stderr_child.reset();
  io->report_write.reset();
  io->ctl_child.reset();
  io->events_child.reset();
  if (group) group->close_dir();
  if (!pid) return pid.error();

  auto impl = std::make_unique<Process::Impl>();
  impl->pid = *pid;  // from here on ~Impl ends the tree and reaps on every error path
  impl->group = std::move(group);
  impl->ctl = std::move(io->ctl_parent);
  impl->events = std::move(io->events_parent);
  if (auto failure = read_report(io->report_read)) {
    return make_error(describe_failure(*failure, *plan, spec));
  }
  // kStarted was written before the report's end of file. Only that one
  // record: a later one (the exit of a command that was quick) stays in the
  // pipe, so that pid_fd() wakes the caller for it.
  impl->read_events(1);
  impl->stdin_w = std::move(io->stdin_parent);
  impl->stdout_r = std::move(io->stdout_parent);
  impl->stderr_r = std::move(io->stderr_parent);
  impl->terminal = spec.terminal.has_value();
  return Process(std::move(impl));
}

Result<Process> Process::spawn(const Spec& spec) {
  return detail::spawn_with_mode(spec, detail::kDefaultForkMode);
}

Process::Process(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;
Process::~Process() = default;

pid_t Process::pid() const { return impl_ ? impl_->pid : -1; }
int Process::stdout_fd() const { return impl_ ? impl_->stdout_r.get() : -1; }
int Process::stderr_fd() const { return impl_ ? impl_->stderr_r.get() : -1; }
int Process::stdin_fd() const { return impl_ ? impl_->stdin_w.get() : -1; }
int Process::pid_fd() const { return impl_ ? impl_->events.get() : -1; }

void Process::close_stdout() {
  impl_->stdout_r.reset();
  if (impl_->terminal) impl_->stdin_w.reset();
  impl_->reap_when_done();
}

void Process::close_stderr() {
  impl_->stderr_r.reset();
  impl_->reap_when_done();
}

void Process::close_stdin() { impl_->stdin_w.reset(); }

Status Process::set_window(const Terminal& size) {
  if (!impl_->terminal || !impl_->stdout_r.valid()) return Status::success();
  return detail::set_window(impl_->stdout_r.get(), size);
}

void Process::signal_group(int signo) {
  if (impl_->status || signo <= 0 || signo > 255) return;
  const char word[2] = {detail::kReaperSignal, static_cast<char>(signo)};
  impl_->send(word, sizeof word);
}

bool Process::leader_waits() const {
  if (impl_->leader <= 0 || impl_->status) return true;
  const std::string path = "/proc/" + std::to_string(impl_->leader) + "/stat";
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return true;
  char buf[512];
  const ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return true;
  // "pid (comm) S ...": comm may itself hold ')', so take the last one.
  const std::string_view stat(buf, static_cast<std::size_t>(n));
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) return true;
  const char state = stat[close + 2];
  return state != 'R' && state != 'D' && state != 'W';
}

void Process::kill_group_now() { impl_->kill_tree(); }

void Process::end_tree(bool linger) {
  if (!impl_->status) return;
  if (linger) {
    impl_->send(&detail::kReaperRelease, 1);
  } else {
    impl_->kill_tree();
  }
}

std::optional<int> Process::settled() const { return impl_->lingered; }

std::optional<ExitStatus> Process::try_wait() {
  if (impl_->events.valid()) impl_->read_events();
  return impl_->status;
}

std::optional<std::string> find_program(std::string_view name, std::string_view path) {
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  while (true) {
    const std::size_t colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    if (!dir.empty()) {
      std::string candidate = std::string(dir) + "/" + std::string(name);
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    if (colon == std::string_view::npos) return std::nullopt;
    path.remove_prefix(colon + 1);
  }
}

}  // namespace trex::exec

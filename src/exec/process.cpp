#include <fcntl.h>
#include <sys/epoll.h>
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
#include "exec/plumbing.hpp"
#include "exec/pty.hpp"
#include "exec/reaper.hpp"
#include "trex/exec.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec {

using util::UniqueFd;

struct Process::Impl {
  pid_t pid = -1;     // the reaper's, or (direct) the command's
  pid_t leader = -1;  // the command's own (reported by the reaper)
  // No reaper: the command was started straight into its cgroup, which is
  // the fence (cgroup.kill ends it all; cgroup.events says when it is empty).
  bool direct = false;
  UniqueFd stdin_w;
  UniqueFd stdout_r;
  UniqueFd stderr_r;
  // Reaper: its ReaperRecords. Direct: the command's pidfd until it is
  // reaped, then (while its group is not empty) a watch on cgroup.events.
  // Closed once settled.
  UniqueFd events;
  UniqueFd ctl;  // to the reaper: kill or release; its end of file kills
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
    if (direct) {
      end_direct();
      return;
    }
    if (pid <= 0 || reaped) return;
    // The reaper kills the whole tree when its control pipe closes; never
    // SIGKILL the reaper itself, which would set the tree loose.
    if (group) group->kill();
    ctl.reset();
    reap();
  }
  // Direct: the group ends (unless it settled), the command is reaped, and
  // the group goes once its processes are gone.
  void end_direct() {
    const bool open = !lingered && group;
    if (open) group->kill();
    if (pid > 0 && !reaped) reap();
    if (open) group->remove(true);
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
  // One word to the reaper (atomic: below PIPE_BUF). It may be gone (it
  // exits once settled, maybe before we read that): EPIPE, not SIGPIPE.
  void send(const char* word, std::size_t len) {
    if (ctl.valid()) (void)detail::write_without_sigpipe(ctl.get(), word, len);
  }
  // Every process of the tree: the cgroup at once, then the reaper's rounds
  // (which also reap what the cgroup killed).
  void kill_tree() {
    if (group) group->kill();
    send(&detail::kReaperKill, 1);
  }
  void read_events(int limit = -1);  // up to `limit` records (-1: all there are)
  void reaper_gone();
  void direct_events();
  void direct_settle(int left);
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

// Direct: reaps the command once it has exited, then settles as soon as its
// group is empty; until then pid_fd() watches the group's cgroup.events.
void Process::Impl::direct_events() {
  if (!status) {
    int raw = 0;
    pid_t got = 0;
    while ((got = ::waitpid(pid, &raw, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (got == 0) return;  // still running
    status = got == pid ? decode_status(raw) : ExitStatus{false, -1, 0};
    reaped = true;
    events.reset();  // the pidfd
  }
  if (lingered) return;
  if (!group->populated()) return direct_settle(0);
  if (events.valid()) return;
  // Level-triggered on EPOLLPRI: readable once "populated" has changed since
  // the last read of cgroup.events (the one just made).
  UniqueFd watch(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLPRI;
  if (watch.valid() && ::epoll_ctl(watch.get(), EPOLL_CTL_ADD, group->events_fd(), &ev) == 0) {
    events = std::move(watch);
  }
  // Without a watch (no descriptor left) pid_fd() is -1 and the command
  // loop looks again each round.
}

void Process::Impl::direct_settle(int left) {
  lingered = left;
  events.reset();
  if (left == 0) {
    group->release();
  } else {
    group->remove();  // kept until its processes are gone
  }
}

namespace {

// The parent's copies of the child's ends must go, or EOF never comes.
void close_child_ends(detail::Plumbing& io) {
  io.stdin_child.reset();
  io.stdout_child.reset();
  io.stderr_child.reset();
  io.report_write.reset();
  io.ctl_child.reset();
  io.events_child.reset();
}

}  // namespace

// Steps of spawn_with_mode that build the Process (a friend of it).
struct detail::Starter {
  // The rest of a started Process: the stdio ends, once the setup reported no
  // failure.
  static Result<Process> finish(std::unique_ptr<Process::Impl> impl, Plumbing& io,
                                const ChildPlan& plan, const Spec& spec) {
    if (auto failure = read_report(io.report_read)) {
      return make_error(describe_failure(*failure, plan, spec));
    }
    // kStarted was written before the report's end of file. Only that one
    // record: a later one (the exit of a command that was quick) stays in the
    // pipe, so that pid_fd() wakes the caller for it.
    if (!impl->direct) impl->read_events(1);
    impl->stdin_w = std::move(io.stdin_parent);
    impl->stdout_r = std::move(io.stdout_parent);
    impl->stderr_r = std::move(io.stderr_parent);
    impl->terminal = spec.terminal.has_value();
    return Process(std::move(impl));
  }

  // The cgroup path: the command is born in its group, which is the whole
  // fence; no reaper process in between (one exec and two wake-ups fewer).
  static Result<Process> spawn_direct(const Spec& spec, ForkMode mode, Plumbing& io,
                                      ChildPlan& plan, CommandGroup group) {
    plan.terminal = spec.terminal.has_value();
    int pidfd = -1;
    auto pid = launch_into(spec, plan, mode, group.dir_fd(), &pidfd);
    close_child_ends(io);
    if (!pid) return pid.error();
    auto impl = std::make_unique<Process::Impl>();
    impl->pid = impl->leader = *pid;  // from here on ~Impl kills and reaps
    impl->direct = true;
    impl->events.reset(pidfd);
    impl->group = std::move(group);
    return finish(std::move(impl), io, plan, spec);
  }
};

Result<Process> detail::spawn_with_mode(const Spec& spec, ForkMode mode) {
  auto image = reaper_image_fd();
  if (!image) return image.error();
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
  const bool direct = group && !reaper_with_cgroup();
  auto io = make_plumbing(spec, !direct);
  if (!io) return io.error();
  auto plan = make_plan(spec, rlimits, *io);
  if (!plan) return plan.error();
  if (direct) return Starter::spawn_direct(spec, mode, *io, *plan, std::move(*group));

  const int cgroup_fd = group ? group->dir_fd() : -1;
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
  close_child_ends(*io);
  if (!pid) return pid.error();

  auto impl = std::make_unique<Process::Impl>();
  impl->pid = *pid;  // from here on ~Impl ends the tree and reaps on every error path
  impl->group = std::move(group);
  impl->ctl = std::move(io->ctl_parent);
  impl->events = std::move(io->events_parent);
  return Starter::finish(std::move(impl), *io, *plan, spec);
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
  // Direct: the command is unreaped while its status is unknown, so its
  // group id cannot have been reused.
  if (impl_->direct) {
    ::kill(-impl_->pid, signo);
    return;
  }
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
  if (impl_->direct) {
    if (impl_->lingered) return;
    if (linger) return impl_->direct_settle(impl_->group->count());
    impl_->group->kill();
    return impl_->direct_events();  // settles once the group is empty
  }
  if (linger) {
    impl_->send(&detail::kReaperRelease, 1);
  } else {
    impl_->kill_tree();
  }
}

std::optional<int> Process::settled() const { return impl_->lingered; }

std::optional<ExitStatus> Process::try_wait() {
  if (impl_->direct) {
    if (!impl_->lingered) impl_->direct_events();
  } else if (impl_->events.valid()) {
    impl_->read_events();
  }
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

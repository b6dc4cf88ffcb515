#include "exec/launcher.hpp"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

// Boost 1.74 compiles its vfork executor only for pre-2008 POSIX feature
// macros, i.e. never with a current glibc, although vfork() is declared.
// This is the only file that includes Boost.Process, so the executor cannot be
// instantiated differently elsewhere.
#ifndef BOOST_POSIX_HAS_VFORK
#define BOOST_POSIX_HAS_VFORK 1
#endif
#include <boost/process/child.hpp>
#include <boost/process/error.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "exec/clone.hpp"

namespace trex::exec::detail {

namespace {

namespace bp = boost::process;

// Boost.Process extension: sets the exact program, argv (argv[0] included)
// and environment, runs the child setup, and learns the pid on both outcomes
// (Boost's returned child is empty on error, yet the failed child must be
// reaped).
struct ChildHooks : bp::extend::handler {
  const ChildPlan* plan = nullptr;
  const char* exe = nullptr;
  char* const* argv = nullptr;
  char** envp = nullptr;
  pid_t* pid = nullptr;

  template <class Executor>
  void on_setup(Executor& e) const {
    e.exe = exe;
    e.cmd_line = argv;
    e.env = envp;
  }
  template <class Executor>
  void on_error(Executor& e, const std::error_code&) const {
    *pid = e.pid;
  }
  template <class Executor>
  void on_success(Executor& e) const {
    *pid = e.pid;
  }
  template <class Executor>
  void on_exec_setup(Executor&) const {
    run_child_setup(*plan);
  }
  // Boost reports an execve failure through shared memory in vfork mode,
  // which breaks where vfork is really fork (e.g. under TSan): report it
  // through our own pipe as well.
  template <class Executor>
  void on_exec_error(Executor&, const std::error_code& ec) const {
    report_failure(*plan, SetupStep::kExec, ec.value());
  }
};

// Blocks every signal in the calling thread while alive. Across fork/vfork
// this keeps the server's handlers from running in the child (in a vfork
// child they would run on the parent's memory); the child unblocks after
// resetting the dispositions.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t saved_{};
};

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

template <class... Extra>
void start(const ChildHooks& hooks, std::error_code& ec, const Extra&... extra) {
  SignalBlock block;
  bp::child child(hooks, bp::error(ec), extra...);
  // This module owns the pid: ~child must never kill or wait on its own.
  child.detach();
}

}  // namespace

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

namespace {

// What the cgroup path's child needs, made before the clone (no allocation
// after it).
struct DirectChild {
  const ChildPlan* plan = nullptr;
  const char* exe = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

int run_direct_child(void* arg) {
  const auto* c = static_cast<const DirectChild*>(arg);
  run_child_setup(*c->plan);
  ::execve(c->exe, c->argv, c->envp);
  report_failure(*c->plan, SetupStep::kExec, errno);
  return 127;
}

}  // namespace

Result<pid_t> launch_into(const Spec& spec, const ChildPlan& plan, ForkMode mode, int cgroup,
                          int* pidfd) {
  std::vector<std::string> argv = spec.argv;
  if (argv.empty()) argv.push_back(spec.program);
  std::vector<std::string> env = spec.env;
  const std::vector<char*> argv_ptrs = pointers(argv);
  const std::vector<char*> env_ptrs = pointers(env);
  DirectChild child{&plan, spec.program.c_str(), argv_ptrs.data(), env_ptrs.data()};
  long pid = 0;
  {
    SignalBlock block;
    pid = clone_into_cgroup(cgroup, mode == ForkMode::kVfork, pidfd, &run_direct_child, &child);
  }
  if (pid < 0) {
    return make_error(std::string("cannot start the command in its cgroup: ") +
                      std::strerror(static_cast<int>(-pid)));
  }
  return static_cast<pid_t>(pid);
}

Result<pid_t> launch(const Spec& spec, const ChildPlan& plan, ForkMode mode) {
  std::string exe = spec.program;
  std::vector<std::string> argv = spec.argv;
  if (argv.empty()) argv.push_back(spec.program);
  std::vector<std::string> env = spec.env;
  std::vector<char*> argv_ptrs = pointers(argv);
  std::vector<char*> env_ptrs = pointers(env);

  pid_t pid = -1;
  ChildHooks hooks;
  hooks.plan = &plan;
  hooks.exe = exe.c_str();
  hooks.argv = argv_ptrs.data();
  hooks.envp = env_ptrs.data();
  hooks.pid = &pid;

  std::error_code ec;
  if (mode == ForkMode::kVfork) {
    start(hooks, ec, bp::posix::use_vfork);
  } else {
    start(hooks, ec);
  }
  if (!ec) return pid;
  if (pid > 0) {
    reap(pid);
    return make_error("cannot execute " + spec.program + ": " + ec.message());
  }
  return make_error("cannot start " + spec.program + ": " + ec.message());
}

}  // namespace trex::exec::detail

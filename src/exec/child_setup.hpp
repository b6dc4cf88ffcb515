// The work done in the child between fork/vfork and execve, and its parent-side
// preparation. The child of a multi-threaded process (and any vfork child) may
// only make async-signal-safe calls: everything that allocates, locks or reads
// NSS (user lookup, group list, argv/env arrays, messages) is done beforehand in
// the parent and handed over as a ChildPlan. Private to the exec module.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "exec/reaper_abi.hpp"
#include "trex/exec.hpp"
#include "trex/result.hpp"

namespace trex::exec::detail {

struct ChildPlan {
  // Child ends of the stdio pipes (or /dev/null), all >= 3 so that the dup2
  // onto 0/1/2 cannot clobber one another.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Write end of the setup-report pipe: a failing child writes a SetupFailure.
  int report_fd = -1;

  struct Limit {
    int resource = 0;
    rlim_t value = 0;
  };
  std::array<Limit, 5> limits{};
  int limit_count = 0;

  std::optional<mode_t> umask;
  const char* cwd = "/";
  // The server's pid: the child dies with it (parent-death signal).
  pid_t parent = 0;

  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;

  // A new session (setsid), for a server that has a controlling terminal;
  // else a new process group in the server's session, which has none.
  bool new_session = true;
  // The command runs on a pty (its stdio): it leads a new session whose
  // controlling terminal that becomes. Only without a reaper (the reaper does
  // this itself in the command's process).
  bool terminal = false;

  // Upper bound for the close-on-exec fallback loop (no close_range).
  rlim_t fd_limit = 1024;

  // The reaper (see exec/reaper.hpp): the child execs it from reaper_fd with
  // reaper_argv and envp, keeping the `keep` fds open; the limits, umask, user
  // switch and directory are then applied by the reaper in the command's
  // process. Unset (-1): the child applies them and returns for the execve.
  int reaper_fd = -1;
  std::array<int, 4> keep{-1, -1, -1, -1};  // -1: unused
  char* const* reaper_argv = nullptr;
  char* const* envp = nullptr;
};

// Parent side: resolves `user` (passwd entry and supplementary groups) into
// the plan. Fails for an unknown user, or when not root and the user is not us.
Status resolve_user(const std::string& user, ChildPlan& plan);

// Parent side: whether this process has a controlling terminal (its tty in
// /proc/self/stat; true when that cannot be read). Read once.
bool has_terminal();

// Parent side: copies the set limits into the plan (soft = hard = value).
void add_limits(const Limits& limits, ChildPlan& plan);

// Child side. Puts the child in a new session (no controlling terminal) with
// its stdio, then execs the reaper, or (no reaper) returns when the child is
// ready for execve. On any failure it reports through plan.report_fd and
// calls _exit(126), so a half-configured child (e.g. still root) never runs
// the command.
void run_child_setup(const ChildPlan& plan) noexcept;

// Child side: writes a failure record to plan.report_fd (one atomic write).
void report_failure(const ChildPlan& plan, SetupStep step, int error, int detail = 0) noexcept;

// Parent side: the message for a failure reported by the child.
std::string describe_failure(const SetupFailure& failure, const ChildPlan& plan, const Spec& spec);

}  // namespace trex::exec::detail

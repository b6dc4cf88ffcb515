// The descriptors a spawn makes (stdio pipes or a pty, the setup-report
// pipe, the reaper's control and event pipes) and the child's plan. Private
// to the exec module.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

#include "exec/child_setup.hpp"
#include "trex/exec.hpp"
#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec::detail {

// The parent's and the child's ends of the three stdio streams, the
// setup-report pipe and (reaper path only) the pipes to and from the reaper.
struct Plumbing {
  util::UniqueFd stdin_child, stdin_parent;
  util::UniqueFd stdout_child, stdout_parent;
  util::UniqueFd stderr_child, stderr_parent;
  util::UniqueFd report_read, report_write;
  util::UniqueFd ctl_child, ctl_parent;        // trexd -> reaper
  util::UniqueFd events_child, events_parent;  // reaper -> trexd
};

// The stdio pipes (none for a terminal: make_plan opens the pty once the
// user is known), the report pipe, and with `reaper` the reaper's pipes.
Result<Plumbing> make_plumbing(const Spec& spec, bool reaper);

// The child's plan for `spec` with these rlimits; opens a terminal's pty.
Result<ChildPlan> make_plan(const Spec& spec, const Limits& rlimits, Plumbing& io);

// write(2) to a pipe whose reader may be gone: EPIPE then, never SIGPIPE,
// whatever this process does with that signal (it stays blocked for this
// thread during the write, and one the write raised is taken). Retries EINTR.
ssize_t write_without_sigpipe(int fd, const void* buf, std::size_t len);

// Empty once the child has exec'd; a SetupFailure when its setup failed.
std::optional<SetupFailure> read_report(const util::UniqueFd& fd);

}  // namespace trex::exec::detail

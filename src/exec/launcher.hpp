// The one place that calls Boost.Process: fork (or vfork) + child setup +
// execve. Private to the exec module.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "exec/child_setup.hpp"
#include "trex/exec.hpp"
#include "trex/result.hpp"

namespace trex::exec::detail {

// kVfork uses boost::process::posix::use_vfork. The child setup is written to
// be correct under both (raw syscalls for credentials, all signals blocked
// across the fork, no allocation in the child).
enum class ForkMode { kFork, kVfork };

// NUL-terminated pointer array over `strings`, which must outlive it.
std::vector<char*> pointers(std::vector<std::string>& strings);

// Used by Process::spawn. Spawn + wait of /bin/true on the 2-core dev VM
// under load (exec_test's DISABLED_SpawnCost): fork 19 ms, vfork 6.4 ms; with
// 1 GiB of touched heap fork 64 ms, vfork 4.4 ms: fork copies the page tables
// of the server's whole address space, vfork copies nothing.
inline constexpr ForkMode kDefaultForkMode = ForkMode::kVfork;

// Starts a child that runs run_child_setup(plan), which execs the reaper when
// the plan names one, else spec.program with spec.argv and exactly spec.env. Returns the pid once
// the child has exec'd or died (Boost waits for that); the caller owns the pid, must reap it and
// must read plan.report_fd's pipe for a failure in the setup or in execve. An execve failure that
// Boost reports itself is reaped here and returned as "cannot execute PROGRAM: <errno text>".
Result<pid_t> launch(const Spec& spec, const ChildPlan& plan, ForkMode mode);

// The cgroup path's start, without Boost and without a reaper: a child born
// in the cgroup whose directory fd is `cgroup` (clone3, see exec/clone.hpp)
// runs run_child_setup(plan) (which must name no reaper) and execs
// spec.program. Returns the pid and sets *pidfd once the child has exec'd or
// died; the caller owns both, must reap the pid and must read
// plan.report_fd's pipe for a failure in the setup or in execve.
Result<pid_t> launch_into(const Spec& spec, const ChildPlan& plan, ForkMode mode, int cgroup,
                          int* pidfd);

}  // namespace trex::exec::detail

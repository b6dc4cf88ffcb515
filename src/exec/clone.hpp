// clone3 for a child that runs a function and then execs, born in a cgroup:
// the direct start of a command on the cgroup path (no reaper in between).
// Private to the exec module.
#pragma once

namespace trex::exec::detail {

// Runs fn(arg) in a new child process that starts in the cgroup whose
// directory fd is `cgroup` (CLONE_INTO_CGROUP: it never runs outside it), and
// sets *pidfd to a pidfd of it. With `vfork` the child shares the caller's
// memory and runs on a stack inside this call's frame, and the caller is
// suspended until the child execs or exits (CLONE_VM | CLONE_VFORK: no page
// tables copied); fn must then be vfork-safe (see child_setup.hpp). The
// child exits with fn's result if fn returns. Returns the child's pid, or
// -errno. The caller blocks its signals across the call (see launch).
long clone_into_cgroup(int cgroup, bool vfork, int* pidfd, int (*fn)(void*), void* arg);

}  // namespace trex::exec::detail

// clone3 for a child that runs a function and then execs, born in a cgroup:
// the direct start of a command on the cgroup path (no reaper in between).
// Private to the exec module.
#pragma once

namespace trex::exec::detail {

// Built with ASan or TSan. Their runtimes keep per-thread state (TSan's
// table of signal handlers, ASan's stack shadow) that a CLONE_VM child
// would change under the caller, and they only know the fork/vfork they
// intercept: such builds start children with fork semantics here, and
// their commands keep the reaper (reaper_with_cgroup in exec/cgroup.hpp).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

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

// trexd's side of the per-command reaper (src/exec/reaper/reaper.cpp): the
// sealed in-memory executable it is started from, and its arguments. Private
// to the exec module.
#pragma once

#include <string>
#include <vector>

#include "exec/child_setup.hpp"
#include "trex/exec.hpp"
#include "trex/result.hpp"

namespace trex::exec::detail {

// A read-only, sealed memfd holding the reaper, made on first use and kept
// for the life of the process (close-on-exec). Thread-safe.
Result<int> reaper_image_fd();

// The reaper's argv (see the reaper's header comment) for running
// `spec` with the user, limits, umask and directory resolved in `plan`, in
// the cgroup whose directory fd is `cgroup` (-1: none).
std::vector<std::string> reaper_argv(const Spec& spec, const ChildPlan& plan, int ctl, int report,
                                     int status, int cgroup);

}  // namespace trex::exec::detail

// The cgroup v2 fence: the group trexd makes its commands' groups in (found
// at start-up, or named by --cgroup), and one child group per command. The
// reaper starts the command inside its group (clone3 CLONE_INTO_CGROUP), so
// everything the command starts is in it, however it forks or detaches;
// cgroup.kill ends them all at once, and memory.max / pids.max carry the
// rule's limits per command where those controllers are available. The
// reaper (src/exec/reaper/reaper.cpp) still owns the tree: it reaps, counts
// and reports, and it is the whole fence where there is no cgroup. Private
// to the exec module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/exec.hpp"
#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec::detail {

// Pure: the words of `line`, split at spaces (mountinfo's field separator).
std::vector<std::string_view> fields(std::string_view line);

// Pure: the calling process's group in the v2 hierarchy, from the text of
// /proc/self/cgroup (its "0::PATH" line). Empty when there is none.
std::optional<std::string> v2_group_of(std::string_view proc_self_cgroup);

// Pure: the directory where `group` (a v2 path such as "/a/b") can be found,
// from the text of /proc/self/mountinfo: below a cgroup2 mount whose root is
// `group` or one of its ancestors (the longest such root wins). Octal escapes
// of the mount point (\040 for a space) are decoded. Empty when none.
std::optional<std::string> v2_directory(std::string_view mountinfo, std::string_view group);

// "trexd-PID.NS-": the start of the names of this process's groups. NS is its
// PID namespace (the inode of /proc/self/ns/pid, 0 where unknown): a trexd
// that sweeps the groups of dead ones judges only those of its own namespace,
// where its kill(PID, 0) means something. Without it a trexd in a container
// (or a test as PID 1 of a namespace of its own) in the same cgroup took
// every live trexd's empty groups for a dead one's and removed them.
std::string group_prefix();
// Pure: the PID of a group name made with group_prefix() in namespace `ns`;
// nothing for another namespace's groups and other names.
std::optional<long> own_namespace_pid(std::string_view name, unsigned long ns);

// Starts the process that, once this trexd is gone however it went, kills and
// removes its command groups (all but the lingered ones); see cgroup_watch.cpp.
Status start_watcher(int base_fd);
// Tells the watcher to leave `group` (a command group's name) be: its
// processes lingered on purpose. Thread-safe; nothing where no watcher runs.
void spare_from_watcher(const std::string& group);

// The group commands' groups are made in. Chosen once, kept for the life of
// the process. Thread-safe after construction.
class CgroupBase {
 public:
  // Checks that `dir` is a cgroup v2 directory with cgroup.kill in which this
  // process can make and remove groups (it makes and removes one), then
  // enables the memory and pids controllers for its children where the group
  // offers them. Fails naming what is missing.
  static Result<CgroupBase> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  int fd() const { return fd_.get(); }
  bool memory() const { return memory_; }  // memory.max per command
  bool pids() const { return pids_; }      // pids.max per command
  // Why memory or pids is not per command (empty when both are).
  const std::string& note() const { return note_; }
  void add_note(const std::string& text) { note_ += (note_.empty() ? "" : "; ") + text; }
  // The limits still applied as rlimits: those the cgroup does not carry.
  Limits rlimits(Limits limits) const;

 private:
  CgroupBase() = default;
  void enable_controllers();

  std::string dir_;
  util::UniqueFd fd_;
  bool memory_ = false;
  bool pids_ = false;
  std::string note_;
};

// One command's group: made before the spawn (or taken from the groups that
// earlier commands left empty: a mkdir and an rmdir cost ~0.1 ms, a tenth of
// a command), its limits written, given back or removed once its processes
// are gone. A group that cannot be removed yet (processes lingered, or are
// still dying) is removed later, when a later command's group is made.
// Move-only; not thread-safe.
class CommandGroup {
 public:
  static Result<CommandGroup> make(const CgroupBase& base, const Limits& limits);

  CommandGroup(CommandGroup&&) noexcept;
  CommandGroup& operator=(CommandGroup&&) noexcept;
  CommandGroup(const CommandGroup&) = delete;
  CommandGroup& operator=(const CommandGroup&) = delete;
  ~CommandGroup();  // remove()

  // The group's directory, for clone3.
  int dir_fd() const { return dir_.get(); }
  // Its cgroup.events, open: POLLPRI (EPOLLPRI) when "populated" changes.
  int events_fd() const { return events_.get(); }
  // Whether any process is in the group (cgroup.events; true when unreadable).
  bool populated() const;
  // How many processes are in the group (cgroup.procs).
  int count() const;
  // SIGKILL to every process in the group, at once (cgroup.kill).
  void kill() const;
  // For a group found empty: kept for a later command (a few are, never one
  // that was killed), else removed.
  void release();
  // rmdir now, or later if the group still holds processes; `end_rest`:
  // kill those first (none came from the command's tree, which has settled).
  void remove(bool end_rest = false);

 private:
  CommandGroup() = default;
  Status set_limits(const CgroupBase& base, const Limits& limits);

  int base_fd_ = -1;
  std::string name_;  // empty once removed (or moved from)
  util::UniqueFd dir_;
  util::UniqueFd events_;
  // What pids.max and memory.max hold (unset: "max").
  std::optional<std::uint64_t> pids_max_, memory_max_;
  // cgroup.kill was written: Linux (6.18 here) then SIGKILLs every later
  // child cloned into the group with CLONE_INTO_CGROUP (its kill sequence
  // number is compared with the parent's group's), so it is never reused.
  mutable bool killed_ = false;
};

// The base prepare() chose, or nullptr: the reaper alone fences commands.
const CgroupBase* active_cgroup();

// Whether commands with a cgroup still get a reaper each: only when this
// process is PID 1 (a container's init), to which the orphans of a command
// started straight into its group would otherwise go, and which reaps only
// its own commands. Also in ASan and TSan builds (see kSanitized in
// exec/clone.hpp).
bool reaper_with_cgroup();

// Chooses the fence once for the process (see prepare() in trex/exec.hpp);
// a later call reports the first choice when it found a cgroup.
Result<Fence> choose_fence(std::string_view request);

}  // namespace trex::exec::detail

// Process runner: starts an approved command with no controlling terminal
// (in a new session when the server has one) with pipes for stdin/stdout/stderr, under a reaper of
// its own: a small process that owns every process the command starts,
// however it forks or detaches (see src/exec/reaper/reaper.cpp), and, where
// trexd has a cgroup v2 group to divide, in a cgroup of its own
// (src/exec/cgroup.hpp). The only
// module that touches Boost.Process. The session loop polls the fds this
// exposes (stdout, stderr, stdin, and an event fd that becomes readable when
// the command exits and when its tree has settled); nothing here blocks
// except spawn() itself.
//
// Process is move-only and owned by one thread. Its fds are non-blocking and
// close-on-exec, and no descriptor of the server reaches the child (fds >= 3
// are marked close-on-exec in the child). Destroying a Process whose tree has
// not settled kills every process of the tree and reaps the reaper: no
// zombies, no leftovers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/result.hpp"

namespace trex::exec {

// Resource limits applied as rlimits in the child (unset: inherited).
struct Limits {
  std::optional<std::uint64_t> cpu_seconds;  // RLIMIT_CPU
  std::optional<std::uint64_t> memory;       // RLIMIT_AS, bytes (or memory.max, see Fence)
  std::optional<std::uint64_t> processes;    // RLIMIT_NPROC (or pids.max, see Fence)
  std::optional<std::uint64_t> open_files;   // RLIMIT_NOFILE
  std::optional<std::uint64_t> file_size;    // RLIMIT_FSIZE, bytes

  friend bool operator==(const Limits&, const Limits&) = default;
};

// The PATH given to commands, and used to resolve bare program names.
inline constexpr std::string_view kCommandPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Finds `name` (no '/') in the ':'-separated `path`: the first regular,
// executable file. Pure apart from stat().
std::optional<std::string> find_program(std::string_view name,
                                        std::string_view path = kCommandPath);

// How commands are fenced, as prepare() chose it.
struct Fence {
  // The cgroup v2 directory each command gets a group of its own in, ended
  // with cgroup.kill; empty: none, the per-command reaper alone.
  std::string cgroup;
  bool memory = false;  // Limits::memory is each command group's memory.max
  bool pids = false;    // Limits::processes is each command group's pids.max
  // Why there is no cgroup, or why memory or pids is not per command.
  std::string note;
  // With a cgroup: each command still has a reaper (only when this process
  // is PID 1; see exec/cgroup.hpp). Without one, the reaper is the fence.
  bool reaper = true;
};

// Makes what every spawn needs once (the reaper's sealed image), so that a
// server learns at start-up, not at its first command, that it cannot run
// commands, and holds the same descriptors from then on; and chooses the
// fence for every later spawn. `cgroup`: "auto" (trexd's own group, from
// /proc/self/cgroup and /proc/self/mountinfo, where it may make groups
// there; else the reaper alone, and Fence::note says why), "off" (the reaper
// alone), or the directory of a cgroup v2 group to use (an error when it
// cannot be used). The first choice of a cgroup stands for the life of the
// process. Thread-safe; a spawn before any prepare() uses the reaper alone.
Result<Fence> prepare(std::string_view cgroup = "auto");

// A pseudo-terminal for the command (trex -t), of this size.
struct Terminal {
  unsigned short rows = 24, cols = 80;
};

struct Spec {
  std::string program;            // absolute path passed to execve
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // complete environment, "KEY=VALUE"
  std::string cwd = "/";
  std::optional<std::string> run_as;  // user name; needs root. Sets groups, gid, uid.
  std::optional<unsigned> umask;
  Limits limits;
  bool stdin_open = true;  // false: stdin is /dev/null and stdin_fd() is -1
  // Set: the command runs on a new pseudo-terminal, its stdin, stdout,
  // stderr and controlling terminal (it leads a session of its own); the
  // master is both stdout_fd() and stdin_fd(), stderr_fd() is -1, and
  // stdin_open does not apply.
  std::optional<Terminal> terminal;
};

class Process;

namespace detail {
enum class ForkMode;  // fork or vfork; defined in src/exec/launcher.hpp
// Process::spawn with an explicit fork mode (tests and benchmarks).
Result<Process> spawn_with_mode(const Spec& spec, ForkMode mode);
struct Starter;  // spawn_with_mode's steps (src/exec/process.cpp)
}  // namespace detail

struct ExitStatus {
  bool signaled = false;
  int code = 0;    // exit status when !signaled; -1: lost (reaped elsewhere, a bug)
  int signal = 0;  // signal number when signaled
};

class Process {
 public:
  // Starts the command. Fails (with errno's text) when the program cannot be
  // executed, the user cannot be assumed, or a limit cannot be applied; the
  // child never runs the command with the wrong privileges (it _exit(126)s).
  static Result<Process> spawn(const Spec& spec);

  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  // The reaper's pid, which is also its process group id (and session id
  // when the server has a terminal); the command has a group of its own.
  pid_t pid() const;
  int stdout_fd() const;  // -1 once closed
  int stderr_fd() const;
  int stdin_fd() const;
  // Readable when try_wait() or settled() may have news; -1 once settled.
  int pid_fd() const;

  // The pipes are non-blocking. The caller polls and reads them itself (the
  // command loop reads straight into a frame: Channel::send_from_fd) and
  // must ignore SIGPIPE (trexd does): a write after the child closed its
  // stdin fails with EPIPE. Process stays their owner: close them here.
  // For a terminal command, closing stdout closes the master (stdin too):
  // the command's terminal hangs up.
  void close_stdout();
  void close_stderr();
  void close_stdin();
  // A terminal command's new window size (its foreground group gets SIGWINCH).
  Status set_window(const Terminal& size);

  // Sends `signo` to the command's process group (the command and the
  // children that stayed in its group), through the reaper, which is not in
  // it. A no-op once the command has exited, so never a reused group id.
  void signal_group(int signo);
  // Whether the command's leader is off the CPU (sleeping, stopped or
  // exited) rather than running or in an uninterruptible wait, from /proc
  // (true when that cannot be read). A shell that is still starting is busy;
  // one that waits for the command it forked is not.
  bool leader_waits() const;
  // SIGKILL to every process of the command's tree, wherever it moved to
  // (new groups and sessions included), by its reaper.
  void kill_group_now();
  // Once the command has exited (try_wait has a value): kills what it left
  // running, or with `linger` leaves it running. Then settled() gets a value.
  // Once only; a no-op before the command has exited.
  void end_tree(bool linger);
  // Once the tree has settled: the number of processes left running (only
  // after end_tree(true)), else 0. Empty before.
  std::optional<int> settled() const;
  // Collects the command's exit status if it has exited (never blocks).
  // Once it returns a value, later calls return the same value. The reaper is
  // reaped only once the tree has settled and stdout and stderr are both
  // closed (or by the destructor), so that signal_group stays safe.
  std::optional<ExitStatus> try_wait();

 private:
  friend Result<Process> detail::spawn_with_mode(const Spec& spec, detail::ForkMode mode);
  friend struct detail::Starter;
  struct Impl;
  explicit Process(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trex::exec

// Process runner: starts an approved command in its own process group with
// pipes for stdin/stdout/stderr, and owns the child until it is reaped. The
// only module that touches Boost.Process. The session loop polls the fds this
// exposes (stdout, stderr, stdin, and a pidfd that becomes readable when the
// child exits); nothing here blocks except spawn() itself.
//
// Process is move-only and owned by one thread. Its fds are non-blocking and
// close-on-exec, and no descriptor of the server reaches the child (fds >= 3
// are marked close-on-exec in the child). Destroying a Process whose leader is
// not yet reaped kills the whole group (SIGKILL) and reaps it: no zombies.
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
  std::optional<std::uint64_t> memory;       // RLIMIT_AS, bytes
  std::optional<std::uint64_t> processes;    // RLIMIT_NPROC
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

struct Spec {
  std::string program;            // absolute path passed to execve
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // complete environment, "KEY=VALUE"
  std::string cwd = "/";
  std::optional<std::string> run_as;  // user name; needs root. Sets groups, gid, uid.
  std::optional<unsigned> umask;
  Limits limits;
  bool stdin_open = true;  // false: stdin is /dev/null and stdin_fd() is -1
};

class Process;

namespace detail {
enum class ForkMode;  // fork or vfork; defined in src/exec/launcher.hpp
// Process::spawn with an explicit fork mode (tests and benchmarks).
Result<Process> spawn_with_mode(const Spec& spec, ForkMode mode);
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

  pid_t pid() const;
  int stdout_fd() const;  // -1 once closed
  int stderr_fd() const;
  int stdin_fd() const;
  int pid_fd() const;  // readable when the child has exited; -1 once try_wait has a value

  // Non-blocking pipe I/O; return bytes moved, 0 on EOF (read), -1 with errno.
  ssize_t read_stdout(char* buf, std::size_t len);
  ssize_t read_stderr(char* buf, std::size_t len);
  // The caller must ignore SIGPIPE (trexd does): a write after the child
  // closed its stdin fails with EPIPE.
  ssize_t write_stdin(const char* buf, std::size_t len);
  void close_stdout();
  void close_stderr();
  void close_stdin();

  // Sends `signo` to the whole process group (grandchildren included). Safe
  // against pid reuse: the group id stays pinned by the unreaped leader (see
  // try_wait); once the leader is reaped this is a no-op.
  void signal_group(int signo);
  // Whether the leader is off the CPU (sleeping, stopped or exited) rather
  // than running or in an uninterruptible wait, from /proc (true when that
  // cannot be read). A shell that is still starting is busy; one that waits
  // for the command it forked is not.
  bool leader_waits() const;
  // SIGKILL to the group even after the leader was reaped, for grandchildren
  // that outlive it. Caveat: once every member of the group is gone its id
  // may be reused by an unrelated process group; prefer signal_group while
  // stdout/stderr are still open.
  void kill_group_now();
  // Collects the exit status if the child has exited (never blocks) and
  // closes pid_fd(). Once it returns a value, later calls return the same
  // value. The zombie itself is reaped only once stdout and stderr are both
  // closed (or by the destructor), so that signal_group can still reach
  // grandchildren that hold the pipes without risking a reused group id.
  std::optional<ExitStatus> try_wait();

 private:
  friend Result<Process> detail::spawn_with_mode(const Spec& spec, detail::ForkMode mode);
  struct Impl;
  explicit Process(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trex::exec

// The watcher: one process per trexd on the cgroup path that ends the
// commands' trees when trexd dies without stopping (SIGKILL, a crash). The
// command itself goes with trexd (its parent-death signal), but what it
// started is in its group with no reaper to see trexd go: the watcher writes
// cgroup.kill to every command group of that trexd and removes the groups.
// Groups whose processes lingered on purpose are left: trexd names them to
// the watcher as they linger (cgroup v2 groups cannot be renamed).
//
// It is forked from a trexd that may already run threads, so between fork and
// _exit it makes system calls only (no allocation, no locks), and it is
// forked twice so that it is never trexd's child (trexd reaps only its own).
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "exec/cgroup.hpp"
#include "exec/plumbing.hpp"

namespace trex::exec::detail {
namespace {

// The write end, for spare(); -1 where no watcher runs.
std::atomic<int> to_watcher{-1};

// The watcher's copy: the numbers of the groups that lingered.
constexpr std::size_t kMaxSpared = 65536;
std::uint64_t spared[kMaxSpared];
std::size_t spared_count = 0;

// "trexd-PID.NS-N" with N digits only: a command's group of this trexd (not its
// probe), and not one that lingered.
bool is_command_group(const char* name, const char* prefix, std::size_t prefix_len) {
  for (std::size_t i = 0; i < prefix_len; ++i) {
    if (name[i] != prefix[i]) return false;
  }
  const char* rest = name + prefix_len;
  if (*rest == '\0') return false;
  std::uint64_t n = 0;
  for (; *rest != '\0'; ++rest) {
    if (*rest < '0' || *rest > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(*rest - '0');
  }
  for (std::size_t i = 0; i < spared_count; ++i) {
    if (spared[i] == n) return false;
  }
  return true;
}

// Kills and removes every command group; false while some could not be
// removed yet (their processes are still dying).
bool end_groups(int base_fd, const char* prefix, std::size_t prefix_len) {
  bool all_gone = true;
  ::lseek(base_fd, 0, SEEK_SET);
  alignas(dirent64) char buf[4096];
  long n = 0;
  while ((n = ::syscall(SYS_getdents64, base_fd, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      if (!is_command_group(d->d_name, prefix, prefix_len)) continue;
      const int group = ::openat(base_fd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (group < 0) continue;
      const int kill = ::openat(group, "cgroup.kill", O_WRONLY | O_CLOEXEC);
      if (kill >= 0) {
        (void)!::write(kill, "1", 1);
        ::close(kill);
      }
      ::close(group);
      if (::unlinkat(base_fd, d->d_name, AT_REMOVEDIR) != 0 && errno == EBUSY) all_gone = false;
    }
  }
  return all_gone;
}

[[noreturn]] void watch(int trexd_end, int base_fd, const char* prefix, std::size_t prefix_len) {
  // trexd's stop signals (a Ctrl-C on its terminal reaches the whole group)
  // are for trexd: the watcher acts once trexd is gone, however it went.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
  ::prctl(PR_SET_NAME, "trexd-watch");
  // Until end of file: trexd's messages are whole 8-byte numbers (atomic on a pipe).
  for (;;) {
    std::uint64_t n = 0;
    const ssize_t got = ::read(trexd_end, &n, sizeof n);
    if (got == static_cast<ssize_t>(sizeof n)) {
      if (spared_count < kMaxSpared) spared[spared_count++] = n;
    } else if (got != 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  for (int round = 0; round < 500 && !end_groups(base_fd, prefix, prefix_len); ++round) {
    const timespec wait{0, 10'000'000};
    ::nanosleep(&wait, nullptr);
  }
  ::_exit(0);
}

}  // namespace

Status start_watcher(int base_fd) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return make_error(std::strerror(errno));
  char prefix[64];
  const int prefix_len = std::snprintf(prefix, sizeof prefix, "%s", group_prefix().c_str());
  const pid_t first = ::fork();
  if (first < 0) {
    const std::string why = std::strerror(errno);
    ::close(ends[0]);
    ::close(ends[1]);
    return make_error(why);
  }
  if (first == 0) {
    // Only the pipe's read end and the base directory stay open: trexd's
    // listening socket must not outlive trexd here.
    if (::dup2(ends[0], 0) < 0 || ::dup2(base_fd, 1) < 0) ::_exit(1);
    ::syscall(SYS_close_range, 2U, ~0U, 0U);
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    watch(0, 1, prefix, static_cast<std::size_t>(prefix_len));
  }
  ::close(ends[0]);
  while (::waitpid(first, nullptr, 0) < 0 && errno == EINTR) {
  }
  // Held for the life of trexd: its end of file is the signal. Non-blocking:
  // trexd never waits for the watcher.
  static util::UniqueFd held;
  held.reset(ends[1]);
  ::fcntl(held.get(), F_SETFL, O_NONBLOCK);
  to_watcher.store(held.get(), std::memory_order_release);
  return Status::success();
}

void spare_from_watcher(const std::string& group) {
  const int fd = to_watcher.load(std::memory_order_acquire);
  const auto dash = group.rfind('-');
  if (fd < 0 || dash == std::string::npos) return;
  const std::uint64_t n = std::strtoull(group.c_str() + dash + 1, nullptr, 10);
  // The watcher may have been killed: EPIPE then, not SIGPIPE.
  (void)write_without_sigpipe(fd, &n, sizeof n);
}

}  // namespace trex::exec::detail

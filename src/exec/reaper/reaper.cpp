// trex's per-command reaper: owns every process a command starts (the whole fence
// where no cgroup is delegated; beside the command's cgroup where one is).
//
// trexd starts it (from a sealed memfd, see src/exec/reaper.cpp) in a new
// process group (and a new session, when trexd has a terminal), as trexd's
// own user. It becomes a child subreaper, forks the command (dropping to the
// command's user there), and so owns every process the command starts,
// however it forks, double-forks or calls setsid: an orphan is re-parented to
// the nearest subreaper, which is this process, never trexd and never another
// command's reaper. It reports the command's exit, then on trexd's word (or
// when trexd goes away) kills what is left, or leaves it running (linger) and
// counts it.
//
// Built with no C or C++ library (raw system calls, no allocation): an exec of
// this ~10 KB program costs a fraction of a glibc one, paid on every command.
//
// On the cgroup path (src/exec/cgroup.hpp) the command is born in its own
// cgroup (clone3 with CLONE_INTO_CGROUP): it never runs, not even for an
// instant, where trexd's cgroup.kill would miss it. The reaper stays outside,
// so that cgroup.kill leaves it to reap and report.
//
// argv: CTL REPORT STATUS CGROUP UMASK UID GID GROUPS LIMITS CWD PROGRAM ARGV...
//   CTL/REPORT/STATUS: fd numbers; CGROUP: the command group's directory fd
//   or "-"; UMASK, UID, GID: decimal or "-";
//   GROUPS: "g1,g2,..." (may be empty); LIMITS: "res:value,..." (may be empty).
#include <asm/termios.h>
#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/signalfd.h>
#include <linux/time_types.h>
#include <linux/wait.h>

#include "exec/reaper_abi.hpp"

using trex::exec::detail::ReaperEvent;
using trex::exec::detail::ReaperRecord;
using trex::exec::detail::SetupFailure;
using trex::exec::detail::SetupStep;

extern "C" {
// The compiler may emit calls to these for copies and zeroing.
void* memset(void* dst, int c, unsigned long n) {
  auto* d = static_cast<unsigned char*>(dst);
  while (n-- > 0) *d++ = static_cast<unsigned char>(c);
  return dst;
}
void* memcpy(void* dst, const void* src, unsigned long n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n-- > 0) *d++ = *s++;
  return dst;
}
}

namespace {

constexpr int kSigKill = 9;
constexpr int kSigChld = 17;
constexpr int kEchild = 10;
constexpr int kEintr = 4;
constexpr int kEperm = 1;
constexpr int kMaxGroups = 65536;
constexpr int kMaxTree = 4096;

long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long ret;
#if defined(__x86_64__)
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  register long x4 asm("x4") = e;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  ret = x0;
#else
#error "trex-reaper: add this architecture's system call convention"
#endif
  return ret;
}

[[noreturn]] void exit_now(int code) {
  for (;;) sys(__NR_exit_group, code);
}

// Parses a decimal prefix of s; *end points past it. Returns -1 on none.
long parse_num(const char* s, const char** end) {
  long v = -1;
  while (*s >= '0' && *s <= '9') v = (v < 0 ? 0 : v * 10) + (*s++ - '0');
  *end = s;
  return v;
}
long arg_num(const char* s) {
  const char* end;
  const long v = parse_num(s, &end);
  return *end == '\0' ? v : -1;
}

struct Plan {
  int ctl = -1, report = -1, status = -1;
  int cgroup = -1;  // directory fd of the command's cgroup; -1: none
  long umask = -1, uid = -1, gid = -1;
  const char* groups = "";
  const char* limits = "";
  const char* cwd = "/";
  char* const* argv = nullptr;  // program, argv0, args...
  char* const* envp = nullptr;
  // stdin is a terminal (trexd gave the command a pty): the command leads
  // a session of its own with it as the controlling terminal.
  bool terminal = false;
};

void write_all(int fd, const void* p, long n) { (void)sys(__NR_write, fd, long(p), n); }

[[noreturn]] void child_fail(const Plan& p, SetupStep step, long err, int detail = 0) {
  const SetupFailure f{static_cast<int>(step), static_cast<int>(-err), detail};
  write_all(p.report, &f, sizeof f);
  exit_now(126);
}

void apply_limits(const Plan& p) {
  const char* s = p.limits;
  for (int i = 0; *s != '\0'; ++i) {
    const char* end;
    const long res = parse_num(s, &end);
    const long val = *end == ':' ? parse_num(end + 1, &end) : -1;
    if (res < 0 || val < 0) child_fail(p, SetupStep::kLimit, -22, i);
    const rlimit64 lim{static_cast<unsigned long long>(val), static_cast<unsigned long long>(val)};
    if (long r = sys(__NR_prlimit64, 0, res, long(&lim), 0); r < 0) {
      child_fail(p, SetupStep::kLimit, r, i);
    }
    s = *end == ',' ? end + 1 : end;
  }
}

void switch_user(const Plan& p) {
  if (p.uid < 0) return;
  static unsigned groups[kMaxGroups];  // the forked child's own copy
  long n = 0;
  for (const char* s = p.groups; *s != '\0' && n < kMaxGroups;) {
    const char* end;
    groups[n++] = static_cast<unsigned>(parse_num(s, &end));
    s = *end == ',' ? end + 1 : end;
  }
  long r = sys(__NR_setgroups, n, long(groups));
  if (r == 0) r = sys(__NR_setresgid, p.gid, p.gid, p.gid);
  if (r == 0) r = sys(__NR_setresuid, p.uid, p.uid, p.uid);
  if (r < 0) child_fail(p, SetupStep::kUser, r);
  const bool ids_ok = sys(__NR_getuid) == p.uid && sys(__NR_geteuid) == p.uid &&
                      sys(__NR_getgid) == p.gid && sys(__NR_getegid) == p.gid;
  // Dropping from root must be irreversible.
  const bool regained = p.uid != 0 && sys(__NR_setresuid, 0, 0, 0) == 0;
  if (!ids_ok || regained) child_fail(p, SetupStep::kUserVerify, -kEperm);
}

[[noreturn]] void run_command(const Plan& p, long reaper) {
  // The command's own group, which trexd's signals go to: never the reaper,
  // which a SIGKILL would end, setting the tree loose. On a terminal its own
  // session too, whose controlling terminal the pty becomes, so that the
  // line discipline's Ctrl-C, Ctrl-Z and hang-up reach its foreground job.
  if (p.terminal) {
    if (long r = sys(__NR_setsid); r < 0) child_fail(p, SetupStep::kProcessGroup, r);
    if (long r = sys(__NR_ioctl, 0, TIOCSCTTY, 0); r < 0) child_fail(p, SetupStep::kStdio, r);
  } else {
    sys(__NR_setpgid, 0, 0);
  }
  apply_limits(p);  // before the user switch: only root may raise a hard limit
  if (p.umask >= 0) sys(__NR_umask, p.umask);
  switch_user(p);
  // The command dies with its reaper; set after the switch, which clears it.
  sys(__NR_prctl, PR_SET_PDEATHSIG, kSigKill);
  if (sys(__NR_getppid) != reaper) exit_now(126);
  if (long r = sys(__NR_chdir, long(p.cwd)); r < 0) child_fail(p, SetupStep::kChdir, r);
  const unsigned long none = 0;
  sys(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, long(&none), 0, 8);
  const long r = sys(__NR_execve, long(p.argv[0]), long(p.argv + 1), long(p.envp));
  child_fail(p, SetupStep::kExec, r);
}

// A plain fork, or (cgroup >= 0) a fork whose child starts in that cgroup.
long fork_now(int cgroup) {
  if (cgroup >= 0) {
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = kSigChld;
    args.cgroup = static_cast<unsigned long long>(cgroup);
    return sys(__NR_clone3, long(&args), sizeof args);
  }
#if defined(__x86_64__)
  return sys(__NR_fork);
#else
  return sys(__NR_clone, kSigChld, 0, 0, 0, 0);
#endif
}

// Calls fn(pid) for each child of `parent`'s main thread (CONFIG_PROC_CHILDREN).
template <class Fn>
void for_each_child(long parent, Fn fn) {
  char path[64] = "/proc/";
  char* w = path + 6;
  char digits[24];
  int nd = 0;
  for (long v = parent; nd == 0 || v > 0; v /= 10) digits[nd++] = char('0' + v % 10);
  const auto put_pid = [&] {
    for (int i = nd - 1; i >= 0; --i) *w++ = digits[i];
  };
  put_pid();
  for (const char* s = "/task/"; *s != '\0';) *w++ = *s++;
  put_pid();
  for (const char* s = "/children"; *s != '\0';) *w++ = *s++;
  *w = '\0';
  const long fd = sys(__NR_openat, AT_FDCWD, long(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[512];
  long pid = -1;
  for (long n; (n = sys(__NR_read, fd, long(buf), sizeof buf)) > 0;) {
    for (long i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = (pid < 0 ? 0 : pid * 10) + (buf[i] - '0');
      } else if (pid > 0) {
        fn(pid);
        pid = -1;
      }
    }
  }
  if (pid > 0) fn(pid);
  sys(__NR_close, fd);
}

struct Reaper {
  Plan plan;
  long self = 0;
  long main_pid = -1;
  bool exited = false;
  bool exit_told = false;
  int exit_status = 0;

  void report(ReaperEvent event, int value) {
    const ReaperRecord rec{static_cast<int>(event), value};
    write_all(plan.status, &rec, sizeof rec);
  }
  void note(long pid, int status) {
    if (pid != main_pid || exited) return;
    exited = true;
    exit_status = status;
  }
  // The exit, once, if it has not been told yet.
  void tell_exit() {
    if (!exited || exit_told) return;
    exit_told = true;
    report(ReaperEvent::kExited, exit_status);
  }
  // The end: the exit (if untold) and settled in one write, so that trexd
  // wakes once for both; then this process is done.
  [[noreturn]] void settle(int left) {
    ReaperRecord recs[2];
    int n = 0;
    if (exited && !exit_told) recs[n++] = {static_cast<int>(ReaperEvent::kExited), exit_status};
    recs[n++] = {static_cast<int>(ReaperEvent::kSettled), left};
    write_all(plan.status, recs, n * static_cast<long>(sizeof(ReaperRecord)));
    exit_now(0);
  }
  // Reaps what has ended; false once there are no children left at all.
  bool reap_ready() {
    for (;;) {
      int status = 0;
      const long pid = sys(__NR_wait4, -1, long(&status), WNOHANG, 0);
      if (pid > 0) {
        note(pid, status);
        continue;
      }
      return pid != -kEchild;
    }
  }
  // SIGKILL to every child; orphans of the killed come back to us as
  // children and get theirs on the next round, until none is left.
  [[noreturn]] void kill_all() {
    for (;;) {
      for_each_child(self, [](long pid) { sys(__NR_kill, pid, kSigKill); });
      int status = 0;
      const long pid = sys(__NR_wait4, -1, long(&status), 0, 0);
      if (pid == -kEchild) break;
      if (pid > 0) note(pid, status);
    }
    settle(0);
  }
  // linger: counts the processes left (breadth first) and leaves them to init.
  [[noreturn]] void release() {
    static long tree[kMaxTree];
    int count = 0;
    for_each_child(self, [&](long pid) {
      if (count < kMaxTree) tree[count++] = pid;
    });
    for (int i = 0; i < count; ++i) {
      for_each_child(tree[i], [&](long pid) {
        if (count < kMaxTree) tree[count++] = pid;
      });
    }
    settle(count);
  }
  // Acts on trexd's words; false on kill or end of file.
  bool read_control(bool& release_asked) {
    char buf[64];
    const long n = sys(__NR_read, plan.ctl, long(buf), sizeof buf);
    if (n <= 0) return false;
    for (long i = 0; i < n; ++i) {
      if (buf[i] == trex::exec::detail::kReaperRelease) {
        release_asked = true;
      } else if (buf[i] == trex::exec::detail::kReaperSignal && i + 1 < n) {
        // Only while the command is unreaped: its group id cannot be reused.
        if (!exited) sys(__NR_kill, -main_pid, static_cast<unsigned char>(buf[++i]));
      } else {
        return false;
      }
    }
    return true;
  }
  [[noreturn]] void serve();
};

void Reaper::serve() {
  // All signals stay blocked (trexd's group signals are for the command);
  // SIGCHLD is read from a signalfd.
  const unsigned long chld = 1UL << (kSigChld - 1);
  const long sfd = sys(__NR_signalfd4, -1, long(&chld), 8, SFD_NONBLOCK | SFD_CLOEXEC);
  bool release_asked = false;
  for (;;) {
    const bool children = reap_ready();
    if (exited && !children) settle(0);
    if (exited && release_asked) release();
    tell_exit();  // leftovers remain: trexd decides once their output ends
    pollfd fds[2] = {{plan.ctl, POLLIN, 0}, {static_cast<int>(sfd), POLLIN, 0}};
    // Without a signalfd (no fd left), look at the children every 10 ms.
    const __kernel_timespec tick{0, 10'000'000};
    const long r = sys(__NR_ppoll, long(fds), sfd >= 0 ? 2 : 1, sfd >= 0 ? 0 : long(&tick), 0, 8);
    if (r < 0 && r != -kEintr) kill_all();
    if (fds[1].revents != 0) {
      signalfd_siginfo info[8];
      while (sys(__NR_read, sfd, long(info), sizeof info) > 0) {
      }
    }
    if (fds[0].revents != 0 && !read_control(release_asked)) kill_all();
  }
}

bool parse(long argc, char** argv, char** envp, Plan& p) {
  if (argc < 13) return false;
  p.ctl = static_cast<int>(arg_num(argv[1]));
  p.report = static_cast<int>(arg_num(argv[2]));
  p.status = static_cast<int>(arg_num(argv[3]));
  p.cgroup = static_cast<int>(arg_num(argv[4]));
  p.umask = arg_num(argv[5]);
  p.uid = arg_num(argv[6]);
  p.gid = arg_num(argv[7]);
  p.groups = argv[8];
  p.limits = argv[9];
  p.cwd = argv[10];
  p.argv = argv + 11;
  p.envp = envp;
  const bool cgroup_ok = p.cgroup >= 0 || (argv[4][0] == '-' && argv[4][1] == '\0');
  return p.ctl >= 0 && p.report >= 0 && p.status >= 0 && cgroup_ok && (p.uid < 0 || p.gid >= 0);
}

}  // namespace

extern "C" [[noreturn]] void reaper_main(long* sp) {
  const long argc = sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  char** envp = argv + argc + 1;
  Reaper r;
  if (!parse(argc, argv, envp, r.plan)) exit_now(125);
  r.self = sys(__NR_getpid);
  winsize ws{};
  r.plan.terminal = sys(__NR_ioctl, 0, TIOCGWINSZ, long(&ws)) == 0;
  // trexd starts us with every signal blocked; make sure (see serve()).
  const unsigned long all = ~0UL;
  sys(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, long(&all), 0, 8);
  // The command must not inherit trexd's end of anything.
  const int inherited[] = {r.plan.ctl, r.plan.report, r.plan.status, r.plan.cgroup};
  for (const int fd : inherited) {
    if (fd >= 0) sys(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
  sys(__NR_prctl, PR_SET_CHILD_SUBREAPER, 1);
  const long pid = fork_now(r.plan.cgroup);
  if (pid == 0) run_command(r.plan, r.self);
  if (pid < 0) {
    // Never a command outside its cgroup: no fallback to a plain fork.
    const SetupStep step = r.plan.cgroup >= 0 ? SetupStep::kCgroup : SetupStep::kReaper;
    const SetupFailure f{static_cast<int>(step), static_cast<int>(-pid), 0};
    write_all(r.plan.report, &f, sizeof f);
    exit_now(126);
  }
  r.main_pid = pid;
  // As the child does, whoever runs first; a terminal command's setsid()
  // would fail once it leads a group.
  if (!r.plan.terminal) sys(__NR_setpgid, pid, 0);
  r.report(ReaperEvent::kStarted, static_cast<int>(pid));
  // trexd learns from the report pipe's end of file that the command runs,
  // and from the output pipes' end of file that the command's output ended:
  // the reaper holds none of them.
  sys(__NR_close, r.plan.report);
  if (r.plan.cgroup >= 0) sys(__NR_close, r.plan.cgroup);
  for (int fd = 0; fd <= 2; ++fd) sys(__NR_close, fd);
  r.serve();
}

#if defined(__x86_64__)
asm(".globl _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n call reaper_main\n");
#elif defined(__aarch64__)
asm(".globl _start\n_start:\n mov x0, sp\n bl reaper_main\n");
#endif

#include "trex/exec.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "exec/child_setup.hpp"
#include "exec/clone.hpp"
#include "exec/launcher.hpp"

namespace trex::exec {
namespace {

using detail::ForkMode;
using Clock = std::chrono::steady_clock;

struct Outcome {
  std::string out;
  std::string err;
  ExitStatus status;
};

Spec make_spec(std::vector<std::string> argv) {
  Spec spec;
  spec.program = argv[0].find('/') == 0 ? argv[0] : find_program(argv[0]).value_or(argv[0]);
  spec.argv = std::move(argv);
  spec.env = {"PATH=" + std::string(kCommandPath), "HOME=/", "LANG=C"};
  return spec;
}

Spec sh(const std::string& script) { return make_spec({"/bin/sh", "-c", script}); }

bool drain(Process& p, int fd, std::string& sink) {
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) sink.append(buf, static_cast<std::size_t>(n));
  if (n == 0 || (n < 0 && errno != EAGAIN)) {
    fd == p.stdout_fd() ? p.close_stdout() : p.close_stderr();
    return false;
  }
  return true;
}

// The session loop in miniature: poll every fd until both outputs end and the
// child has exited, feeding `input` to stdin and then closing it.
Outcome run(Process& p, std::string_view input = {}, bool close_stdin = true) {
  Outcome o;
  std::size_t sent = 0;
  std::optional<ExitStatus> status;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (p.stdout_fd() >= 0 || p.stderr_fd() >= 0 || !status) {
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "command did not finish";
      p.signal_group(SIGKILL);
      break;
    }
    if (close_stdin && sent == input.size() && p.stdin_fd() >= 0) p.close_stdin();
    pollfd fds[4] = {{p.stdout_fd(), POLLIN, 0},
                     {p.stderr_fd(), POLLIN, 0},
                     {p.stdin_fd(), POLLOUT, 0},
                     {p.pid_fd(), POLLIN, 0}};
    if (sent == input.size()) fds[2].fd = -1;
    ::poll(fds, 4, 100);
    if (fds[0].revents) drain(p, fds[0].fd, o.out);
    if (fds[1].revents) drain(p, fds[1].fd, o.err);
    if (fds[2].revents) {
      const ssize_t n = ::write(p.stdin_fd(), input.data() + sent, input.size() - sent);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) sent = input.size();
    }
    if (fds[3].revents || p.pid_fd() < 0) status = p.try_wait();
  }
  if (status) o.status = *status;
  return o;
}

// Waits (polling pid_fd) until `done` holds.
template <class Pred>
bool wait_events(Process& p, Pred done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    pollfd fd{p.pid_fd(), POLLIN, 0};
    ::poll(&fd, 1, 10);
    (void)p.try_wait();
  }
  return done();
}

std::string pid_dir(pid_t pid) { return "/proc/" + std::to_string(pid); }
bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Our child processes, in any state (a vfork child that just called _exit may
// not show as a zombie yet): a spawn that fails must not leave one behind.
std::set<pid_t> child_processes() {
  std::set<pid_t> out;
  DIR* proc = ::opendir("/proc");
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    if (rest >> state >> ppid && ppid == ::getpid()) {
      out.insert(std::stoi(e->d_name));
    }
  }
  if (proc) ::closedir(proc);
  return out;
}

// unit_exec_cgroup builds this file again with TREX_EXEC_TEST_CGROUP: the
// same cases on the cgroup path (prepare("auto"): each command started
// straight into a group of its own, no reaper), where one can be made.
#ifdef TREX_EXEC_TEST_CGROUP
constexpr bool kCgroupPath = true;
#else
constexpr bool kCgroupPath = false;
#endif

// The cgroup path without a reaper (with one only when this process is PID
// 1: the ctest unit_exec_cgroup_pid1 runs this binary so, in a PID namespace;
// and in sanitizer builds).
bool no_reaper() { return kCgroupPath && ::getpid() != 1 && !detail::kSanitized; }

class ExecTest : public ::testing::TestWithParam<ForkMode> {
 protected:
  void SetUp() override {
    if (!kCgroupPath) return;
    static const auto fence = prepare("auto");
    if (!fence) GTEST_SKIP() << fence.message();
    if (fence->cgroup.empty()) GTEST_SKIP() << "no cgroup here: " << fence->note;
  }
  Process spawn(const Spec& spec) {
    auto p = detail::spawn_with_mode(spec, GetParam());
    if (!p) ADD_FAILURE() << p.message();
    return std::move(p).value();
  }
  Outcome run_spec(const Spec& spec, std::string_view input = {}) {
    Process p = spawn(spec);
    return run(p, input);
  }
  // A spawn expected to fail; it must leave no child (zombie) behind.
  Result<Process> try_spawn(const Spec& spec) {
    const auto before = child_processes();
    auto p = detail::spawn_with_mode(spec, GetParam());
    EXPECT_EQ(child_processes(), before);
    return p;
  }
};

#ifndef TREX_EXEC_TEST_CGROUP
TEST(FindProgram, SearchesPathForExecutableRegularFiles) {
  const auto found = find_program("sh");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->front(), '/');
  EXPECT_TRUE(found->ends_with("/sh"));
  EXPECT_EQ(find_program("sh", "::/nonexistent::/bin:"), "/bin/sh");
  EXPECT_FALSE(find_program("bin/sh", "/"));  // a '/' is never searched
  EXPECT_FALSE(find_program("./sh", "/bin"));
  EXPECT_FALSE(find_program("", "/bin"));
  EXPECT_FALSE(find_program("no-such-program-trex"));
  EXPECT_FALSE(find_program("passwd", "/etc"));  // regular but not executable
  EXPECT_FALSE(find_program("bin", "/usr"));     // executable but a directory
}
#endif

TEST_P(ExecTest, CapturesStdoutAndStderrSeparately) {
  auto o = run_spec(sh("echo out; echo err >&2; echo out2"));
  EXPECT_EQ(o.out, "out\nout2\n");
  EXPECT_EQ(o.err, "err\n");
  EXPECT_FALSE(o.status.signaled);
  EXPECT_EQ(o.status.code, 0);
}

TEST_P(ExecTest, KeepsArgv0AndArguments) {
  Spec spec = make_spec({"sh", "-c", "echo \"$0|$1|$2\"", "zero", "a b", "*"});
  EXPECT_EQ(run_spec(spec).out, "zero|a b|*\n");
}

TEST_P(ExecTest, ReportsExitCodes) {
  for (int code : {0, 3, 255}) {
    auto o = run_spec(sh("exit " + std::to_string(code)));
    EXPECT_FALSE(o.status.signaled);
    EXPECT_EQ(o.status.code, code);
  }
}

TEST_P(ExecTest, DistinguishesSignalFromExitCode) {
  auto killed = run_spec(sh("kill -KILL $$"));
  EXPECT_TRUE(killed.status.signaled);
  EXPECT_EQ(killed.status.signal, SIGKILL);
  auto exited = run_spec(sh("exit 9"));
  EXPECT_FALSE(exited.status.signaled);
  EXPECT_EQ(exited.status.code, 9);
}

TEST_P(ExecTest, ParentFdsAreNonBlockingAndCloseOnExec) {
  Process p = spawn(sh("cat"));
  EXPECT_EQ(::getpgid(p.pid()), p.pid());  // its own process group
  for (int fd : {p.stdout_fd(), p.stderr_fd(), p.stdin_fd(), p.pid_fd()}) {
    ASSERT_GE(fd, 3);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << fd;
    if (fd != p.pid_fd()) {
      EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK) << fd;
    }
  }
  char c;
  EXPECT_EQ(::read(p.stdout_fd(), &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(run(p).status.code, 0);
  wait_events(p, [&] { return p.pid_fd() < 0; });
  EXPECT_EQ(p.pid_fd(), -1);
  auto again = p.try_wait();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, 0);
}

TEST_P(ExecTest, BothPipesFullDoNotDeadlock) {
  auto o = run_spec(sh("head -c 64M /dev/zero & head -c 64M /dev/zero >&2; wait"));
  EXPECT_EQ(o.out.size(), 64u << 20);
  EXPECT_EQ(o.err.size(), 64u << 20);
  EXPECT_EQ(o.status.code, 0);
}

TEST_P(ExecTest, ForwardsStdin) {
  std::string input(16u << 20, '\0');
  std::mt19937 rng(42);
  for (auto& ch : input) ch = static_cast<char>(rng());
  auto o = run_spec(make_spec({"cat"}), input);
  EXPECT_EQ(o.out.size(), input.size());
  EXPECT_TRUE(o.out == input) << "stdin came back altered";
}

TEST_P(ExecTest, CloseStdinGivesEof) {
  auto o = run_spec(sh("cat; echo done"), "abc");
  EXPECT_EQ(o.out, "abcdone\n");
}

TEST_P(ExecTest, ClosedStdinIsDevNull) {
  Spec spec = sh("cat; readlink /proc/self/fd/0");
  spec.stdin_open = false;
  Process p = spawn(spec);
  EXPECT_EQ(p.stdin_fd(), -1);
  EXPECT_EQ(run(p, {}, false).out, "/dev/null\n");
}

TEST_P(ExecTest, EnvironmentIsExactlySpecEnv) {
  Spec spec = make_spec({"/usr/bin/env"});
  spec.env = {"A=1", "B=two words", "PATH=/bin"};
  EXPECT_EQ(run_spec(spec).out, "A=1\nB=two words\nPATH=/bin\n");
}

TEST_P(ExecTest, AppliesCwdAndUmask) {
  Spec spec = sh("pwd; umask");
  spec.cwd = "/tmp";
  spec.umask = 027;
  EXPECT_EQ(run_spec(spec).out, "/tmp\n0027\n");
}

TEST_P(ExecTest, MissingCwdIsASpawnError) {
  Spec spec = sh("true");
  spec.cwd = "/nonexistent-trex";
  auto p = try_spawn(spec);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.message(), "cannot change directory to /nonexistent-trex: No such file or directory");
}

TEST_P(ExecTest, UnexecutableProgramIsASpawnError) {
  auto missing = try_spawn(make_spec({"/nope"}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), "cannot execute /nope: No such file or directory");
  auto not_exec = try_spawn(make_spec({"/etc/passwd"}));
  ASSERT_FALSE(not_exec);
  EXPECT_EQ(not_exec.message(), "cannot execute /etc/passwd: Permission denied");
}

TEST_P(ExecTest, MemoryLimitStopsAHog) {
  const std::string hog = "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}";
  Spec limited = sh(hog);
  limited.limits.memory = 64u << 20;
  auto o = run_spec(limited);
  EXPECT_TRUE(o.status.signaled || o.status.code != 0) << o.out;
  EXPECT_NE(o.out, "100000000\n");
  EXPECT_EQ(run_spec(sh(hog)).out, "100000000\n");  // the control run fits
}

TEST_P(ExecTest, OpenFilesLimit) {
  const std::string script =
      "ulimit -n; (exec 3</ 4</ 5</ 6</ 7</ 8</ 9</) 2>/dev/null && echo opened || echo refused";
  Spec limited = sh(script);
  limited.limits.open_files = 8;
  EXPECT_EQ(run_spec(limited).out, "8\nrefused\n");
  EXPECT_TRUE(run_spec(sh(script)).out.ends_with("\nopened\n"));
}

TEST_P(ExecTest, FileSizeLimitRaisesSigxfsz) {
  char dir[] = "/tmp/trex-exec-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  Spec spec = sh("exec head -c 10M /dev/zero > big");
  spec.cwd = dir;
  spec.limits.file_size = 1u << 20;
  auto o = run_spec(spec);
  EXPECT_TRUE(o.status.signaled);
  EXPECT_EQ(o.status.signal, SIGXFSZ);
  struct stat st {};
  const std::string file = std::string(dir) + "/big";
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  ::unlink(file.c_str());
  ::rmdir(dir);
}

TEST_P(ExecTest, ProcessesLimit) {
  // RLIMIT_NPROC never applies to root: as root, run the test as nobody.
  Spec spec = sh("sleep 1 & sleep 1 & sleep 1 & wait");
  if (::geteuid() == 0) spec.run_as = "nobody";
  spec.limits.processes = 2;
  auto o = run_spec(spec);
  EXPECT_NE(o.err.find("fork"), std::string::npos) << o.err;
}

TEST_P(ExecTest, ImpossibleLimitIsASpawnError) {
  Spec spec = sh("true");
  spec.limits.open_files = 1u << 30;  // above fs.nr_open: refused even for root
  auto p = try_spawn(spec);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.message(), "cannot set limit open_files: Operation not permitted");
}

// Reads lines of pids from the command's stdout until `n` arrived.
std::vector<pid_t> read_pids(Process& p, std::size_t n) {
  std::string out;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) < n &&
         Clock::now() < deadline) {
    pollfd fd{p.stdout_fd(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    drain(p, p.stdout_fd(), out);
  }
  std::istringstream in(out);
  std::vector<pid_t> pids;
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// Gone: no /proc entry (the reaper reaps what it kills), or a zombie of init.
bool gone_soon(pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    std::ifstream stat(pid_dir(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const auto paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Three ways out of a process group: background, double fork, new session.
constexpr const char* kEscapees =
    "sleep 100 & echo $!; (sleep 100 & echo $!) ; setsid sh -c 'echo $$; exec sleep 100' & "
    "sleep 0.2; ";

TEST_P(ExecTest, SignalGroupReachesTheGroupButNeverTheReaper) {
  Process p =
      spawn(sh("sleep 100 & echo $!; sleep 100 & echo $!; "
               "setsid sh -c 'echo $$; exec sleep 100 >/dev/null 2>&1' & wait"));
  auto pids = read_pids(p, 3);
  ASSERT_EQ(pids.size(), 3u);
  // Kill only once the third has left the group: before its setsid() the
  // group's SIGKILL would end it too, and the reaper would have nothing left.
  const pid_t escapee = pids.back();
  pids.pop_back();
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (::getsid(escapee) != escapee && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::getsid(escapee), escapee);
  p.signal_group(SIGKILL);
  auto o = run(p);
  EXPECT_TRUE(o.status.signaled);
  EXPECT_EQ(o.status.signal, SIGKILL);
  for (pid_t grandchild : pids) EXPECT_TRUE(gone_soon(grandchild)) << grandchild;
  // The setsid child lives on: the tree has not settled. (The reaper lived
  // through the SIGKILL and still owns it; on the cgroup path it is still in
  // the command's group.)
  EXPECT_FALSE(p.settled());
  EXPECT_TRUE(exists(pid_dir(kCgroupPath ? escapee : p.pid())));
}

TEST_P(ExecTest, EndTreeKillsEveryLeftoverAfterExit) {
  Process p = spawn(sh(std::string(kEscapees) + "exit 0"));
  const auto pids = read_pids(p, 3);
  ASSERT_EQ(pids.size(), 3u);
  ASSERT_TRUE(wait_events(p, [&] { return p.try_wait().has_value(); }));
  EXPECT_FALSE(p.settled());
  for (pid_t pid : pids) EXPECT_TRUE(exists(pid_dir(pid))) << pid;
  p.end_tree(false);
  ASSERT_TRUE(wait_events(p, [&] { return p.settled().has_value(); }));
  EXPECT_EQ(p.settled(), 0);
  EXPECT_EQ(p.pid_fd(), -1);
  for (pid_t pid : pids) EXPECT_TRUE(gone_soon(pid)) << pid;
  EXPECT_EQ(run(p).status.code, 0);  // and the output ends
}

// pid_fd() must wake the caller for the exit even when the command ended
// before spawn() returned (its record then arrives with the start record):
// a caller that polls it, as trexd does, would otherwise wait until the
// leftover child ends. The window is short, so the test tries many times.
TEST_P(ExecTest, PidFdWakesForAnExitThatCameDuringSpawn) {
  for (int i = 0; i < 100; ++i) {
    Process p = spawn(sh("sleep 100 </dev/null >/dev/null 2>&1 & exit 3"));
    pollfd fd{p.pid_fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&fd, 1, 10'000), 1) << "no wake-up for the exit, run " << i;
    ASSERT_TRUE(p.try_wait().has_value()) << "run " << i;
    EXPECT_EQ(p.try_wait()->code, 3);
    p.end_tree(false);
    ASSERT_TRUE(wait_events(p, [&] { return p.settled().has_value(); }));
  }
}

// The reaper exits once the tree has settled, maybe before the server has
// read that. A word to it then is an error (EPIPE), not a SIGPIPE that would
// end a caller that does not ignore the signal.
TEST_P(ExecTest, WordsToAReaperThatHasGoneRaiseNoSigpipe) {
  ::signal(SIGPIPE, SIG_DFL);
  Process p = spawn(sh("exit 5"));
  // The reaper (or the command, with none) has exited: its fds are closed.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(p.pid()), &info, WEXITED | WNOWAIT), 0);
  p.signal_group(SIGTERM);
  p.kill_group_now();
  ASSERT_TRUE(wait_events(p, [&] { return p.settled().has_value(); }));
  EXPECT_EQ(p.try_wait()->code, 5);
  EXPECT_EQ(p.settled(), 0);
}

TEST_P(ExecTest, LingerLeavesLeftoversRunningAndCountsThem) {
  Process p = spawn(sh(std::string(kEscapees) + "exit 0"));
  const auto pids = read_pids(p, 3);
  ASSERT_EQ(pids.size(), 3u);
  ASSERT_TRUE(wait_events(p, [&] { return p.try_wait().has_value(); }));
  p.end_tree(true);
  ASSERT_TRUE(wait_events(p, [&] { return p.settled().has_value(); }));
  EXPECT_EQ(p.settled(), 3);
  for (pid_t pid : pids) {
    EXPECT_TRUE(exists(pid_dir(pid))) << pid;
    ::kill(pid, SIGKILL);
  }
}

TEST_P(ExecTest, CommandRunsWithoutTerminalInAGroupOfItsOwn) {
  auto o = run_spec(sh("ps -o sid=,pgid=,tty= -p $$; echo $PPID"));
  std::istringstream in(o.out);
  pid_t sid = 0, pgid = 0, ppid = 0;
  std::string tty;
  in >> sid >> pgid >> tty >> ppid;
  EXPECT_EQ(tty, "?");
  EXPECT_NE(pgid, ppid);  // the command has its own group, not the reaper's
  EXPECT_NE(pgid, ::getpgid(0));
  if (kCgroupPath) {
    // No reaper in between, unless this process is PID 1.
    EXPECT_EQ(ppid == ::getpid(), no_reaper()) << ppid;
  }
  if (trex::exec::detail::has_terminal()) {
    // A new session, led by the reaper, or by the command without one.
    EXPECT_EQ(sid, no_reaper() ? pgid : ppid);
  } else {
    // No terminal to hand on: the server's session, without the autogroup
    // that a session per command costs (it_fence's pty test runs the other
    // branch through a real trexd).
    EXPECT_EQ(sid, ::getsid(0));
  }
}

TEST_P(ExecTest, DestructorKillsTheWholeTreeAndReaps) {
  pid_t pid = 0;
  std::vector<pid_t> pids;
  {
    Process p = spawn(sh(std::string(kEscapees) + "sleep 100"));
    pid = p.pid();
    pids = read_pids(p, 3);
    ASSERT_TRUE(exists(pid_dir(pid)));
  }
  EXPECT_FALSE(exists(pid_dir(pid)));  // neither running nor a zombie
  ASSERT_EQ(pids.size(), 3u);
  for (pid_t leftover : pids) EXPECT_TRUE(gone_soon(leftover)) << leftover;
}

TEST_P(ExecTest, StatusComesFromTheReaperEvenIfTheServerReapsCarelessly) {
  if (no_reaper()) GTEST_SKIP() << "no reaper on the cgroup path";
  ::signal(SIGCHLD, SIG_IGN);  // the kernel reaps by itself: a server bug
  Process p = spawn(make_spec({"sh", "-c", "sleep 0.2; exit 3"}));
  wait_events(p, [&] { return p.settled().has_value(); });
  ::signal(SIGCHLD, SIG_DFL);
  const auto status = p.try_wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 3);
  EXPECT_EQ(p.pid_fd(), -1);  // the session loop does not spin on it
}

TEST_P(ExecTest, NoFdLeaksIntoTheChild) {
  // Descriptors without close-on-exec, as a careless library would leave them.
  int leaky[2];
  ASSERT_EQ(::pipe(leaky), 0);
  const int devnull = ::open("/dev/null", O_RDONLY);
  auto check = [&] {
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(run_spec(make_spec({"ls", "/proc/self/fd"})).out, "0\n1\n2\n3\n");
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) threads.emplace_back(check);
  for (auto& t : threads) t.join();
  ::close(leaky[0]);
  ::close(leaky[1]);
  ::close(devnull);
}

TEST_P(ExecTest, ChildStartsWithDefaultSignals) {
  ::signal(SIGPIPE, SIG_IGN);  // as trexd does
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  EXPECT_EQ(run_spec(sh("grep -E '^Sig(Blk|Ign)' /proc/self/status")).out,
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  auto piped = run_spec(sh("yes | head -c 1"));
  EXPECT_EQ(piped.out, "y");
  EXPECT_EQ(piped.err, "");  // yes died of SIGPIPE rather than reporting EPIPE
  auto self = run_spec(sh("kill -PIPE $$; exit 7"));
  EXPECT_TRUE(self.status.signaled);
  EXPECT_EQ(self.status.signal, SIGPIPE);
  ::pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
}

TEST_P(ExecTest, RunAsDropsToTheUserAndItsGroups) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "run_as needs root (tests run as uid " << ::geteuid() << ")";
  Spec spec = make_spec({"id"});
  spec.run_as = "nobody";
  EXPECT_EQ(run_spec(spec).out, "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n");
  spec = sh("id -u; id -G; cat /proc/self/status | grep -E '^(Uid|Gid|Groups)'");
  spec.run_as = "nobody";
  EXPECT_EQ(run_spec(spec).out,
            "65534\n65534\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
            "Groups:\t65534 \n");
}

TEST_P(ExecTest, RunAsUnknownUserFailsAtSpawn) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "run_as needs root (tests run as uid " << ::geteuid() << ")";
  Spec spec = make_spec({"id"});
  spec.run_as = "no-such-user-trex";
  auto p = try_spawn(spec);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.message(), "cannot switch to user no-such-user-trex: no such user");
}

// Not a check, hence disabled: prints the cost of spawn + wait of /bin/true
// (1000 times) in this fork mode. TREX_SPAWN_BALLAST_MB=N first touches N MiB
// of heap, as a busy server would have. Run with
// --gtest_also_run_disabled_tests --gtest_filter='*SpawnCost*'.
TEST_P(ExecTest, DISABLED_SpawnCost) {
  const char* ballast_mb = std::getenv("TREX_SPAWN_BALLAST_MB");
  std::string ballast(ballast_mb ? std::stoul(ballast_mb) << 20 : 0, 'x');
  const auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(run_spec(make_spec({"/bin/true"})).status.code, 0);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  std::printf("[ spawn cost ] %s, %zu MiB ballast: %.1f us per spawn+wait of /bin/true\n",
              GetParam() == ForkMode::kFork ? "fork" : "vfork", ballast.size() >> 20,
              static_cast<double>(us.count()) / 1000.0);
}

std::string mode_name(const ::testing::TestParamInfo<ForkMode>& mode) {
  return mode.param == ForkMode::kFork ? "Fork" : "Vfork";
}

#ifdef TREX_EXEC_TEST_CGROUP
INSTANTIATE_TEST_SUITE_P(Cgroup, ExecTest, ::testing::Values(ForkMode::kFork, ForkMode::kVfork),
                         mode_name);
#else
INSTANTIATE_TEST_SUITE_P(Modes, ExecTest, ::testing::Values(ForkMode::kFork, ForkMode::kVfork),
                         mode_name);
#endif

}  // namespace
}  // namespace trex::exec

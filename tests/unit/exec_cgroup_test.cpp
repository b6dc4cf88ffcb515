// unit_exec's cases on the cgroup path: every command started straight into
// a cgroup of its own, with no reaper (see ExecTest in exec_test.cpp).
#define TREX_EXEC_TEST_CGROUP 1
#include "unit/exec_test.cpp"

#include <map>
#include <tuple>

#include "exec/cgroup.hpp"
#include "util/unique_file.hpp"

namespace trex::exec {
namespace {

// The watcher of this process (found by the pipe it reads on its fd 0, whose
// write end this process holds) and that write end; {-1, -1} when none.
std::pair<pid_t, int> find_watcher() {
  std::map<ino_t, int> pipes;  // this process's pipes by inode
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) pipes.emplace(st.st_ino, fd);
  }
  const util::UniqueDir proc(::opendir("/proc"));
  while (const dirent* e = proc ? ::readdir(proc.get()) : nullptr) {
    const std::string dir = std::string("/proc/") + e->d_name;
    std::ifstream comm(dir + "/comm");
    std::string name;
    struct stat st {};
    if (!std::getline(comm, name) || name != "trexd-watch") continue;
    if (::stat((dir + "/fd/0").c_str(), &st) != 0) continue;
    if (const auto it = pipes.find(st.st_ino); it != pipes.end()) {
      return {std::atoi(e->d_name), it->second};
    }
  }
  return {-1, -1};
}

// A caller that does not ignore SIGPIPE must survive naming a lingered group
// to a watcher that was killed: the write fails with EPIPE.
TEST(CgroupWatcher, ALingeredGroupNamedToAKilledWatcherRaisesNoSigpipe) {
  static const auto fence = prepare("auto");
  if (!fence || fence->cgroup.empty()) GTEST_SKIP() << "no cgroup here";
  if (fence->note.find("no watcher") != std::string::npos) GTEST_SKIP() << fence->note;
  // The watcher names itself once it runs, which may be after prepare()
  // returned: look for a while.
  auto [pid, fd] = find_watcher();
  for (int i = 0; i < 500 && pid <= 0; ++i) {
    ::usleep(10'000);
    std::tie(pid, fd) = find_watcher();
  }
  ASSERT_GT(pid, 0) << "the watcher was not found";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // Its read end is closed once it is dead: the write end reports an error.
  bool closed = false;
  for (int i = 0; i < 3000 && !closed; ++i) {
    pollfd p{fd, 0, 0};
    closed = ::poll(&p, 1, 10) == 1 && (p.revents & POLLERR) != 0;
  }
  ASSERT_TRUE(closed);
  ::signal(SIGPIPE, SIG_DFL);
  detail::spare_from_watcher("trexd-1-7");  // dies of SIGPIPE without the fix
  pollfd p{fd, 0, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);  // still here, and the pipe still broken
}

}  // namespace
}  // namespace trex::exec

// The cgroup v2 path of the fence (issue 13): where trexd's own group lets it
// make groups (as root on this machine: /sys/fs/cgroup/unified), every
// command runs in a group of its own, with everything it starts; the
// command's end writes cgroup.kill and removes the group. The fence's
// scenarios (support/fence.hpp) run here on that path, each also checking
// that the escapees were in the command's group and that the group is gone;
// a process moved into the group from outside the command's tree (which only
// cgroup.kill can reach) must die with the command. Skipped, saying why,
// where this process cannot make a group in its own cgroup.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "support/fence.hpp"
#include "support/harness.hpp"

namespace trex::testing {
namespace {

unsigned long pid_namespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<unsigned long>(st.st_ino) : 0;
}

// The start of a trexd's command group names (trexd runs in the test's
// PID namespace).
std::string group_prefix(pid_t pid) {
  return "trexd-" + std::to_string(pid) + "." + std::to_string(pid_namespace()) + "-";
}

// This process's cgroup v2 directory, found independently of trexd's code:
// the "0::" line of /proc/self/cgroup below the cgroup2 mount (whose root
// must be "/"). Empty, with `why`, where there is none or it is not writable.
std::string own_group_dir(std::string& why) {
  std::istringstream cg(read_file("/proc/self/cgroup"));
  std::string line, group;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) == 0) group = line.substr(3);
  }
  std::istringstream mi(read_file("/proc/self/mountinfo"));
  std::string mount;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    const auto dash = std::find(w.begin(), w.end(), "-");
    if (dash != w.end() && dash + 1 != w.end() && dash[1] == "cgroup2" && w[3] == "/") mount = w[4];
  }
  if (group.empty() || mount.empty()) {
    why = "no cgroup v2 hierarchy mounted here";
    return "";
  }
  const std::string dir = mount + (group == "/" ? "" : group);
  const std::string probe = dir + "/it-cgroup-probe-" + std::to_string(::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0) {
    why = "cannot make a group in " + dir + ": " + std::strerror(errno);
    return "";
  }
  const bool kill = ::access((probe + "/cgroup.kill").c_str(), F_OK) == 0;
  ::rmdir(probe.c_str());
  if (kill) return dir;
  why = dir + "'s groups have no cgroup.kill";
  return "";
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class CgroupFenceTest : public FenceTest {
 protected:
  void SetUp() override {
    std::string why;
    base_ = own_group_dir(why);
    if (base_.empty()) GTEST_SKIP() << "no writable cgroup v2 group here: " << why;
    FenceTest::SetUp();
    cgroup_ = "auto";
  }
  // The directory of a group named by a "0::PATH" line.
  std::string dir_of(const std::string& line) const {
    const auto slash = line.find_last_of('/');
    const auto name = line.substr(slash + 1, line.find_last_not_of("\n") - slash);
    return base_ + "/" + name;
  }
  // The escapees' group: the same for all three, trexd's own child group.
  std::string escapees_group() {
    std::istringstream in(read_file(cgs_));
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    EXPECT_EQ(lines.size(), 3u);
    if (lines.empty()) return "";
    for (const auto& l : lines) EXPECT_EQ(l, lines[0]);
    EXPECT_NE(lines[0].find("/trexd-"), std::string::npos) << lines[0];
    return dir_of(lines[0]);
  }
  void expect_group_removed(const Trexd& server) {
    const std::string group = escapees_group();
    EXPECT_TRUE(eventually([&] { return !exists(group); })) << group << " is still there";
    EXPECT_NE(server.server_log().find("fenced by a cgroup each under " + base_ + " "),
              std::string::npos)
        << server.server_log();
  }

  std::string base_;
};

TEST_F(CgroupFenceTest, ChildrenEndWhenTheCommandExits) { expect_group_removed(*command_exits()); }
TEST_F(CgroupFenceTest, ChildrenEndAtTheTimeLimit) { expect_group_removed(*time_limit()); }
TEST_F(CgroupFenceTest, ChildrenEndWhenTheClientIsKilled) {
  expect_group_removed(*client_killed());
}
TEST_F(CgroupFenceTest, ChildrenEndWhenTheServerStops) { expect_group_removed(*server_stops()); }

// A trexd killed outright cannot end its commands: its watcher does. The
// command's leader goes with trexd (parent-death signal); what it started is
// only in its group.
TEST_F(CgroupFenceTest, ChildrenEndWhenTheServerIsKilledOutright) {
  auto server = start();
  Child client(
      server->trex_argv("client", {"-c", escapees(pids_, cgs_) + "echo ready; sleep 300"}));
  ASSERT_TRUE(client.wait_for_output("ready"));
  server->signal(SIGKILL);
  server->wait();
  client.wait();
  expect_all_gone();
  expect_group_removed(*server);
}

// Lingering is on purpose: a trexd killed outright leaves those processes be.
TEST_F(CgroupFenceTest, LingeredProcessesOutliveAServerKilledOutright) {
  auto server = linger();
  const std::string group = escapees_group();
  // A command group of the same trexd that is not lingering, for contrast.
  Child client(server->trex_argv("client", {"-c", "echo ready; sleep 300"}));
  ASSERT_TRUE(client.wait_for_output("ready"));
  server->signal(SIGKILL);
  server->wait();
  client.wait();
  // Once the watcher has removed the other group, it has acted.
  const std::string prefix = group_prefix(server->pid());
  EXPECT_TRUE(eventually([&] {
    for (const auto& e : std::filesystem::directory_iterator(base_)) {
      const std::string n = e.path().filename();
      if (n.rfind(prefix, 0) == 0 && base_ + "/" + n != group) return false;
    }
    return true;
  }));
  for (pid_t p : read_pids(pids_)) EXPECT_FALSE(gone(p)) << "pid " << p << " did not linger";
  for (pid_t p : read_pids(pids_)) ::kill(p, SIGKILL);
  for (pid_t p : read_pids(pids_)) EXPECT_TRUE(eventually([&] { return gone(p); }));
  // Emptied, the group of a dead trexd is also swept by any trexd that starts
  // meanwhile (another test's, with ctest -j): gone either way.
  EXPECT_TRUE(eventually([&] { return ::rmdir(group.c_str()) == 0 || errno == ENOENT; }));
}

// A lingering group stays with its processes; once they are gone, the next
// command's start removes it.
TEST_F(CgroupFenceTest, LingerKeepsTheGroupUntilItsProcessesEnd) {
  auto server = linger();
  const std::string group = escapees_group();
  const std::string procs = read_file(group + "/cgroup.procs");
  for (pid_t p : read_pids(pids_)) {
    EXPECT_NE(procs.find(std::to_string(p) + "\n"), std::string::npos) << p << " not in " << procs;
    ::kill(p, SIGKILL);
  }
  for (pid_t p : read_pids(pids_)) EXPECT_TRUE(eventually([&] { return gone(p); }));
  EXPECT_TRUE(exists(group));
  EXPECT_EQ(server->trex("client", {"true"}).status, 0);
  EXPECT_FALSE(exists(group)) << group << " was not removed by the next command";
}

// No reaper between trexd and the command: the group is the fence. A
// group its command left empty is taken by the next command (a mkdir and an
// rmdir fewer); a stopping trexd removes the groups it kept.
TEST_F(CgroupFenceTest, AGroupLeftEmptyIsReusedAndRemovedAtStop) {
  if (under_asan() || under_tsan()) {
    GTEST_SKIP() << "sanitizer builds keep the reaper on the cgroup path (exec/clone.hpp)";
  }
  auto server = start();
  const std::vector<std::string> cmd = {"-c", "echo $PPID; grep ^0:: /proc/self/cgroup"};
  const auto first = server->trex("client", cmd);
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out.substr(0, first.out.find('\n')), std::to_string(server->pid()));
  const std::string group = dir_of(first.out.substr(first.out.find('\n') + 1));
  EXPECT_NE(group.find("/" + group_prefix(server->pid())), std::string::npos);
  EXPECT_TRUE(exists(group));
  EXPECT_EQ(read_file(group + "/cgroup.procs"), "");
  const auto second = server->trex("client", cmd);
  EXPECT_EQ(second.out, first.out) << "the second command got a group of its own";
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait(), 0);
  EXPECT_FALSE(exists(group)) << group << " outlived trexd";
}

// Groups a killed trexd left behind are removed by the next one to start,
// when empty; a live process's are not, nor those of a trexd in another PID
// namespace (a container's), where the PID says nothing: a trexd as PID 1 of
// a namespace of its own used to remove every live trexd's idle groups, and
// their next commands failed ("cannot open the command's cgroup").
TEST_F(CgroupFenceTest, GroupsOfAGoneTrexdAreRemovedAtStart) {
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  const std::string left = base_ + "/" + group_prefix(dead) + "7";
  const std::string live = base_ + "/" + group_prefix(::getpid()) + "7";
  const std::string other_ns =
      base_ + "/trexd-" + std::to_string(dead) + "." + std::to_string(pid_namespace() + 1) + "-7";
  const std::string unknown = base_ + "/trexd-" + std::to_string(dead) + "-7";
  for (const auto& g : {left, live, other_ns, unknown}) {
    ASSERT_EQ(::mkdir(g.c_str(), 0755), 0) << g << ": " << std::strerror(errno);
  }
  auto server = start();
  EXPECT_FALSE(exists(left));
  EXPECT_TRUE(exists(live));
  EXPECT_TRUE(exists(other_ns));
  EXPECT_TRUE(exists(unknown));
  for (const auto& g : {left, live, other_ns, unknown}) ::rmdir(g.c_str());
}

// A process that is not in the command's tree (the test moves a child of its
// own into the command's group) is out of the reaper's reach: only
// cgroup.kill ends it, at the command's exit or at its time limit.
class OutsiderTest : public CgroupFenceTest {
 protected:
  // Runs `-c '...; TAIL'` once the outsider is in the command's group.
  void outsider_ends(const std::string& tail, const std::vector<std::string>& flags, int status) {
    auto server = start();
    const std::string cg = dir_.file("cg"), go = dir_.file("go");
    const std::string cmd = "grep ^0:: /proc/self/cgroup >" + cg + "; echo ready; while [ ! -e " +
                            go + " ]; do sleep 0.05; done; " + tail;
    Child client(server->trex_argv("client", {"-c", cmd}, flags));
    ASSERT_TRUE(client.wait_for_output("ready"));
    const std::string group = dir_of(read_file(cg));
    const pid_t outsider = ::fork();
    if (outsider == 0) {
      ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(outsider, 0);
    write_file(group + "/cgroup.procs", std::to_string(outsider));
    EXPECT_EQ(read_file("/proc/" + std::to_string(outsider) + "/cgroup").find(read_file(cg)) !=
                  std::string::npos,
              true)
        << "the outsider did not join " << group;
    write_file(go, "");
    EXPECT_EQ(client.wait().status, status);
    int raw = 0;
    const bool ended = eventually([&] { return ::waitpid(outsider, &raw, WNOHANG) == outsider; });
    if (!ended) {
      ::kill(outsider, SIGKILL);
      ::waitpid(outsider, &raw, 0);
    }
    EXPECT_TRUE(ended) << "the outsider outlived the command";
    EXPECT_TRUE(WIFSIGNALED(raw) && WTERMSIG(raw) == SIGKILL) << raw;
    // Kept while the outsider died: removed when the next command starts.
    EXPECT_EQ(server->trex("client", {"true"}).status, 0);
    EXPECT_FALSE(exists(group)) << group;
  }
};

TEST_F(OutsiderTest, EndsAtTheCommandsExit) { outsider_ends("echo done", {}, 0); }
TEST_F(OutsiderTest, EndsAtTheTimeLimit) { outsider_ends("sleep 300", {"--timeout", "2"}, 124); }

// memory.max and pids.max carry the rule's limits, per command, where the
// group offers those controllers (this machine's offers neither: skipped).
class LimitsTest : public CgroupFenceTest {
 protected:
  void SetUp() override {
    CgroupFenceTest::SetUp();
    if (IsSkipped()) return;
    write_file(dir_.file("policy.toml"),
               read_file(dir_.file("policy.toml")) +
                   "[[rule]]\nname = \"small\"\ncn = [\"small\"]\nallow = [\"*\"]\nshell = true\n"
                   "limits = { processes = 4, memory = \"64M\" }\n");
  }
  // Skips unless trexd can give `controller` to its commands' groups.
  bool offered(const std::string& controller) {
    if (read_file(base_ + "/cgroup.controllers").find(controller) == std::string::npos) {
      return false;
    }
    const int fd = ::open((base_ + "/cgroup.subtree_control").c_str(), O_WRONLY | O_CLOEXEC);
    const std::string word = "+" + controller;
    const bool ok = fd >= 0 && ::write(fd, word.data(), word.size()) > 0;
    if (fd >= 0) ::close(fd);
    return ok;
  }
  // The command's group file NAME, printed by the command itself.
  std::string cat(const std::string& name) const {
    return "cat " + base_ + "/$(basename $(sed -n 's/^0:://p' /proc/self/cgroup))/" + name + "; ";
  }
};

TEST_F(LimitsTest, PidsMaxCountsProcessesPerCommand) {
  if (!offered("pids")) GTEST_SKIP() << base_ << " cannot give the pids controller to its groups";
  pki_->client("small");
  auto server = start();
  const auto r = server->trex(
      "small",
      {"-c", cat("pids.max") + "ulimit -u; for i in 1 2 3 4 5 6; do sleep 2 & done; wait"});
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "4") << r.out;
  EXPECT_NE(r.out.find("unlimited"), std::string::npos) << "RLIMIT_NPROC was set: " << r.out;
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.err;
}

TEST_F(LimitsTest, MemoryMaxReplacesTheAddressSpaceLimit) {
  if (!offered("memory"))
    GTEST_SKIP() << base_ << " cannot give the memory controller to its groups";
  pki_->client("small");
  auto server = start();
  const auto r = server->trex("small", {"-c", cat("memory.max") + "ulimit -v"});
  EXPECT_EQ(r.out, "67108864\nunlimited\n") << r.err;
}

}  // namespace
}  // namespace trex::testing

// The fence scenarios of issue 13, shared by it_fence (the per-command
// reaper alone, --cgroup off) and it_cgroup (a cgroup per command): an
// authenticated user's command starts background, double-forked and setsid
// children that must end with the command at its exit, its time limit, the
// client's disappearance and the server's stop, unless the rule grants linger.
// Processes are found through the pid files the commands write.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {

// True when `pid` no longer runs (no /proc entry, or a zombie nobody reaps).
inline bool gone(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

inline std::vector<pid_t> read_pids(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<pid_t> out;
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

// A shell command that starts three escapees, each writing its cgroup v2
// line to `cgs` and then its pid to `pids` before it sleeps: a background
// job, a double fork and a setsid.
inline std::string escapees(const std::string& pids, const std::string& cgs) {
  const std::string sleeper =
      "grep ^0:: /proc/self/cgroup >>" + cgs + "; echo \\$\\$ >>" + pids + "; exec sleep 300";
  return "sh -c \"" + sleeper +
         "\" & "  // background
         "(sh -c \"" +
         sleeper +
         "\" &) ; "  // double fork
         "setsid sh -c \"" +
         sleeper +
         "\" </dev/null & "  // new session
         "while [ $(wc -l 2>/dev/null <" +
         pids + " || echo 0) -lt 3 ]; do sleep 0.05; done; ";
}

// Runs each scenario against a trexd started with --cgroup cgroup_.
class FenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<Pki>(dir_.file("pki"));
    write_file(dir_.file("policy.toml"),
               "[[rule]]\nname = \"fenced\"\ncn = [\"client\"]\nallow = [\"*\"]\nshell = true\n"
               "[[rule]]\nname = \"jobs\"\ncn = [\"jobs\"]\nallow = [\"*\"]\nshell = true\n"
               "linger = true\n");
    pki_->client("jobs");
  }
  void TearDown() override {
    // Whatever a failed test left behind.
    for (pid_t p : read_pids(pids_)) ::kill(p, SIGKILL);
  }
  std::unique_ptr<Trexd> start(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(),
                 {"--policy", dir_.file("policy.toml"), "--kill-grace", "1", "--cgroup", cgroup_});
    return std::make_unique<Trexd>(*pki_, dir_.path(), extra);
  }
  void expect_all_gone() {
    const auto pids = read_pids(pids_);
    EXPECT_EQ(pids.size(), 3u);
    for (pid_t p : pids) EXPECT_TRUE(eventually([&] { return gone(p); })) << "pid " << p;
  }

  std::unique_ptr<Trexd> command_exits() {
    auto server = start();
    const auto r = server->trex("client", {"-c", escapees(pids_, cgs_) + "echo started"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "started\n");
    expect_all_gone();
    const auto end = audit_records(server->audit_path(), "exec_end");
    EXPECT_EQ(end.size(), 1u);
    if (!end.empty()) {
      EXPECT_EQ(end[0]["lingered"], 0);
    }
    EXPECT_TRUE(server->children().empty());
    return server;
  }
  std::unique_ptr<Trexd> time_limit() {
    auto server = start();
    const auto r =
        server->trex("client", {"-c", escapees(pids_, cgs_) + "sleep 300"}, {}, {"--timeout", "2"});
    EXPECT_EQ(r.status, 124) << r.err;
    expect_all_gone();
    return server;
  }
  std::unique_ptr<Trexd> client_killed() {
    auto server = start();
    Child client(
        server->trex_argv("client", {"-c", escapees(pids_, cgs_) + "echo ready; sleep 300"}));
    EXPECT_TRUE(client.wait_for_output("ready"));
    client.kill(SIGKILL);
    client.wait();
    expect_all_gone();
    return server;
  }
  std::unique_ptr<Trexd> server_stops() {
    auto server = start();
    Child client(
        server->trex_argv("client", {"-c", escapees(pids_, cgs_) + "echo ready; sleep 300"}));
    EXPECT_TRUE(client.wait_for_output("ready"));
    server->signal(SIGTERM);
    EXPECT_EQ(server->wait(), 0);
    client.wait();
    expect_all_gone();
    return server;
  }
  std::unique_ptr<Trexd> linger() {
    auto server = start();
    const auto r = server->trex("jobs", {"-c", escapees(pids_, cgs_) + "echo started"});
    EXPECT_EQ(r.status, 0) << r.err;
    const auto pids = read_pids(pids_);
    EXPECT_EQ(pids.size(), 3u);
    for (pid_t p : pids) EXPECT_FALSE(gone(p)) << "pid " << p;
    const auto end = audit_records(server->audit_path(), "exec_end");
    EXPECT_EQ(end.size(), 1u);
    if (!end.empty()) {
      EXPECT_EQ(end[0]["lingered"], 3);  // the three sleeps (each exec'd its shell)
    }
    EXPECT_TRUE(server->children().empty());
    return server;
  }

  TempDir dir_;
  std::unique_ptr<Pki> pki_;
  std::string pids_ = dir_.file("pids");
  std::string cgs_ = dir_.file("cgroups");
  std::string cgroup_ = "off";
};

}  // namespace trex::testing

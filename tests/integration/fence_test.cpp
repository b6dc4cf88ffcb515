// The fence around every command (issue 13), played by an authenticated user
// who tries to get past it: the operator's terminal (/dev/tty, TIOCSTI) when
// trexd runs under one; background, double-forked and setsid children that
// must end with the command (at its exit, its time limit, the client's
// disappearance and the server's stop) unless the rule grants linger.
// 127.0.0.1 only; processes are found through pid files the commands write.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/fence.hpp"
#include "support/harness.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The fallback fence (--cgroup off: the per-command reaper alone); it_cgroup
// runs the same scenarios on the cgroup path.
TEST_F(FenceTest, ChildrenEndWhenTheCommandExits) { command_exits(); }
TEST_F(FenceTest, ChildrenEndAtTheTimeLimit) { time_limit(); }
TEST_F(FenceTest, ChildrenEndWhenTheClientIsKilled) { client_killed(); }
TEST_F(FenceTest, ChildrenEndWhenTheServerStops) { server_stops(); }
TEST_F(FenceTest, LingerLeavesChildrenRunningAndCountsThem) {
  auto server = linger();
  EXPECT_NE(server->server_log().find("fenced by a reaper each, without a cgroup: --cgroup off"),
            std::string::npos)
      << server->server_log();
}

// A command that reads nothing, fed from /dev/zero: the client must meet
// back-pressure and trexd's memory stays bounded (it grew by ~1 GB when the
// TLS read-ahead bypassed the stdin cap).
TEST_F(FenceTest, StdinFloodIntoACommandThatReadsNothingStaysBounded) {
  auto server = start();
  std::string line;
  for (const auto& a : server->trex_argv("client", {"sleep", "6"})) line += "'" + a + "' ";
  RunOptions opts;
  opts.timeout = scaled(60s);
  const long before = server->rss_kib();
  long peak = before;
  std::thread sampler([&] {
    const auto end = Clock::now() + 6s;
    while (Clock::now() < end) {
      peak = std::max(peak, server->rss_kib());
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto r = run({"sh", "-c", line + "</dev/zero"}, opts);
  sampler.join();
  EXPECT_EQ(r.status, 0) << r.err;
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine keeps freed blocks (up to 256 MiB) from reuse, so RSS
  // counts churn too; the 16 MiB bound holds for the release build. An
  // unbounded buffer (it grew ~1 GB) still fails here.
  constexpr long kBoundKib = 64 * 1024;
#elif defined(__SANITIZE_THREAD__)
  // Under TSan a session alone, stdin from /dev/null, grows trexd's RSS by
  // ~87 MiB (per-thread state, shadow memory several times what is touched);
  // with the flood it was 93-97 MiB. An unbounded buffer (~1 GB) still fails.
  constexpr long kBoundKib = 160 * 1024;
#else
  constexpr long kBoundKib = 16 * 1024;
#endif
  EXPECT_LT(peak - before, kBoundKib) << "RSS grew from " << before << " to " << peak << " KiB";
  const auto end = audit_records(server->audit_path(), "exec_end");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_LT(end[0]["stdin_bytes"].get<long>(), 4L << 20);  // a pipe's worth, not a flood
}

// The operator's terminal: trexd under a pseudo-terminal made by script(1),
// a command that tries /dev/tty and TIOCSTI into it.
TEST_F(FenceTest, CommandsGetNoControllingTerminal) {
  const std::string cmd =
      "python3 -c '\n"
      "import fcntl, os, termios\n"
      "print(\"tty:\", os.ttyname(0) if os.isatty(0) else None)\n"
      "try:\n"
      "    fd = os.open(\"/dev/tty\", os.O_RDWR)\n"
      "except OSError as e:\n"
      "    print(\"open /dev/tty:\", e.strerror)\n"
      "else:\n"
      "    try:\n"
      "        fcntl.ioctl(fd, termios.TIOCSTI, b\"#\")\n"
      "        print(\"TIOCSTI: injected\")\n"
      "    except OSError as e:\n"
      "        print(\"TIOCSTI:\", e.strerror)\n"
      "'";
  Trexd reference(*pki_, dir_.path(), {"--policy", dir_.file("policy.toml")});
  // The same server, under script: its stdin, stdout and stderr are a pty
  // that is its controlling terminal.
  TempDir tty_dir;
  const std::string trexd_cmd =
      std::string("exec ") + TREXD_BIN + " --listen 127.0.0.1:0" + " --ca " + pki_->ca() +
      " --cert " + pki_->cert("server") + " --key " + pki_->key("server") + " --crl " +
      pki_->crl() + " --log-dir " + tty_dir.path() + " --policy " + dir_.file("policy.toml");
  RunOptions keep_open;
  keep_open.close_stdin = false;
  Child script({"script", "-qfec", trexd_cmd, "/dev/null"}, keep_open);
  std::string address;
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = read_file(tty_dir.file("server.log"));
        const auto at = log.find("listening on ");
        if (at == std::string::npos) return false;
        address = log.substr(at + 13, log.find_first_of(" \n", at + 13) - at - 13);
        return true;
      },
      20s));
  auto argv = reference.trex_argv("client", {"-c", cmd});
  for (auto& a : argv) {
    if (a == reference.address()) a = address;
  }
  const auto r = run(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("tty: None"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open /dev/tty: No such device or address"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("injected"), std::string::npos) << r.out;
  const auto start = audit_records(tty_dir.file("audit.jsonl"), "server_start");
  ASSERT_EQ(start.size(), 1u);
  // trexd does not keep the terminal as its stdin either (it reads nothing
  // from it): /dev/null.
  const auto pid = start[0]["pid"].get<pid_t>();
  char stdin_target[256] = {};
  const std::string fd0 = "/proc/" + std::to_string(pid) + "/fd/0";
  ASSERT_GT(::readlink(fd0.c_str(), stdin_target, sizeof(stdin_target) - 1), 0);
  EXPECT_STREQ(stdin_target, "/dev/null");
  ::kill(pid, SIGTERM);
  script.wait();
}

}  // namespace
}  // namespace trex::testing

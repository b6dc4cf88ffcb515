// Commands on a pseudo-terminal (Spec::terminal): the pty is their stdio and
// controlling terminal, in a session of their own.
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <sstream>
#include <string>

#include "trex/exec.hpp"

namespace trex::exec {
namespace {

using Clock = std::chrono::steady_clock;

Spec on_terminal(const std::string& script, unsigned short rows = 24, unsigned short cols = 80) {
  Spec spec;
  spec.program = "/bin/sh";
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=" + std::string(kCommandPath), "HOME=/", "LANG=C", "TERM=dumb"};
  spec.terminal = Terminal{rows, cols};
  return spec;
}

struct Screen {
  std::string text;
  std::optional<ExitStatus> status;
};

// Reads the master until the terminal hangs up (EIO) and the command has
// exited; `typed` is written once `after` shows on the screen.
Screen run(Process& p, const std::string& after = {}, const std::string& typed = {},
           const std::optional<Terminal>& resize = {}) {
  Screen s;
  bool sent = typed.empty();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while ((p.stdout_fd() >= 0 || !s.status) && Clock::now() < deadline) {
    pollfd fds[2] = {{p.stdout_fd(), POLLIN, 0}, {p.pid_fd(), POLLIN, 0}};
    ::poll(fds, 2, 100);
    char buf[4096];
    const ssize_t n = fds[0].revents != 0 ? ::read(p.stdout_fd(), buf, sizeof buf) : -1;
    if (n > 0) s.text.append(buf, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && fds[0].revents != 0)) p.close_stdout();
    if (!sent && s.text.find(after) != std::string::npos) {
      if (resize) {
        EXPECT_TRUE(p.set_window(*resize).ok());
      }
      EXPECT_EQ(::write(p.stdin_fd(), typed.data(), typed.size()),
                static_cast<ssize_t>(typed.size()));
      sent = true;
    }
    if (fds[1].revents != 0 || p.pid_fd() < 0) s.status = p.try_wait();
  }
  EXPECT_LT(Clock::now(), deadline) << s.text;
  return s;
}

TEST(ExecTerminal, TheCommandLeadsASessionOnItsOwnPty) {
  auto p = Process::spawn(on_terminal("tty; ps -o sid=,tty= -p $$; echo pid $$; stty size"));
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_LT(p->stderr_fd(), 0);
  const Screen s = run(*p);
  EXPECT_NE(s.text.find("/dev/pts/"), std::string::npos) << s.text;
  EXPECT_NE(s.text.find("24 80"), std::string::npos) << s.text;
  // ps: the session id is the shell's own pid, with a pts as its terminal.
  std::istringstream in(s.text.substr(s.text.find('\n') + 1));
  std::string sid, tty, word, pid;
  in >> sid >> tty >> word >> pid;
  EXPECT_EQ(sid, pid) << s.text;
  EXPECT_EQ(tty.rfind("pts/", 0), 0U) << s.text;
  ASSERT_TRUE(s.status.has_value());
  EXPECT_EQ(s.status->code, 0);
}

TEST(ExecTerminal, KeystrokesReachTheLineDiscipline) {
  // Ctrl-C typed on the terminal interrupts the foreground job: no signal
  // from trexd, only the byte.
  auto p = Process::spawn(on_terminal("echo ready; sleep 30; echo survived"));
  ASSERT_TRUE(p.ok()) << p.message();
  const Screen s = run(*p, "ready", "\x03");
  ASSERT_TRUE(s.status.has_value());
  EXPECT_TRUE(s.status->signaled) << s.text;
  EXPECT_EQ(s.status->signal, SIGINT);
  EXPECT_EQ(s.text.find("survived"), std::string::npos);
}

TEST(ExecTerminal, AResizeReachesTheCommand) {
  auto p = Process::spawn(
      on_terminal("trap 'stty size; exit 0' WINCH; echo ready; sleep 30 & wait", 10, 40));
  ASSERT_TRUE(p.ok()) << p.message();
  const Screen s = run(*p, "ready", " ", Terminal{33, 111});
  EXPECT_NE(s.text.find("33 111"), std::string::npos) << s.text;
}

TEST(ExecTerminal, InputIsEchoedAndRead) {
  auto p = Process::spawn(on_terminal("echo ready; read line; echo \"got [$line]\""));
  ASSERT_TRUE(p.ok()) << p.message();
  const Screen s = run(*p, "ready", "hello\r");
  EXPECT_NE(s.text.find("got [hello]"), std::string::npos) << s.text;
}

}  // namespace
}  // namespace trex::exec

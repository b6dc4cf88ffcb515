// Ctrl-C at every moment of a command's life: typed at the prompt, right
// after Enter (before the server has started the command), as it starts,
// and while it writes output; through a terminal in interactive mode and as
// SIGINT to a single-command trex. Each must end the command at once (or
// cancel it before it starts) and leave the session usable. The commands
// sleep 300 s: an interrupt that is lost shows as a run far past the waits.
#include <signal.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"
#include "support/pty.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kPrompt = "trex 127.0.0.1$ ";

class Interrupt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    dir_ = new TempDir();
    server_ = new Trexd(*pki_, dir_->path(), {"--kill-grace", "1"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete pki_;
    delete pki_tmp_;
  }
  static std::size_t count(const std::string& event) {
    return audit_records(server_->audit_path(), event).size();
  }
  // Every command the server ran has ended: none is left sleeping.
  static bool all_ended() { return count("exec_start") == count("exec_end"); }
  static void interrupt_line(Pty& t, const std::string& line, const std::function<void()>& when);

  static TempDir *pki_tmp_, *dir_;
  static Pki* pki_;
  static Trexd* server_;
};

TempDir* Interrupt::pki_tmp_ = nullptr;
TempDir* Interrupt::dir_ = nullptr;
Pki* Interrupt::pki_ = nullptr;
Trexd* Interrupt::server_ = nullptr;

// Runs `line` and presses Ctrl-C once `when` returns: the prompt must come
// back, the command having ended with 130 or, when the terminal dropped the
// typed-ahead line with the Ctrl-C (as it does for any program not yet
// reading it), never started.
void Interrupt::interrupt_line(Pty& t, const std::string& line, const std::function<void()>& when) {
  const auto starts = count("exec_start");
  const std::size_t mark = t.out().size();
  t.send(line + "\r");
  when();
  t.send("\x03");
  ASSERT_TRUE(t.expect(kPrompt, mark, 20s)) << t.out();
  ASSERT_TRUE(eventually(all_ended, 20s));
  if (count("exec_start") > starts) {
    EXPECT_NE(t.out().find("[exit 130]", mark), std::string::npos) << t.out();
  }
}

TEST_F(Interrupt, CtrlCThroughATerminalAtEveryMomentOfACommand) {
  Pty t(server_->trex_argv("client", {}, {"-T"}));  // line mode, not a login shell
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.expect(kPrompt, 0)) << t.out();

  // At the prompt: the line is dropped, the session stays.
  std::size_t mark = t.out().size();
  t.send("echo never");
  ASSERT_TRUE(t.expect("echo never", mark)) << t.out();
  t.send("\x03");
  ASSERT_TRUE(t.expect(kPrompt, mark + 1)) << t.out();

  // Right after Enter, before the server can have started it, and at
  // growing delays across its start.
  for (const auto delay : {0ms, 1ms, 3ms, 10ms, 30ms, 100ms}) {
    SCOPED_TRACE("delay " + std::to_string(delay.count()) + " ms");
    const std::size_t before = t.out().size();
    interrupt_line(t, "sleep 300", [&] {
      ASSERT_TRUE(t.expect("sleep 300\r\n", before)) << t.out();
      std::this_thread::sleep_for(delay);
    });
  }
  // As soon as the server has recorded its start.
  const auto starts = count("exec_start");
  interrupt_line(t, "sleep 300", [&] {
    ASSERT_TRUE(eventually([&] { return count("exec_start") > starts; }, 20s));
  });
  // While it writes output.
  mark = t.out().size();
  interrupt_line(t, "while :; do echo tick; sleep 0.05; done",
                 [&] { ASSERT_TRUE(t.expect("tick\r\n", mark)) << t.out(); });

  EXPECT_TRUE(eventually(all_ended, 20s));
  mark = t.out().size();
  t.send("echo still here\r");
  ASSERT_TRUE(t.expect("\nstill here\r\n", mark)) << t.out();
  EXPECT_EQ(t.out().find("\nnever\r\n"), std::string::npos) << t.out();  // not run
  t.send("exit\r");
  EXPECT_EQ(t.wait(), 0) << t.out();
}

TEST_F(Interrupt, SigintToASingleCommandAtSeveralPoints) {
  const auto argv = server_->trex_argv("client", {"-c", "echo up; sleep 300"}, {"-n"});
  // From before the connection is made to well after the command started.
  for (const auto delay : {0ms, 5ms, 20ms, 50ms, 100ms, 300ms, 1000ms}) {
    SCOPED_TRACE("delay " + std::to_string(delay.count()) + " ms");
    Child c(argv);
    std::this_thread::sleep_for(delay);
    c.kill(SIGINT);
    const auto r = c.wait(30s);
    EXPECT_FALSE(r.timed_out) << "the interrupt was lost";
    EXPECT_EQ(r.status, 130) << r.err;
  }
  // Once its output has arrived.
  Child c(argv);
  ASSERT_TRUE(c.wait_for_output("up\n"));
  c.kill(SIGINT);
  const auto r = c.wait(30s);
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_TRUE(eventually(all_ended, 20s));
}

}  // namespace
}  // namespace trex::testing

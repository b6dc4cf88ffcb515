// Private to the server: the command loop behind run_command (command.hpp),
// one per running command, on its session's thread. Its terminal part (tty
// and window frames, the recording) is in command_tty.cpp, the rest in
// command.cpp.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/command.hpp"
#include "util/sha256.hpp"

namespace trex::server {

class CommandLoop {
 public:
  using Clock = std::chrono::steady_clock;
  CommandLoop(Channel& ch, exec::Process& p, const CommandLimits& l)
      : ch_(ch), proc_(p), lim_(l), start_(Clock::now()), deadline_(start_ + l.timeout) {}
  CommandOutcome run();

 private:
  bool finished() const {
    return status_ && proc_.stdout_fd() < 0 && proc_.stderr_fd() < 0 && proc_.settled();
  }
  void end_tree() { proc_.end_tree(lim_.linger && !kill_at_); }
  void escalate(const char* why);
  void learn_status();
  void on_frames();
  // A terminal's frames and recording (command_tty.cpp).
  bool on_terminal_frame(const proto::Frame& f);
  bool record(bool input, std::string_view bytes);
  void recording_failed(const std::string& why);
  ssize_t read_recorded(int fd, std::size_t max, std::string_view* data);
  void protocol_failure(const std::string& what);
  void on_socket_readable();
  void on_session_ended();
  void pump_pipe(bool is_stdout);
  std::size_t pump_pipe_once(bool is_stdout);  // bytes read
  void pump_stdin();
  void fail_session(SessionEnd why);
  void deliver_signals();
  int poll_timeout_ms() const;
  void check_deadlines();
  struct Round;
  Round watch() const;       // what to poll for this round
  void serve(const Round&);  // act on what poll found
  CommandOutcome outcome();

  Channel& ch_;
  exec::Process& proc_;
  const CommandLimits& lim_;
  CommandOutcome out_;
  Clock::time_point start_, deadline_;
  std::optional<Clock::time_point> kill_at_;  // SIGKILL after TERM
  std::optional<Clock::time_point> stop_at_;  // server stopping: TERM then
  std::optional<Clock::time_point> linger_until_;
  std::vector<int> held_signals_;  // from the client, not yet delivered
  Clock::time_point held_since_;
  std::optional<exec::ExitStatus> status_;
  bool session_ok_ = true;
  bool hard_stopped_ = false;
  bool truncated_ = false;
  bool stdin_eof_ = false;
  std::string stdin_buf_;
  std::size_t stdin_off_ = 0;
  std::string tty_buf_;  // a terminal's output, read before it is recorded and sent
  util::Sha256 sha_out_, sha_err_;
};

}  // namespace trex::server

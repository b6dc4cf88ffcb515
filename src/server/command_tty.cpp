// The command loop's terminal part: keystrokes and window sizes from the
// client, the screen to it, and the session recording in between, which
// fails closed (see CommandLimits).
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "server/command_loop.hpp"

namespace trex::server {

// A terminal's keystrokes and window size; false for other frames.
bool CommandLoop::on_terminal_frame(const proto::Frame& f) {
  if (f.type == proto::FrameType::kTty) {
    // With record_input, keystrokes reach the command only once recorded.
    if (proc_.stdin_fd() >= 0 && (!lim_.record_input || record(true, f.payload))) {
      stdin_buf_.append(f.payload);
    }
    return true;
  }
  if (f.type != proto::FrameType::kWindow) return false;
  auto size = proto::decode_window(f.payload);
  if (!size) {
    protocol_failure(size.message());
    return true;
  }
  if (out_.recording_error) return true;  // hung up: no terminal to resize
  (void)proc_.set_window(
      {static_cast<unsigned short>(size->rows), static_cast<unsigned short>(size->cols)});
  // The recording coalesces a flood of these (see RecordingLimits).
  if (lim_.recording != nullptr) {
    if (auto s = lim_.recording->resize(size->cols, size->rows); !s) recording_failed(s.message());
  }
  return true;
}

// Whether `bytes` are in the recording (true when there is none).
bool CommandLoop::record(bool input, std::string_view bytes) {
  if (lim_.recording == nullptr) return true;
  if (out_.recording_error) return false;
  auto s = input ? lim_.recording->input(bytes) : lim_.recording->output(bytes);
  if (!s) recording_failed(s.message());
  return s.ok();
}

// Fails closed: a recording that cannot be written ends the command, and
// from then on nothing passes either way: the terminal is hung up.
void CommandLoop::recording_failed(const std::string& why) {
  out_.recording_error = lim_.recording->full() ? why + " (max_recording)" : why;
  proc_.close_stdout();
  escalate("recording");
}

// A terminal's output is recorded before it is queued for the client: what
// the recording cannot hold never reaches them. Returns what read(2) did;
// `data` is empty when the bytes were not recorded (and so not sent).
ssize_t CommandLoop::read_recorded(int fd, std::size_t max, std::string_view* data) {
  tty_buf_.resize(std::min(max, proto::kMaxPayload));
  ssize_t n;
  do {
    n = ::read(fd, tty_buf_.data(), tty_buf_.size());
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  const std::string_view read(tty_buf_.data(), static_cast<std::size_t>(n));
  if (record(false, read)) {
    ch_.send(proto::FrameType::kTty, read);
    *data = read;
  }
  return n;
}

}  // namespace trex::server

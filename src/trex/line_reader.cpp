#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <editline/readline.h>

#include "common.hpp"

namespace trex::trex_cli {

namespace {

ssize_t read_byte(unsigned char& c) {
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, &c, 1)) < 0 && errno == EINTR) {
  }
  return n;
}

// libedit's key reader: one character (a Unicode code point), or -1 to end
// the line edit. It waits on the terminal and the interrupt pipe together,
// so a Ctrl-C is seen even when it came while libedit was busy redrawing,
// which its own signal handling would swallow.
int read_key(FILE*) {
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents != 0) return -1;
    unsigned char c = 0;
    if (read_byte(c) <= 0) return -1;
    if (c < 0xC0 || c > 0xF4) return c;
    // A UTF-8 sequence: its bytes arrive together from the terminal.
    const int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    int cp = c & (0x3F >> (len - 1));
    for (int i = 1; i < len; ++i) {
      unsigned char b = 0;
      if (read_byte(b) <= 0 || (b & 0xC0) != 0x80) return 0xFFFD;
      cp = (cp << 6) | (b & 0x3F);
    }
    return cp;
  }
}

}  // namespace

LineReader::LineReader(std::string prompt)
    : prompt_(std::move(prompt)), tty_(isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0) {
  if (!tty_) return;
  std::setlocale(LC_CTYPE, "");  // so that libedit takes the terminal's UTF-8
  // Before using_history(), which initialises libedit with them.
  rl_catch_signals = 0;  // our handler stays; read_key reacts to its pipe
  rl_getc_function = read_key;
  using_history();
}

LineReader::~LineReader() = default;

std::optional<std::string> LineReader::next() {
  for (;;) {
    // Marked first, then drained: an interrupt from here on counts as typed
    // at the prompt; one from before (after the last command ended) is dropped.
    set_at_prompt(true);
    (void)take_prompt_interrupt();
    drain_interrupts();
    auto line = tty_ ? edit() : plain();
    set_at_prompt(false);
    const bool hit = take_prompt_interrupt();
    if (line) return line;  // a pending interrupt came after Enter: the command's
    if (!tty_) {
      interrupted_ = hit;
      return std::nullopt;
    }
    std::fputs("\n", stdout);
    std::fflush(stdout);
    // Ctrl-C made libedit give up the line: a fresh prompt, as a shell does.
    if (!hit) return std::nullopt;
  }
}

std::optional<std::string> LineReader::edit() {
  char* raw = readline(prompt_.c_str());
  if (raw == nullptr) return std::nullopt;
  std::string line(raw);
  std::free(raw);
  if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
  return line;
}

std::optional<std::string> LineReader::plain() {
  for (;;) {
    if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (eof_) {
      if (buf_.empty()) return std::nullopt;
      return std::exchange(buf_, std::string());
    }
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (fds[1].revents != 0) return std::nullopt;  // next() sees the interrupt
    char chunk[4096];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof_ = true;
    } else {
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
}

}  // namespace trex::trex_cli

// A program run on a pseudo-terminal for tests: what a person types goes in
// (Ctrl-C as "\x03" reaches it as SIGINT through the terminal), the screen
// comes out. Used from the test's thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {

// `argv` as one sh command line, each word in single quotes.
std::string shell_words(const std::vector<std::string>& argv);

class Pty {
 public:
  // TERM and the window size the program finds on its terminal.
  explicit Pty(const std::vector<std::string>& argv, const std::string& term = "dumb",
               unsigned short rows = 24, unsigned short cols = 80);
  ~Pty();
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;
  bool ok() const { return pid_ > 0 && master_ >= 0; }
  pid_t pid() const { return pid_; }
  void send(const std::string& s);
  // Resizes the terminal: its foreground process group gets SIGWINCH.
  void resize(unsigned short rows, unsigned short cols);
  // Reads until `needle` appears after `from` in the output seen so far.
  bool expect(const std::string& needle, std::size_t from, std::chrono::milliseconds timeout = 15s);
  // The exit status, or -1 when it does not end in time.
  int wait(std::chrono::milliseconds timeout = 10s);
  const std::string& out() const { return out_; }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool reaped_ = false;
  std::string out_;
};

}  // namespace trex::testing

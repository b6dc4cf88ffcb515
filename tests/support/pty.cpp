#include "support/pty.hpp"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace trex::testing {

std::string shell_words(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += out.empty() ? "'" : " '";
    for (const char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += "'";
  }
  return out;
}

using Clock = std::chrono::steady_clock;

Pty::Pty(const std::vector<std::string>& argv, const std::string& term, unsigned short rows,
         unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  pid_ = forkpty(&master_, nullptr, nullptr, &ws);
  if (pid_ == 0) {
    setenv("TERM", term.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Pty::~Pty() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) ::close(master_);
}

void Pty::resize(unsigned short rows, unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  ::ioctl(master_, TIOCSWINSZ, &ws);
}

void Pty::send(const std::string& s) {
  [[maybe_unused]] auto n = ::write(master_, s.data(), s.size());
}

bool Pty::expect(const std::string& needle, std::size_t from, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  while (out_.find(needle, from) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(master_, buf, sizeof(buf));
    if (n <= 0) return out_.find(needle, from) != std::string::npos;
    out_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

int Pty::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  while (Clock::now() < deadline) {
    char buf[4096];
    while (::read(master_, buf, sizeof(buf)) > 0) {
    }
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped_ = true;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace trex::testing

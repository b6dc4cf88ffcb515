// Ctrl-C in a fan-out. The first lists the hosts still running; the second
// forwards SIGINT to their commands and starts no more hosts; a third makes
// trex give up on them at once. Each running host has its own interrupt
// pipe, which its Session reads as in the single-host case; the main thread
// watches the SIGINT self-pipe and writes to those. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "util/unique_fd.hpp"

namespace trex::trex_cli {

class FanOutInterrupts {
 public:
  static constexpr int kCancelled = -2;

  explicit FanOutInterrupts(const std::vector<std::string>& hosts) : hosts_(hosts) {}
  // A worker, before it connects to hosts_[host]: the read end of the host's
  // interrupt pipe (-1: none could be made), or kCancelled when the second
  // Ctrl-C came before this host started.
  int enter(std::size_t host);
  // The host is done: its pipe is closed.
  void leave(std::size_t host);
  // The main thread: acts on each Ctrl-C until `done()` (polled 10 times a second).
  void watch(int sigint_fd, const std::function<bool()>& done);
  int count() const { return count_.load(); }

 private:
  struct Pipe {
    util::UniqueFd read_fd, write_fd;
  };
  void on_interrupt();
  const std::vector<std::string>& hosts_;
  std::mutex mu_;
  std::map<std::size_t, Pipe> running_;  // by the host's place in hosts_
  std::atomic<int> count_{0};
};

}  // namespace trex::trex_cli

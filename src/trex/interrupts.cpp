#include "interrupts.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>

namespace trex::trex_cli {
namespace {

// At most this many names in the list of running hosts.
constexpr std::size_t kListed = 20;

}  // namespace

int FanOutInterrupts::enter(std::size_t host) {
  std::lock_guard lock(mu_);
  if (count_.load() >= 2) return kCancelled;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;  // runs on, without Ctrl-C
  running_[host] = Pipe{util::UniqueFd(fds[0]), util::UniqueFd(fds[1])};
  return fds[0];
}

void FanOutInterrupts::leave(std::size_t host) {
  std::lock_guard lock(mu_);
  const auto at = running_.find(host);
  if (at == running_.end()) return;
  running_.erase(at);
}

void FanOutInterrupts::watch(int sigint_fd, const std::function<bool()>& done) {
  while (!done()) {
    pollfd p{sigint_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char bytes[64];
    const ssize_t n = ::read(sigint_fd, bytes, sizeof(bytes));
    for (ssize_t i = 0; i < n; ++i) on_interrupt();
  }
}

void FanOutInterrupts::on_interrupt() {
  std::lock_guard lock(mu_);
  const int nth = ++count_;
  std::string names;
  std::size_t listed = 0;
  for (const auto& [host, pipe] : running_) {
    if (nth >= 2) {
      // The host's Session forwards SIGINT on the first byte and gives up on
      // the second, as for one host.
      const char b = 1;
      [[maybe_unused]] auto w = ::write(pipe.write_fd.get(), &b, 1);
    }
    if (listed++ < kListed) names += (names.empty() ? "" : ", ") + hosts_[host];
  }
  if (running_.size() > kListed)
    names += " and " + std::to_string(running_.size() - kListed) + " more";
  const std::string what = std::to_string(running_.size()) + " of " + std::to_string(hosts_.size());
  if (nth == 1) {
    std::fprintf(stderr, "trex: still running on %s hosts: %s (Ctrl-C again interrupts them)\n",
                 what.c_str(), names.c_str());
  } else if (nth == 2) {
    std::fprintf(stderr,
                 "trex: interrupting the commands on %s hosts, starting no more (Ctrl-C again "
                 "gives up on them)\n",
                 what.c_str());
  } else {
    std::fprintf(stderr, "trex: giving up on %s hosts: %s\n", what.c_str(), names.c_str());
  }
}

}  // namespace trex::trex_cli

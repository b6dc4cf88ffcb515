// Private: what every session shares with the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/spdlog.h>

#include "trex/audit.hpp"
#include "trex/channel.hpp"
#include "trex/config.hpp"
#include "trex/policy.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::server {

struct State {
  config::ServerConfig config;
  audit::Writer& audit;
  std::shared_ptr<spdlog::logger> log;
  util::UniqueFd stop_fd;       // eventfd: readable once stopping (drain)
  util::UniqueFd hard_stop_fd;  // eventfd: readable on the second stop (kill now)
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_conn{1};

  std::shared_ptr<tls::Context> tls() const {
    std::lock_guard lock(mu);
    return tls_;
  }
  std::shared_ptr<const policy::Policy> policy() const {
    std::lock_guard lock(mu);
    return policy_;
  }
  void set_tls(std::shared_ptr<tls::Context> c) {
    std::lock_guard lock(mu);
    tls_ = std::move(c);
  }
  void set_policy(std::shared_ptr<const policy::Policy> p) {
    std::lock_guard lock(mu);
    policy_ = std::move(p);
  }

  State(config::ServerConfig c, audit::Writer& a, std::shared_ptr<spdlog::logger> l)
      : config(std::move(c)), audit(a), log(std::move(l)) {}

 private:
  mutable std::mutex mu;
  std::shared_ptr<tls::Context> tls_;
  std::shared_ptr<const policy::Policy> policy_;
};

// Serves an authenticated session over `channel` until it ends.
void serve_session(State& state, Channel channel, tls::PeerIdentity id, const std::string& peer,
                   std::uint64_t conn);
// Serves one accepted connection start to finish (handshake included).
void serve_connection(State& state, int fd, const std::string& peer, std::uint64_t conn);
// Tells a connection beyond the pool that the server is busy, and closes it.
void refuse_busy(State& state, int fd, const std::string& peer);

}  // namespace trex::server

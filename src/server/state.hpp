// Private: what every session shares with the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/spdlog.h>

#include "server/live.hpp"
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
  LiveSessions live;  // for a reload to end sessions it no longer accepts

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

// An authenticated connection on its way to a session slot.
struct Admission {
  tls::Connection conn;
  std::string peer;  // "a.b.c.d:port"
  std::uint64_t id;  // the connection's number (`conn` in the audit trail)
};

// Serves an authenticated session over `channel` until it ends; `handshake`
// is the context that verified the peer.
void serve_session(State& state, Channel channel, tls::PeerIdentity id, const std::string& peer,
                   std::uint64_t conn, const tls::Context* handshake);
// Serves an authenticated connection's session start to finish.
void serve_admitted(State& state, Admission a);
// Tells an authenticated client that every session slot is taken, and
// closes (its refusal was recorded by the handshake stage).
void refuse_busy(State& state, Admission a);

}  // namespace trex::server

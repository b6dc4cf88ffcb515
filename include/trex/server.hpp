// trexd's server: a listening socket, a handshake stage (one thread carries
// every TLS handshake in a poll loop, bounded overall and per address), a
// fixed pool of session threads (each owns one authenticated connection to
// its close), a busy path for clients beyond the pool, SIGHUP-style reload
// and a draining stop. run() is called from one thread; stop() and reload()
// may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "trex/audit.hpp"
#include "trex/config.hpp"
#include "trex/policy.hpp"
#include "trex/result.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace spdlog {
class logger;
}

namespace trex::server {

struct State;

// The policy trexd runs with: config.policy's file, allow-all when
// config.allow_all, else an error saying that a policy is missing. Start-up,
// reload, --check-config and --explain all read the policy through this.
Result<policy::Policy> load_policy(const config::ServerConfig& config);

class Server {
 public:
  Server(config::ServerConfig config, std::shared_ptr<tls::Context> tls,
         std::shared_ptr<const policy::Policy> policy, audit::Writer& audit,
         std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; fails naming the address and errno's text.
  Status listen();
  // "127.0.0.1:7443" once listening (the real port when 0 was asked).
  std::string address() const;
  // Serves until stop(); returns once every session has ended.
  void run();
  // First call: stop accepting and drain (commands get --kill-grace).
  // Second call: kill running commands now.
  void stop();
  // Re-reads the CRL, certificate, key and policy; a bad file keeps the old
  // state. Audited as `reload` records.
  void reload();

 private:
  std::unique_ptr<State> state_;
  util::UniqueFd listen_fd_;
  std::string address_;
  std::string setup_error_;  // what the constructor could not do, for listen()
};

}  // namespace trex::server

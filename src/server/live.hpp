// Private: the sessions that are open now, so that a reload can end those
// whose certificate the new TLS settings no longer accept (revoked by a new
// CRL, expired, their CA dropped).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::server {

struct State;

// One open session, registered for its life (see Registration).
class LiveSession {
 public:
  LiveSession(const tls::PeerIdentity& peer, std::uint64_t conn);
  // Readable once the session must end (level-triggered: never read).
  int ended_fd() const { return ended_fd_.get(); }
  // Why it must end ("certificate revoked"), once ended_fd is readable.
  std::optional<std::string> why() const;
  // The error frame's words for the client.
  static std::string message(const std::string& why);

 private:
  friend class LiveSessions;
  void end(std::string why);
  const tls::PeerIdentity& peer_;
  std::uint64_t conn_;
  util::UniqueFd ended_fd_;
  mutable std::mutex mu_;
  std::optional<std::string> why_;
};

class LiveSessions {
 public:
  // Ends every registered session that `ctx` would refuse. Call after the
  // new context is in place for new handshakes.
  void recheck_all(State& st, const tls::Context& ctx);

  // Registers `s` for as long as it lives. A session whose handshake used
  // an older context than the current one is checked at once (a reload may
  // have passed over it during its handshake).
  class Registration {
   public:
    Registration(State& st, LiveSession& s, const tls::Context* handshake_ctx);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    State& st_;
    LiveSession& s_;
  };

 private:
  void check(State& st, LiveSession& s, const tls::Context& ctx);
  std::mutex mu_;
  std::vector<LiveSession*> sessions_;
};

}  // namespace trex::server

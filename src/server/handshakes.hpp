// Private: trexd's handshake stage. One thread accepts connections and
// carries every TLS handshake in one poll loop, so a client that sends
// nothing holds a descriptor, never a session slot or a thread. Bounded: at
// most kMaxPending handshakes, kMaxPendingPerAddress from one address; a
// newcomer beyond either bound drops the oldest (its address's own first).
// Each handshake ends authenticated (offered to a session slot) or refused,
// and every refusal reaches the audit trail through a RefusalLimiter.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "server/refusals.hpp"
#include "server/state.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::server {

inline constexpr std::size_t kMaxPending = 256;
inline constexpr std::size_t kMaxPendingPerAddress = 32;
// auth_fail records one address may write per window before they are counted.
inline constexpr std::size_t kRefusalBurst = 10;
inline constexpr std::chrono::seconds kRefusalWindow{60};

struct PeerAddress {
  std::string address;  // "a.b.c.d" or "v6" (IPv4-mapped written as IPv4)
  std::string text;     // "a.b.c.d:port" or "[v6]:port"
};
PeerAddress peer_of(const sockaddr_storage& ss);

class HandshakeStage {
 public:
  // Takes the connection (moving from it) when a session slot is free.
  using TakeSlot = std::function<bool(Admission&)>;
  // Told "server busy" elsewhere: the refusal is already recorded.
  using TurnAway = std::function<void(Admission)>;
  HandshakeStage(State& st, int listen_fd, TakeSlot take_slot, TurnAway turn_away);
  // Serves until the server stops; then refuses what is still pending and
  // writes every summary still open.
  void run();

 private:
  struct Pending {
    tls::ServerHandshake hs;
    PeerAddress peer;
    std::uint64_t conn;
    std::chrono::steady_clock::time_point deadline;
    short events = 0;
  };
  struct Lingering {
    util::UniqueFd fd;
    std::chrono::steady_clock::time_point deadline;
  };
  int wait_ms(std::chrono::steady_clock::time_point now) const;
  void accept_new();
  void make_room(const std::string& address);
  void finish(Pending p);
  void serve_ready(const std::vector<pollfd>& fds);
  void expire(std::chrono::steady_clock::time_point now);
  void linger(util::UniqueFd fd);
  // Logs and records `fail` (`how`: "handshake failed", "dropped", ...), or
  // only counts it once its address is past the rate.
  void refuse(const audit::AuthFail& fail, const std::string& address, const std::string& how,
              const std::string& detail = {});
  void flush_summaries(bool all);
  void shut_down();

  State& st_;
  int listen_fd_;
  TakeSlot take_slot_;
  TurnAway turn_away_;
  RefusalLimiter limiter_{kRefusalBurst, kRefusalWindow};
  std::vector<Pending> pending_;
  std::vector<Lingering> lingering_;
  std::chrono::steady_clock::time_point paused_until_{};
};

}  // namespace trex::server

#include "server/handshakes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "trex/host.hpp"

namespace trex::server {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kMaxLingering = 256;
constexpr auto kLinger = 500ms;  // for a refusal's alert to arrive before the reset
constexpr auto kAcceptPause = 100ms;
constexpr int kAcceptsPerRound = 64;

audit::AuthFail record_for(const tls::HandshakeError& e, std::uint64_t conn,
                           const std::string& peer) {
  audit::AuthFail fail{conn, peer, e.reason(), std::nullopt, std::nullopt, std::nullopt};
  if (e.peer && e.peer->verified) {
    fail.cn = e.peer->cn;
    fail.serial = e.peer->serial;
  } else if (e.peer) {
    // Anyone can put any CN in a certificate no CA of ours signed: record
    // it as a claim, with what identifies that certificate.
    fail.claimed = audit::AuthFail::Claim{e.peer->cn, e.peer->issuer, e.peer->fingerprint};
  }
  return fail;
}

std::string reasons_text(const std::map<std::string, std::uint64_t>& reasons) {
  std::string s;
  for (const auto& [reason, n] : reasons) {
    s += (s.empty() ? "" : ", ") + reason + " x" + std::to_string(n);
  }
  return s;
}

}  // namespace

// A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: they are
// written as the IPv4 address they are.
PeerAddress peer_of(const sockaddr_storage& ss) {
  std::optional<host::IpAddress> ip;
  unsigned port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ip = host::IpAddress::from_bytes(reinterpret_cast<const unsigned char*>(&a->sin_addr), 4);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    char zone[IF_NAMESIZE] = {};
    if (a->sin6_scope_id != 0 && if_indextoname(a->sin6_scope_id, zone) == nullptr) {
      std::snprintf(zone, sizeof(zone), "%u", a->sin6_scope_id);
    }
    ip = host::IpAddress::from_bytes(a->sin6_addr.s6_addr, 16, zone);
    port = ntohs(a->sin6_port);
  }
  if (!ip) return {"?", "?"};
  std::string address = ip->unmapped().to_string();
  std::string text = host::join_host_port(address, static_cast<std::uint16_t>(port));
  return {std::move(address), std::move(text)};
}

HandshakeStage::HandshakeStage(State& st, int listen_fd, TakeSlot take_slot, TurnAway turn_away)
    : st_(st),
      listen_fd_(listen_fd),
      take_slot_(std::move(take_slot)),
      turn_away_(std::move(turn_away)) {}

void HandshakeStage::run() {
  const int flags = ::fcntl(listen_fd_, F_GETFL);
  ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK);
  std::vector<pollfd> fds;
  for (;;) {
    const auto now = Clock::now();
    fds.clear();
    fds.push_back({now >= paused_until_ ? listen_fd_ : -1, POLLIN, 0});
    fds.push_back({st_.stop_fd.get(), POLLIN, 0});
    for (const auto& p : pending_) fds.push_back({p.hs.fd(), p.events, 0});
    for (const auto& l : lingering_) fds.push_back({l.fd.get(), POLLIN, 0});
    const int r = ::poll(fds.data(), fds.size(), wait_ms(now));
    if (r < 0 && errno != EINTR) {
      st_.log->error("handshake stage: poll: {}", std::strerror(errno));
      break;
    }
    if (r > 0 && fds[1].revents != 0) break;
    if (r > 0) serve_ready(fds);
    expire(Clock::now());
    if (r > 0 && fds[0].revents != 0) accept_new();
    flush_summaries(false);
  }
  shut_down();
}

int HandshakeStage::wait_ms(Clock::time_point now) const {
  std::optional<Clock::time_point> next = limiter_.next_due();
  auto consider = [&](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& p : pending_) consider(p.deadline);
  for (const auto& l : lingering_) consider(l.deadline);
  if (now < paused_until_) consider(paused_until_);
  if (!next) return -1;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::clamp<std::int64_t>(ms, 0, 60'000));
}

void HandshakeStage::accept_new() {
  for (int i = 0; i < kAcceptsPerRound; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Stop listening for a while rather than spin on a full table.
        st_.log->error("accept: {}; pausing 100 ms", std::strerror(errno));
        paused_until_ = Clock::now() + kAcceptPause;
      }
      return;
    }
    PeerAddress peer = peer_of(ss);
    make_room(peer.address);
    const auto deadline = Clock::now() + std::chrono::seconds(st_.config.handshake_timeout);
    Pending p{tls::ServerHandshake(st_.tls(), fd), std::move(peer), st_.next_conn.fetch_add(1),
              deadline, 0};
    p.events = p.hs.step();
    if (p.events == 0) {
      finish(std::move(p));
    } else {
      pending_.push_back(std::move(p));
    }
  }
}

// The oldest handshake makes way: a real client finishes in milliseconds,
// so the oldest is the likeliest to be one that never will.
void HandshakeStage::make_room(const std::string& address) {
  auto drop_oldest = [&](bool same_address, const char* reason) {
    auto oldest = pending_.end();
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (same_address && it->peer.address != address) continue;
      if (oldest == pending_.end() || it->conn < oldest->conn) oldest = it;
    }
    if (oldest == pending_.end()) return;
    refuse({oldest->conn, oldest->peer.text, reason, std::nullopt, std::nullopt, std::nullopt},
           oldest->peer.address, "dropped");
    pending_.erase(oldest);  // closes it: no alert for a connection we give up on
  };
  const auto from_address = std::count_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
    return p.peer.address == address;
  });
  if (static_cast<std::size_t>(from_address) >= kMaxPendingPerAddress) {
    drop_oldest(true, "too many pending handshakes from this address");
  }
  if (pending_.size() >= kMaxPending) drop_oldest(false, "too many pending handshakes");
}

void HandshakeStage::finish(Pending p) {
  auto result = p.hs.finish();
  if (auto* err = std::get_if<tls::HandshakeError>(&result)) {
    refuse(record_for(*err, p.conn, p.peer.text), p.peer.address, "handshake failed", err->detail);
    util::UniqueFd fd = p.hs.take_socket();
    if (err->kind != tls::HandshakeFailure::kNoResources) linger(std::move(fd));
    return;
  }
  Admission a{std::get<tls::Connection>(std::move(result)), p.peer.text, p.conn};
  if (take_slot_(a)) return;
  const auto& id = a.conn.peer();
  refuse({p.conn, p.peer.text, "server busy", id.cn, id.serial, std::nullopt}, p.peer.address,
         "refused");
  turn_away_(std::move(a));
}

void HandshakeStage::serve_ready(const std::vector<pollfd>& fds) {
  std::vector<Pending> ended;
  std::size_t i = 2;
  for (auto& p : pending_) {
    if (fds[i++].revents != 0 && (p.events = p.hs.step()) == 0) ended.push_back(std::move(p));
  }
  std::erase_if(pending_, [](const Pending& p) { return p.hs.fd() < 0 || p.events == 0; });
  for (auto& l : lingering_) {
    if (fds[i++].revents == 0) continue;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(l.fd.get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) l.fd.reset();
  }
  std::erase_if(lingering_, [](const Lingering& l) { return !l.fd; });
  for (auto& p : ended) finish(std::move(p));
}

void HandshakeStage::expire(Clock::time_point now) {
  for (auto& p : pending_) {
    if (p.deadline > now) continue;
    refuse({p.conn, p.peer.text, "timeout", std::nullopt, std::nullopt, std::nullopt},
           p.peer.address, "handshake failed");
    p.events = 0;
  }
  std::erase_if(pending_, [](const Pending& p) { return p.events == 0; });
  std::erase_if(lingering_, [&](const Lingering& l) { return l.deadline <= now; });
}

void HandshakeStage::linger(util::UniqueFd fd) {
  if (!fd || lingering_.size() >= kMaxLingering) return;  // closed at once
  ::shutdown(fd.get(), SHUT_WR);
  lingering_.push_back({std::move(fd), Clock::now() + kLinger});
}

void HandshakeStage::refuse(const audit::AuthFail& fail, const std::string& address,
                            const std::string& how, const std::string& detail) {
  if (!limiter_.admit(address, fail.reason, Instant::now())) return;
  st_.log->warn("conn {} from {}: {}: {}{}", fail.conn, fail.peer, how, fail.reason,
                detail.empty() ? "" : " [" + detail + "]");
  if (auto s = st_.audit.record(fail); !s) {
    st_.log->error("audit: cannot record auth_fail: {}", s.message());
  }
}

void HandshakeStage::flush_summaries(bool all) {
  for (const auto& sum : limiter_.take_due(Instant::now(), all)) {
    st_.log->warn("{} more refusals from {} from {} to {}, counted in one record: {}", sum.count,
                  sum.peer, sum.window_start, sum.window_end, reasons_text(sum.reasons));
    if (auto s = st_.audit.record(sum); !s) {
      st_.log->error("audit: cannot record auth_fail_summary: {}", s.message());
    }
  }
}

void HandshakeStage::shut_down() {
  for (const auto& p : pending_) {
    refuse({p.conn, p.peer.text, "server stopping", std::nullopt, std::nullopt, std::nullopt},
           p.peer.address, "handshake abandoned");
  }
  pending_.clear();
  lingering_.clear();
  flush_summaries(true);
  // This thread did every handshake's ECC: drop its cache (src/README.md, "Invariants").
  tls::release_thread_caches();
}

}  // namespace trex::server

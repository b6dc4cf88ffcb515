#include "trex/server.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "server/handshakes.hpp"
#include "server/state.hpp"
#include "trex/audit_events.hpp"
#include "trex/host.hpp"

namespace trex::server {
namespace {

void signal_eventfd(int fd) {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof(one));
}

// A bounded hand-off between the handshake stage and a set of threads.
template <class Job>
class JobQueue {
 public:
  bool push(Job job, std::size_t limit) {
    std::lock_guard lock(mu_);
    if (closed_ || jobs_.size() >= limit) return false;
    jobs_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }
  std::optional<Job> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;
    Job j = std::move(jobs_.front());
    jobs_.pop_front();
    return j;
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool closed_ = false;
};

}  // namespace

Server::Server(config::ServerConfig config, std::shared_ptr<tls::Context> tls,
               std::shared_ptr<const policy::Policy> policy, audit::Writer& audit,
               std::shared_ptr<spdlog::logger> log)
    : state_(std::make_unique<State>(std::move(config), audit, std::move(log))) {
  state_->set_tls(std::move(tls));
  state_->set_policy(std::move(policy));
  state_->stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (state_->stop_fd) state_->hard_stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  // Without them stop() could not reach the sessions: listen() reports it.
  if (!state_->hard_stop_fd) setup_error_ = std::string("eventfd: ") + std::strerror(errno);
}

Server::~Server() = default;

Status Server::listen() {
  if (!setup_error_.empty()) return make_error("cannot set up the stop signal: " + setup_error_);
  auto ep = config::parse_endpoint(state_->config.listen, 7443);
  if (!ep) return make_error("--listen: " + ep.message());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep->port);
  if (int rc = getaddrinfo(ep->host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return make_error("cannot resolve listen address " + ep->host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  util::UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return make_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1, zero = 0;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // "[::]:PORT" serves IPv4 clients too, whatever net.ipv6.bindv6only says.
  if (res->ai_family == AF_INET6) {
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd.get(), 512) != 0) {
    return make_error("cannot listen on " + state_->config.listen + ": " + std::strerror(errno));
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  listen_fd_ = std::move(fd);
  address_ = peer_of(ss).text;
  return {};
}

std::string Server::address() const { return address_; }

void Server::run() {
  State& st = *state_;
  const std::size_t pool_size = st.config.max_sessions;
  JobQueue<Admission> sessions, busy;
  std::atomic<std::size_t> idle{pool_size};
  std::vector<std::thread> threads;
  threads.reserve(pool_size + 1);
  for (std::size_t i = 0; i < pool_size; ++i) {
    threads.emplace_back([&] {
      while (auto a = sessions.pop()) {
        serve_admitted(st, std::move(*a));
        idle.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {
    while (auto a = busy.pop()) refuse_busy(st, std::move(*a));
  });
  // A slot is claimed only for an authenticated client, and only from an
  // idle thread, so a queued session never waits behind a long-running one.
  auto take_slot = [&](Admission& a) {
    std::size_t n = idle.load();
    bool claimed = false;
    while (n > 0 && !(claimed = idle.compare_exchange_weak(n, n - 1))) {
    }
    if (claimed) sessions.push(std::move(a), pool_size);
    return claimed;
  };
  auto turn_away = [&](Admission a) {
    const std::string peer = a.peer;
    // Beyond 16 waiting to be told, the connection just closes.
    if (!busy.push(std::move(a), 16)) st.log->warn("connection from {} dropped: server busy", peer);
  };
  HandshakeStage(st, listen_fd_.get(), take_slot, turn_away).run();
  listen_fd_.reset();
  st.log->info("stopped accepting; waiting for sessions to end");
  sessions.close();
  busy.close();
  for (auto& t : threads) t.join();
}

Result<policy::Policy> load_policy(const config::ServerConfig& config) {
  if (auto missing = config::missing_policy(config); !missing.empty()) {
    return make_error(std::move(missing));
  }
  if (config.policy.empty()) return policy::Policy::allow_all();
  return policy::Policy::load_file(config.policy);
}

void Server::stop() {
  if (!state_->stopping.exchange(true)) {
    state_->log->info("stop requested: draining (kill grace {} s)", state_->config.kill_grace);
    signal_eventfd(state_->stop_fd.get());
  } else {
    state_->log->warn("second stop request: killing running commands now");
    signal_eventfd(state_->hard_stop_fd.get());
  }
}

void Server::reload() {
  State& st = *state_;
  const auto& c = st.config;
  auto ctx = tls::Context::server({c.ca, c.cert, c.key, c.crl, c.crl_dir});
  // The key probe's loopback handshake did ECC in this (the signal) thread:
  // drop the thread's ECC cache, or it leaks when the thread ends (src/README.md, "Invariants").
  tls::release_thread_caches();
  const audit::Reload rec{"tls", ctx.ok(), ctx.ok() ? "" : ctx.message()};
  if (ctx) {
    st.set_tls(*ctx);
    st.log->info("reload: CA, certificate, key and CRL reloaded");
    // Open sessions whose certificate is now revoked or expired end.
    st.live.recheck_all(st, **ctx);
    tls::release_thread_caches();
  } else {
    st.log->error("reload: keeping the old TLS settings: {}", ctx.message());
  }
  if (auto s = st.audit.record(rec); !s) st.log->error("audit: {}", s.message());
  if (c.policy.empty()) return;  // --allow-all stays allow-all
  auto pol = load_policy(c);
  const audit::Reload prec{"policy", pol.ok(), pol.ok() ? "" : pol.message()};
  if (pol) {
    st.set_policy(std::make_shared<const policy::Policy>(std::move(*pol)));
    st.log->info("reload: policy {} reloaded", c.policy);
  } else {
    st.log->error("reload: keeping the old policy: {}", pol.message());
  }
  if (auto s = st.audit.record(prec); !s) st.log->error("audit: {}", s.message());
}

}  // namespace trex::server

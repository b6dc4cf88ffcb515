// The connection master (trex --persist): a background process, forked by
// the trex whose connection it keeps, that runs later trex runs' commands
// on its open sessions. One session carries one command at a time, so a
// command that finds every session busy gets a new one, up to
// kMaxConnections; past that the trex is told to connect by itself. Each
// session is used by one thread at a time (NOTES.md: never two threads on
// one WOLFSSL): the main thread while it is idle, a worker while it runs a
// command. The master ends after `persist` without commands, or when the
// server has ended all its sessions (a reload that revoked the certificate,
// the server stopping): the next trex then connects by itself, and is
// judged afresh.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "common.hpp"
#include "trex/client_reuse.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_cli {
namespace {

namespace reuse = trex::client::reuse;
using Clock = std::chrono::steady_clock;
using trex::util::UniqueFd;

constexpr std::size_t kMaxConnections = 16;

class Master {
 public:
  Master(const MasterSetup& setup, UniqueFd listener, trex::client::Session first)
      : setup_(setup), listener_(std::move(listener)), last_use_(Clock::now()) {
    idle_.push_back(std::move(first));
    open_ = 1;
    int wake[2];
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) == 0) {
      wake_read_.reset(wake[0]);
      wake_write_.reset(wake[1]);
    }
    struct stat st {};
    if (::stat(setup_.socket.c_str(), &st) == 0) ino_ = st.st_ino;
  }
  [[noreturn]] void run();

 private:
  int poll_timeout();
  void drop_ended(const std::vector<pollfd>& fds);
  void accept_one();
  void serve(UniqueFd conn);
  reuse::Reply run_request(const trex::proto::ExecRequest& req, const std::vector<int>& fds);
  std::optional<trex::client::Session> take_session(std::string& why);
  void finish(std::optional<trex::client::Session> s);
  void remove_socket() const;

  MasterSetup setup_;
  UniqueFd listener_;
  ino_t ino_ = 0;
  UniqueFd wake_read_, wake_write_;  // a worker's end wakes the main loop
  std::mutex mu_;
  std::vector<trex::client::Session> idle_;
  std::size_t open_ = 0;         // sessions idle or in use
  std::size_t active_ = 0;       // requests being served
  bool exit_requested_ = false;  // trex -O exit
  Clock::time_point last_use_;
};

// -1: wait for a request; 0: time to end; else the milliseconds left.
int Master::poll_timeout() {
  if (active_ > 0) return -1;
  if (open_ == 0 || exit_requested_) return 0;  // the server ended every session, or -O exit
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(last_use_ + setup_.persist - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

void Master::run() {
  for (;;) {
    std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    int timeout;
    {
      std::lock_guard lock(mu_);
      if (exit_requested_ && listener_) {  // no new commands; the running ones finish
        remove_socket();
        listener_.reset();
        fds[0].fd = -1;
      }
      for (const auto& s : idle_) fds.push_back({s.fd(), POLLIN, 0});
      timeout = poll_timeout();
      if (timeout == 0) break;
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    char drain[64];
    while (wake_read_ && ::read(wake_read_.get(), drain, sizeof(drain)) > 0) {
    }
    drop_ended(fds);
    if (fds[0].revents != 0) accept_one();
  }
  if (listener_) remove_socket();
  ::_exit(0);
}

// Removes the socket unless another master has taken its name since.
void Master::remove_socket() const {
  struct stat st {};
  if (::stat(setup_.socket.c_str(), &st) == 0 && st.st_ino == ino_) ::unlink(setup_.socket.c_str());
}

// Between commands a server only speaks to end a session (an error frame:
// revoked at a reload, idle, stopping): such sessions go.
void Master::drop_ended(const std::vector<pollfd>& fds) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 2; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    const auto it = std::find_if(idle_.begin(), idle_.end(), [&](const trex::client::Session& s) {
      return s.fd() == fds[i].fd;
    });
    if (it == idle_.end() || it->ready()) continue;
    idle_.erase(it);
    --open_;
  }
}

void Master::accept_one() {
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return;
  // Only this user's trex may use this user's connection.
  auto cred = reuse::peer_cred(conn.get());
  if (!cred || cred->uid != ::getuid()) return;
  {
    std::lock_guard lock(mu_);
    ++active_;
  }
  std::thread([this, c = std::move(conn)]() mutable { serve(std::move(c)); }).detach();
}

void Master::serve(UniqueFd conn) {
  std::vector<int> fds;
  auto msg = reuse::receive_message(conn.get(), fds, reuse::kRequestFds);
  std::vector<UniqueFd> owned;
  for (const int fd : fds) owned.emplace_back(fd);
  if (msg && msg->has_value() && **msg == reuse::kExitRequest && fds.empty()) {
    {
      std::lock_guard lock(mu_);
      exit_requested_ = true;
    }
    (void)reuse::send_message(conn.get(), reuse::encode_reply({}));
  } else if (msg && msg->has_value() && fds.size() == reuse::kRequestFds) {
    auto req = reuse::decode_request(**msg);
    const auto reply = req ? run_request(*req, fds)
                           : reuse::Reply{reuse::ReplyKind::kFailed, {}, {}, req.message()};
    (void)reuse::send_message(conn.get(), reuse::encode_reply(reply));
  }
  owned.clear();
  conn.reset();
  trex::tls::release_thread_caches();
  std::lock_guard lock(mu_);
  --active_;
  last_use_ = Clock::now();
  if (wake_write_) {
    [[maybe_unused]] auto n = ::write(wake_write_.get(), "x", 1);
  }
}

// A session for one command: an idle one that is still open, else a new
// one while there are fewer than kMaxConnections.
std::optional<trex::client::Session> Master::take_session(std::string& why) {
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      if (s.ready()) return s;
      --open_;
    }
    if (open_ >= kMaxConnections) {
      why = "all " + std::to_string(kMaxConnections) + " connections of the master are busy";
      return std::nullopt;
    }
    ++open_;
  }
  auto s = trex::client::Session::open(setup_.ctx, setup_.target, setup_.connect_timeout);
  if (s) return std::move(*s);
  why = s.message();
  std::lock_guard lock(mu_);
  --open_;
  return std::nullopt;
}

void Master::finish(std::optional<trex::client::Session> s) {
  std::lock_guard lock(mu_);
  if (s && !s->broken()) {
    idle_.push_back(std::move(*s));
  } else if (s) {
    --open_;
  }
}

reuse::Reply Master::run_request(const trex::proto::ExecRequest& req, const std::vector<int>& fds) {
  std::string why;
  auto session = take_session(why);
  if (!session) return {reuse::ReplyKind::kFresh, {}, {}, why};
  trex::client::FdOutput out(fds[1], fds[2]);
  trex::client::Args limits_of;
  limits_of.timeout = req.timeout_s;
  auto result =
      session->run(req, out, req.stdin_open ? fds[0] : -1, fds[3], run_limits(limits_of, false));
  reuse::Reply reply;
  if (result) {
    reply.exit = *result;
    reply.command_id = session->command_id();
  } else {
    reply.kind = session->abandoned() ? reuse::ReplyKind::kAbandoned : reuse::ReplyKind::kFailed;
    reply.message = result.message();
  }
  finish(std::move(session));
  return reply;
}

}  // namespace

Result<UniqueFd> listen_for_reuse(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return trex::make_error(std::string("socket: ") + std::strerror(errno));
  // Bound under a name of its own, then renamed over the final name: a
  // stale socket (a master killed) is replaced, never unlinked by a client.
  // listen() is called by the master itself: SO_PEERCRED names the process
  // that listened.
  const std::string tmp = path + "." + std::to_string(::getpid()) + ".new";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (tmp.size() >= sizeof(addr.sun_path)) return trex::make_error(tmp + ": path too long");
  std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
  ::unlink(tmp.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::chmod(tmp.c_str(), 0600) != 0 || ::listen(fd.get(), 128) != 0 ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return trex::make_error(path + ": " + err);
  }
  return fd;
}

void become_master(const MasterSetup& setup, UniqueFd ready, trex::client::Session session) {
  // Detach from the terminal and from whoever reads our output: a
  // $(trex ...) must see its end when this trex exits.
  ::setsid();
  // Holding no directory busy (a master may outlive the shell's cwd's mount).
  [[maybe_unused]] const int cd = ::chdir("/");
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null.get(), fd);
  if (null.get() <= 2) null.release();  // it is one of the three now
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  auto listener = listen_for_reuse(setup.socket);
  if (!listener) ::_exit(1);  // the trex that forked us sees no byte: it says why
  [[maybe_unused]] auto n = ::write(ready.get(), "1", 1);
  ready.reset();
  Master m(setup, std::move(*listener), std::move(session));
  m.run();
}

}  // namespace trex::trex_cli

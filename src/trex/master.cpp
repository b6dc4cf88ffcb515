// The connection master (trex --persist): a background process, forked by
// the trex whose connection it keeps, that runs later trex runs' commands
// on its open sessions. One session carries one command at a time, so a
// command that finds every session busy gets a new one, up to
// kMaxConnections; past that the trex is told to connect by itself. Each
// session belongs to one worker thread for its whole life (NOTES.md: never
// two threads on one WOLFSSL), which waits between commands for the next
// one and for the server's word on the session. The main thread only
// accepts and hands each request to an idle worker: a command costs no
// thread start and wakes the main thread once. The master ends after
// `persist` without commands, or when the server has ended all its sessions
// (a reload that revoked the certificate, the server stopping): the next
// trex then connects by itself, and is judged afresh.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
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

// A session and the thread that owns it. A worker without a session (a
// request that found every session busy) serves that one request.
struct Worker {
  std::optional<trex::client::Session> session;
  UniqueFd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};  // `job` was handed over
  UniqueFd job;  // a request's connection; guarded by Master::mu_
};

class Master {
 public:
  Master(const MasterSetup& setup, UniqueFd listener, trex::client::Session first)
      : setup_(setup), listener_(std::move(listener)), last_use_(Clock::now()) {
    first_ = std::make_unique<Worker>();
    first_->session.emplace(std::move(first));
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
  void accept_one();
  void start_worker(std::unique_ptr<Worker> w, UniqueFd conn);
  void work(std::unique_ptr<Worker> w, UniqueFd conn);
  bool wait_for_job(Worker& w, UniqueFd& conn);
  void serve(Worker& w, UniqueFd conn);
  reuse::Reply run_request(Worker& w, const trex::proto::ExecRequest& req,
                           const std::vector<int>& fds);
  bool open_session(Worker& w, std::string& why);
  void drop_session(Worker& w);
  void wake_main();
  void remove_socket() const;

  MasterSetup setup_;
  UniqueFd listener_;
  ino_t ino_ = 0;
  std::unique_ptr<Worker> first_;    // the first session's, until run() starts it
  UniqueFd wake_read_, wake_write_;  // the last session gone, or -O exit
  std::mutex mu_;
  std::vector<Worker*> idle_;    // waiting for a request, the latest last
  std::size_t open_ = 0;         // sessions open or opening
  std::size_t active_ = 0;       // requests being served
  bool exit_requested_ = false;  // trex -O exit
  Clock::time_point last_use_;
};

// -1: wait for a request; 0: time to end; else the milliseconds to wait.
// While commands run the main thread looks again after `persist`: their
// ends need not wake it, last_use_ then tells it how long is left.
int Master::poll_timeout() {
  if (exit_requested_) return active_ > 0 ? -1 : 0;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(setup_.persist);
  if (active_ == 0) {
    if (open_ == 0) return 0;  // the server ended every session
    left = std::chrono::ceil<std::chrono::milliseconds>(last_use_ + setup_.persist - Clock::now());
  }
  return static_cast<int>(std::clamp<long long>(left.count(), active_ > 0 ? 1 : 0, 60'000));
}

void Master::run() {
  start_worker(std::move(first_), UniqueFd());
  for (;;) {
    int timeout;
    {
      std::lock_guard lock(mu_);
      if (exit_requested_ && listener_) {  // no new commands; the running ones finish
        remove_socket();
        listener_.reset();
      }
      timeout = poll_timeout();
      if (timeout == 0) break;
    }
    pollfd fds[2] = {{listener_ ? listener_.get() : -1, POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) break;
    char drain[64];
    while (wake_read_ && ::read(wake_read_.get(), drain, sizeof(drain)) > 0) {
    }
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

void Master::wake_main() {
  if (wake_write_) {
    [[maybe_unused]] auto n = ::write(wake_write_.get(), "x", 1);
  }
}

// Hands the request to the worker that went idle last (its memory is the
// warmest); with none idle, to a new worker.
void Master::accept_one() {
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return;
  // Only this user's trex may use this user's connection.
  auto cred = reuse::peer_cred(conn.get());
  if (!cred || cred->uid != ::getuid()) return;
  {
    std::lock_guard lock(mu_);
    ++active_;
    if (!idle_.empty()) {
      Worker* w = idle_.back();
      idle_.pop_back();
      w->job = std::move(conn);
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(w->wake.get(), &one, sizeof one);
      return;
    }
  }
  start_worker(std::make_unique<Worker>(), std::move(conn));
}

void Master::start_worker(std::unique_ptr<Worker> w, UniqueFd conn) {
  std::thread([this, w = std::move(w), c = std::move(conn)]() mutable {
    work(std::move(w), std::move(c));
  }).detach();
}

void Master::work(std::unique_ptr<Worker> w, UniqueFd conn) {
  for (;;) {
    if (conn) serve(*w, std::move(conn));
    if (!w->session || !w->wake || !wait_for_job(*w, conn)) break;
  }
  if (w->session) drop_session(*w);
  trex::tls::release_thread_caches();
}

// Between commands: the next request (true, in `conn`), or the server
// ending the session (false; the session is dropped).
bool Master::wait_for_job(Worker& w, UniqueFd& conn) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(&w);
  }
  for (;;) {
    pollfd fds[2] = {{w.wake.get(), POLLIN, 0}, {w.session->fd(), POLLIN, 0}};
    const bool failed = ::poll(fds, 2, -1) < 0 && errno != EINTR;
    // Between commands a server only speaks to end a session (an error
    // frame: revoked at a reload, idle, stopping).
    const bool ended = failed || (fds[1].revents != 0 && !w.session->ready());
    std::lock_guard lock(mu_);
    if (w.job) {  // taken off idle_ by accept_one; a session that ended sends it on
      std::uint64_t n;
      [[maybe_unused]] auto r = ::read(w.wake.get(), &n, sizeof n);
      conn = std::move(w.job);
      return true;
    }
    if (ended) {
      idle_.erase(std::find(idle_.begin(), idle_.end(), &w));
      return false;
    }
  }
}

void Master::drop_session(Worker& w) {
  w.session.reset();
  std::lock_guard lock(mu_);
  if (--open_ == 0) wake_main();
}

void Master::serve(Worker& w, UniqueFd conn) {
  std::vector<int> fds;
  auto msg = reuse::receive_message(conn.get(), fds, reuse::kRequestFds);
  std::vector<UniqueFd> owned;
  for (const int fd : fds) owned.emplace_back(fd);
  bool exiting = false;
  if (msg && msg->has_value() && **msg == reuse::kExitRequest && fds.empty()) {
    exiting = true;
    (void)reuse::send_message(conn.get(), reuse::encode_reply({}));
  } else if (msg && msg->has_value() && fds.size() == reuse::kRequestFds) {
    auto req = reuse::decode_request(**msg);
    const auto reply = req ? run_request(w, *req, fds)
                           : reuse::Reply{reuse::ReplyKind::kFailed, {}, {}, req.message()};
    (void)reuse::send_message(conn.get(), reuse::encode_reply(reply));
  }
  owned.clear();
  conn.reset();
  std::lock_guard lock(mu_);
  --active_;
  last_use_ = Clock::now();
  if (exiting) exit_requested_ = true;
  // The main thread must act now when it was asked to end, or when this
  // was the last request and the server has ended every session.
  if (exiting || (active_ == 0 && (exit_requested_ || open_ == 0))) wake_main();
}

// A session for w's command: its own while the server has not ended it,
// else a new one while there are fewer than kMaxConnections.
bool Master::open_session(Worker& w, std::string& why) {
  if (w.session && w.session->ready()) return true;
  if (w.session) drop_session(w);
  {
    std::lock_guard lock(mu_);
    if (open_ >= kMaxConnections) {
      why = "all " + std::to_string(kMaxConnections) + " connections of the master are busy";
      return false;
    }
    ++open_;
  }
  auto s = trex::client::Session::open(setup_.ctx, setup_.target, setup_.connect_timeout);
  if (s) {
    w.session.emplace(std::move(*s));
    return true;
  }
  why = s.message();
  std::lock_guard lock(mu_);
  if (--open_ == 0) wake_main();
  return false;
}

reuse::Reply Master::run_request(Worker& w, const trex::proto::ExecRequest& req,
                                 const std::vector<int>& fds) {
  std::string why;
  if (!open_session(w, why)) return {reuse::ReplyKind::kFresh, {}, {}, why};
  trex::client::FdOutput out(fds[1], fds[2]);
  trex::client::Args limits_of;
  limits_of.timeout = req.timeout_s;
  auto result =
      w.session->run(req, out, req.stdin_open ? fds[0] : -1, fds[3], run_limits(limits_of, false));
  reuse::Reply reply;
  if (result) {
    reply.exit = *result;
    reply.command_id = w.session->command_id();
  } else {
    reply.kind = w.session->abandoned() ? reuse::ReplyKind::kAbandoned : reuse::ReplyKind::kFailed;
    reply.message = result.message();
  }
  if (w.session->broken()) drop_session(w);
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

// The client's side of connection reuse: find the master for this host and
// certificate, hand it the command and our stdin/stdout/stderr, print what
// it answers; or, after a command of our own, fork a master that keeps the
// connection.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.hpp"
#include "trex/client_reuse.hpp"
#include "trex/host.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_cli {
namespace {

namespace reuse = trex::client::reuse;
using trex::util::UniqueFd;

// A connected socket to the master at `path`; none when nobody listens
// there (no master, or a stale socket a new master will replace).
UniqueFd connect_master(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof(addr.sun_path)) return {};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
  return fd;
}

void note(const trex::client::Args& args, const std::string& text) {
  if (args.verbose) std::fprintf(stderr, "trex: %s\n", text.c_str());
}

int on_reply(const trex::client::Args& args, const reuse::Reply& reply) {
  switch (reply.kind) {
    case reuse::ReplyKind::kExit:
      if (args.verbose && !reply.command_id.empty()) {
        std::fprintf(stderr, "trex: command id %s (the id of its audit records)\n",
                     reply.command_id.c_str());
      }
      return report_exit(args, reply.exit);
    case reuse::ReplyKind::kAbandoned:
      fail(reply.message);
      return 128 + SIGINT;
    default:
      return fail(reply.message);
  }
}

}  // namespace

namespace {

// The master's socket for this host and these certificate files.
trex::Result<std::string> master_socket(const trex::client::Args& args,
                                        const trex::client::Target& target) {
  auto dir = reuse::runtime_dir(std::getenv("XDG_RUNTIME_DIR"), ::getuid());
  if (!dir) return trex::make_error("not reusing connections: " + dir.message());
  const auto files = cert_files_for(args.hosts.front(), args);
  const reuse::Identity id{target.host,     target.port,    target.expected_name(), files.ca.path,
                           files.cert.path, files.key.path, files.crl.path};
  return reuse::socket_path(*dir, id);
}

}  // namespace

std::optional<ReusePlan> reuse_plan(const trex::client::Args& args,
                                    const trex::client::Target& target) {
  const std::uint32_t seconds = persist_for(args.hosts.front(), args);
  if (seconds == 0) return std::nullopt;
  auto path = master_socket(args, target);
  if (!path) {
    if (!args.quiet) std::fprintf(stderr, "trex: warning: %s\n", path.message().c_str());
    return std::nullopt;
  }
  return ReusePlan{*path, std::chrono::seconds(seconds), true};
}

int control_master(const trex::client::Args& args) {
  auto target = target_of(args.hosts.front(), args);
  if (!target) return fail(target.message());
  auto path = master_socket(args, *target);
  if (!path) return fail(path.message());
  const std::string where = trex::host::join_host_port(target->host, target->port);
  auto sock = connect_master(*path);
  if (!sock) return fail("no connection master for " + where);
  auto cred = reuse::peer_cred(sock.get());
  if (!cred || cred->uid != ::getuid()) return fail("the master at " + *path + " is not yours");
  const std::string pid = std::to_string(cred->pid);
  if (args.control == "check") {
    std::fprintf(stderr, "trex: connection master for %s running (pid %s)\n", where.c_str(),
                 pid.c_str());
    return 0;
  }
  std::vector<int> none;
  if (!reuse::send_message(sock.get(), reuse::kExitRequest) ||
      !reuse::receive_message(sock.get(), none, 0)) {
    return fail("the connection master for " + where + " (pid " + pid + ") did not answer");
  }
  std::fprintf(stderr, "trex: connection master for %s (pid %s) exits\n", where.c_str(),
               pid.c_str());
  return 0;
}

std::optional<int> run_via_master(const trex::client::Args& args, ReusePlan& plan) {
  auto sock = connect_master(plan.socket);
  if (!sock) return std::nullopt;
  auto cred = reuse::peer_cred(sock.get());
  if (!cred || cred->uid != ::getuid()) {
    plan.start_master = false;
    if (!args.quiet) {
      std::fprintf(
          stderr, "trex: warning: not using %s: %s\n", plan.socket.c_str(),
          cred ? ("its master runs as uid " + std::to_string(cred->uid) + ", not as you").c_str()
               : cred.message().c_str());
    }
    return std::nullopt;
  }
  install_interrupt_handler();
  const std::vector<int> fds{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, interrupt_fd()};
  if (!reuse::send_message(sock.get(), reuse::encode_request(request_of(args)), fds)) {
    return std::nullopt;  // the master went before it had the command
  }
  note(args,
       "through the connection master " + plan.socket + " (pid " + std::to_string(cred->pid) + ")");
  std::vector<int> none;  // a master sends no descriptors; any would be closed
  auto msg = reuse::receive_message(sock.get(), none, 0);
  for (const int fd : none) UniqueFd{fd}.reset();
  if (!msg || !msg->has_value()) {
    return fail("the connection master (pid " + std::to_string(cred->pid) +
                ") ended before the command finished");
  }
  auto reply = reuse::decode_reply(**msg);
  if (!reply) return fail("a bad reply from the connection master: " + reply.message());
  if (reply->kind == reuse::ReplyKind::kFresh) {
    note(args, "the master did not take the command (" + reply->message + "); connecting");
    plan.start_master = false;
    return std::nullopt;
  }
  return on_reply(args, *reply);
}

void keep_for_reuse(const trex::client::Args& args, const ReusePlan& plan,
                    std::shared_ptr<trex::tls::Context> ctx, trex::client::Session& session) {
  int raw[2];
  if (session.broken() || ::pipe2(raw, O_CLOEXEC) != 0) return session.close();
  UniqueFd ready_read(raw[0]), ready_write(raw[1]);
  const MasterSetup setup{std::move(ctx), session.target(),
                          std::chrono::seconds(args.connect_timeout), plan.persist, plan.socket};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ready_read.reset();
    become_master(setup, std::move(ready_write), std::move(session));
  }
  ready_write.reset();
  if (pid < 0) return session.close();
  // The connection is the master's now: this process closes its descriptor
  // without a word on it (no close_notify) when it exits. Wait until the
  // master listens, so that the next trex finds it.
  pollfd p{ready_read.get(), POLLIN, 0};
  char byte = 0;
  const bool listening = ::poll(&p, 1, 2000) == 1 && ::read(ready_read.get(), &byte, 1) == 1;
  note(args, listening ? "keeping the connection for " + std::to_string(plan.persist.count()) +
                             " s (master pid " + std::to_string(pid) + ", " + plan.socket + ")"
                       : "the connection master could not listen on " + plan.socket);
}

}  // namespace trex::trex_cli

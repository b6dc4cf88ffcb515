#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include "server/command.hpp"
#include "server/state.hpp"
#include "trex/channel.hpp"
#include "trex/exec.hpp"

namespace trex::server {
namespace {

constexpr const char* kAuditFailure = "the server cannot write its audit trail";

struct Account {
  std::string name, home;
};

Account account_for(const std::optional<std::string>& run_as) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (run_as) {
    getpwnam_r(run_as->c_str(), &pw, buf, sizeof(buf), &found);
  } else {
    getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found);
  }
  if (found == nullptr) return {run_as.value_or(std::to_string(geteuid())), "/"};
  // Accounts like nobody have a home that does not exist (/nonexistent).
  struct stat st {};
  const bool home_ok =
      found->pw_dir != nullptr && ::stat(found->pw_dir, &st) == 0 && S_ISDIR(st.st_mode);
  return {found->pw_name, home_ok ? found->pw_dir : "/"};
}

audit::Json command_fields(const proto::ExecRequest& req) {
  audit::Json j;
  if (req.shell) {
    j["shell"] = req.command;
  } else {
    j["argv"] = req.argv;
  }
  return j;
}

class Session {
 public:
  Session(State& st, Channel ch, tls::PeerIdentity id, std::string peer, std::uint64_t conn)
      : st_(st),
        ch_(std::move(ch)),
        id_(std::move(id)),
        peer_(std::move(peer)),
        conn_(conn),
        who_{id_.cn, id_.ou} {}
  void run();

 private:
  bool audit(std::string_view event, audit::Json fields);
  void send_exit(const proto::ExitInfo& info) {
    ch_.send(proto::FrameType::kExit, proto::encode(info));
  }
  void send_error(proto::ErrorCode code, const std::string& msg) {
    ch_.send(proto::FrameType::kError, proto::encode(proto::ErrorInfo{code, msg}));
  }
  // Returns the reason the session must end, or "" to go on.
  std::string handle_exec(const std::string& payload);
  std::string run_approved(const proto::ExecRequest& req, const policy::Decision& d);
  std::string wait_for_frames();

  State& st_;
  Channel ch_;
  tls::PeerIdentity id_;
  std::string peer_;
  std::uint64_t conn_;
  policy::Identity who_;
  std::uint64_t commands_ = 0;
  bool seen_exec_ = false;  // stdin/signal frames before the first exec break the protocol
};

bool Session::audit(std::string_view event, audit::Json fields) {
  auto status = st_.audit.write(event, fields);
  if (!status) st_.log->error("audit: cannot record {}: {}", event, status.message());
  return status.ok();
}

std::string Session::run_approved(const proto::ExecRequest& req, const policy::Decision& d) {
  const auto& cfg = st_.config;
  const std::string id = std::to_string(conn_) + "." + std::to_string(++commands_);
  const Account acct = account_for(d.run_as);
  exec::Spec spec;
  if (req.shell) {
    spec.program = "/bin/sh";
    spec.argv = {"sh", "-c", req.command};
  } else {
    spec.argv = req.argv;
    spec.program = req.argv[0];
  }
  spec.cwd = d.cwd.value_or(d.run_as ? acct.home : "/");
  spec.env = {"PATH=" + std::string(exec::kCommandPath),
              "HOME=" + acct.home,
              "USER=" + acct.name,
              "LANG=C.UTF-8",
              "TREX_CLIENT=" + who_.cn,
              "TREX_SESSION=" + std::to_string(conn_)};
  spec.run_as = d.run_as;
  spec.umask = d.umask;
  spec.limits = d.limits;
  spec.stdin_open = req.stdin_open;

  auto fields = command_fields(req);
  audit::Json start{{"conn", conn_}, {"id", id}, {"cn", who_.cn}};
  start.update(fields);
  start["cwd"] = spec.cwd;
  start["run_as"] = acct.name;
  if (!audit("exec_start", start)) {
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
    return "";
  }

  std::string spawn_error;
  std::optional<exec::Process> proc;
  if (!req.shell && spec.program.find('/') == std::string::npos) {
    if (auto path = exec::find_program(spec.program)) {
      spec.program = *path;
    } else {
      spawn_error = "command not found: " + spec.program;
    }
  }
  if (spawn_error.empty()) {
    auto p = exec::Process::spawn(spec);
    if (p) {
      proc.emplace(std::move(*p));
    } else {
      spawn_error = p.message();
    }
  }
  if (!proc) {
    audit::Json end{{"conn", conn_},
                    {"id", id},
                    {"cn", who_.cn},
                    {"exit_code", 127},
                    {"signal", nullptr},
                    {"timed_out", false},
                    {"duration_ms", 0},
                    {"stdout_bytes", 0},
                    {"stderr_bytes", 0},
                    {"stdin_bytes", 0},
                    {"stdout_sha256", audit::sha256_hex("")},
                    {"stderr_sha256", audit::sha256_hex("")},
                    {"truncated", false},
                    {"error", spawn_error}};
    if (!audit("exec_end", end)) {
      send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
    } else {
      send_exit({proto::ExitKind::kNotFound, 127, 0, false, spawn_error});
    }
    return "";
  }
  ch_.send(proto::FrameType::kStarted, id);
  // Send it now: the command loop flushes only once something else wakes it,
  // so a quiet command (sleep) would keep the client from knowing it runs.
  if (auto r = ch_.flush(); r.status == tls::IoStatus::kError) {
    st_.log->warn("conn {}: cannot send started: {}", conn_, r.error);
  }
  CommandLimits lim;
  std::uint32_t timeout = cfg.command_timeout;
  if (d.timeout_s) timeout = std::min(timeout, *d.timeout_s);
  if (req.timeout_s > 0) timeout = std::min(timeout, req.timeout_s);
  lim.timeout = std::chrono::seconds(timeout);
  lim.max_output = std::min(cfg.max_output, d.max_output.value_or(cfg.max_output));
  lim.kill_grace = std::chrono::seconds(cfg.kill_grace);
  lim.stop_fd = st_.stop_fd;
  lim.hard_stop_fd = st_.hard_stop_fd;
  const auto out = run_command(ch_, *proc, lim);
  const auto& e = out.exit;
  audit::Json end{{"conn", conn_}, {"id", id}, {"cn", who_.cn}};
  end["exit_code"] = e.kind == proto::ExitKind::kExited ? audit::Json(e.code) : audit::Json();
  end["signal"] = e.signal != 0 ? audit::Json(e.signal) : audit::Json();
  end["timed_out"] = out.timed_out;
  end["duration_ms"] = out.duration.count();
  end["stdout_bytes"] = out.stdout_bytes;
  end["stderr_bytes"] = out.stderr_bytes;
  end["stdin_bytes"] = out.stdin_bytes;
  end["stdout_sha256"] = out.stdout_sha256;
  end["stderr_sha256"] = out.stderr_sha256;
  end["truncated"] = e.truncated;
  if (!out.session_end.empty()) end["ended_by"] = out.session_end;
  const bool recorded = audit("exec_end", end);
  // After a protocol error the error frame was the session's last word.
  if (out.protocol_error) return out.session_end;
  if (!recorded) {
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
  } else {
    send_exit(e);
  }
  return out.session_end;
}

std::string Session::handle_exec(const std::string& payload) {
  auto req = proto::decode_exec(payload);
  if (!req) {
    send_error(proto::ErrorCode::kProtocol, req.message());
    return "protocol error: " + req.message();
  }
  const auto policy = st_.policy();
  const auto decision = policy->decide(who_, policy::Request{req->shell, req->argv, req->command});
  if (!decision.allowed) {
    audit::Json denied{{"conn", conn_}, {"cn", who_.cn}};
    denied.update(command_fields(*req));
    denied["rule"] = decision.rule;
    denied["reason"] = decision.reason;
    if (!audit("exec_denied", denied)) {
      send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
    } else {
      send_exit({proto::ExitKind::kDenied, 0, 0, false, decision.reason});
    }
    return "";
  }
  return run_approved(*req, decision);
}

// Waits for the next frames between commands; returns the end reason or "".
std::string Session::wait_for_frames() {
  const int idle_ms = static_cast<int>(st_.config.idle_timeout) * 1000;
  for (;;) {
    proto::Frame f;
    const auto state = ch_.next(f);
    if (state == proto::Decoder::State::kError) {
      send_error(proto::ErrorCode::kProtocol, ch_.decode_error());
      return "protocol error: " + ch_.decode_error();
    }
    if (state == proto::Decoder::State::kFrame) {
      if (f.type == proto::FrameType::kExec) {
        seen_exec_ = true;
        auto end = handle_exec(f.payload);
        if (!end.empty()) return end;
        if (!ch_.flush_all(std::chrono::seconds(st_.config.idle_timeout))) return "client gone";
        if (st_.stopping) {
          send_error(proto::ErrorCode::kShutdown, "the server is stopping");
          return "server stopping";
        }
        continue;
      }
      // Stdin or a signal that raced the end of the last command: too late.
      // Before any command there is nothing they could have raced.
      const bool late_input =
          f.type == proto::FrameType::kStdin || f.type == proto::FrameType::kSignal;
      if (late_input && seen_exec_) continue;
      const std::string what = "unexpected " + std::string(proto::type_name(f.type)) + " frame" +
                               (late_input ? " before any command" : "");
      send_error(proto::ErrorCode::kProtocol, what);
      return "protocol error: " + what;
    }
    if (!ch_.has_pending()) {
      pollfd fds[2] = {{ch_.fd(), POLLIN, 0}, {st_.stop_fd, POLLIN, 0}};
      const int r = ::poll(fds, 2, idle_ms);
      if (r == 0) {
        send_error(proto::ErrorCode::kIdle,
                   "idle for " + std::to_string(st_.config.idle_timeout) + " s");
        return "idle timeout";
      }
      if (fds[1].revents != 0) {
        send_error(proto::ErrorCode::kShutdown, "the server is stopping");
        return "server stopping";
      }
    }
    auto r = ch_.receive(256 * 1024);
    if (r.status == tls::IoStatus::kClosed) return "client closed";
    if (r.status == tls::IoStatus::kError) return "connection error: " + r.error;
  }
}

void Session::run() {
  const auto& id = id_;
  st_.log->info("conn {} from {}: cn={} serial={}", conn_, peer_, id.cn, id.serial);
  if (!audit("session_open", {{"conn", conn_},
                              {"peer", peer_},
                              {"cn", id.cn},
                              {"ou", id.ou},
                              {"serial", id.serial},
                              {"fingerprint", id.fingerprint},
                              {"not_after", id.not_after}})) {
    send_error(proto::ErrorCode::kAudit, kAuditFailure);
    ch_.flush_all(std::chrono::seconds(2));
    ch_.shutdown();
    return;
  }
  const std::string reason = wait_for_frames();
  ch_.flush_all(std::chrono::seconds(2));
  ch_.shutdown();
  audit("session_close",
        {{"conn", conn_}, {"cn", id.cn}, {"reason", reason}, {"commands", commands_}});
  st_.log->info("conn {} closed: {} ({} commands)", conn_, reason, commands_);
}

}  // namespace

void serve_session(State& st, Channel channel, tls::PeerIdentity id, const std::string& peer,
                   std::uint64_t conn) {
  Session(st, std::move(channel), std::move(id), peer, conn).run();
}

void serve_connection(State& st, int fd, const std::string& peer, std::uint64_t conn) {
  auto hs =
      tls::Connection::accept(st.tls(), fd, std::chrono::seconds(st.config.handshake_timeout));
  if (auto* err = std::get_if<tls::HandshakeError>(&hs)) {
    st.log->warn("conn {} from {}: handshake failed: {} [{}]", conn, peer, err->reason,
                 err->detail);
    audit::Json f{{"conn", conn}, {"peer", peer}, {"reason", err->reason}};
    if (err->peer) {
      f["cn"] = err->peer->cn;
      f["serial"] = err->peer->serial;
    }
    if (auto s = st.audit.write("auth_fail", f); !s) {
      st.log->error("audit: cannot record auth_fail: {}", s.message());
    }
  } else {
    auto& tls_conn = std::get<tls::Connection>(hs);
    tls::PeerIdentity id = tls_conn.peer();
    serve_session(st, Channel(std::move(tls_conn)), std::move(id), peer, conn);
  }
  // Each thread doing ECC keeps a cache until told to drop it (see NOTES).
  tls::release_thread_caches();
}

void refuse_busy(State& st, int fd, const std::string& peer) {
  auto hs = tls::Connection::accept(st.tls(), fd, std::chrono::seconds(2));
  if (auto* conn = std::get_if<tls::Connection>(&hs)) {
    Channel ch(std::move(*conn));
    ch.send(
        proto::FrameType::kError,
        proto::encode(proto::ErrorInfo{
            proto::ErrorCode::kBusy, "server busy: all " + std::to_string(st.config.max_sessions) +
                                         " sessions are in use; try again later"}));
    ch.flush_all(std::chrono::seconds(1));
    ch.shutdown();
  }
  st.log->warn("connection from {} refused: server busy", peer);
  tls::release_thread_caches();
}

}  // namespace trex::server

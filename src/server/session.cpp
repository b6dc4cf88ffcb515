#include <poll.h>
#include <unistd.h>

#include <csignal>

#include "server/command.hpp"
#include "server/plan.hpp"
#include "server/state.hpp"
#include "server/transfer.hpp"
#include "trex/audit_events.hpp"
#include "trex/channel.hpp"
#include "trex/exec.hpp"

namespace trex::server {
namespace {

constexpr const char* kAuditFailure = "the server cannot write its audit trail";

// Resolves a bare program name on PATH, then starts the process.
Result<exec::Process> start_process(exec::Spec spec, bool shell) {
  if (!shell && spec.program.find('/') == std::string::npos) {
    auto path = exec::find_program(spec.program);
    if (!path) return make_error("command not found: " + spec.program);
    spec.program = *path;
  }
  return exec::Process::spawn(spec);
}

audit::ExecEnd end_record(std::uint64_t conn, std::string id, std::string cn,
                          const CommandOutcome& out) {
  const auto& e = out.exit;
  audit::ExecEnd end;
  end.conn = conn;
  end.id = std::move(id);
  end.cn = std::move(cn);
  if (e.kind == proto::ExitKind::kExited) end.exit_code = e.code;
  if (e.signal != 0) end.signal = e.signal;
  end.timed_out = out.timed_out;
  end.duration_ms = out.duration.count();
  end.stdout_bytes = out.stdout_bytes;
  end.stderr_bytes = out.stderr_bytes;
  end.stdin_bytes = out.stdin_bytes;
  end.stdout_sha256 = out.stdout_sha256;
  end.stderr_sha256 = out.stderr_sha256;
  end.truncated = e.truncated;
  end.lingered = out.lingered;
  if (out.session_end) end.ended_by = out.session_end->text();
  if (out.recording_error) end.error = "recording: " + *out.recording_error;
  return end;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// What launch() needs, whichever request it came from.
struct Prepared {
  CommandPlan plan;
  audit::CommandText text;
  bool shell = false;
  audit::Json tty;  // a terminal session's exec_start field; null otherwise
  std::string rule;
  const proto::TerminalRequest* terminal = nullptr;  // a terminal session's request
};

class Session {
 public:
  Session(State& st, Channel ch, tls::PeerIdentity id, std::string peer, std::uint64_t conn)
      : st_(st),
        ch_(std::move(ch)),
        id_(std::move(id)),
        peer_(std::move(peer)),
        conn_(conn),
        who_{id_.cn, id_.ou},
        live_(id_, conn_) {}
  void run(const tls::Context* handshake);

 private:
  template <class Event>
  bool record(const Event& e) {
    auto status = st_.audit.record(e);
    if (!status) st_.log->error("audit: cannot record {}: {}", Event::kName, status.message());
    return status.ok();
  }
  // Fail closed: an event that cannot be recorded must not be acted on, and
  // the client is told why instead. Returns whether `e` was recorded.
  template <class Event>
  bool record_or_refuse(const Event& e) {
    if (record(e)) return true;
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
    return false;
  }
  void send_exit(const proto::ExitInfo& info) {
    ch_.send(proto::FrameType::kExit, proto::encode(info));
  }
  void send_error(proto::ErrorCode code, const std::string& msg) {
    ch_.send(proto::FrameType::kError, proto::encode(proto::ErrorInfo{code, msg}));
  }
  // Each returns why the session must end, or nothing to go on.
  std::optional<SessionEnd> handle_exec(const std::string& payload);
  std::optional<SessionEnd> run_approved(const proto::ExecRequest& req, const policy::Decision& d);
  std::optional<SessionEnd> handle_terminal(const std::string& payload);
  std::optional<SessionEnd> launch(const std::string& id, const Account& acct, Prepared& p);
  std::optional<audit::Recording> open_recording(const std::string& id, const exec::Terminal& size,
                                                 const std::string& term);
  std::string next_id() { return std::to_string(conn_) + "." + std::to_string(++commands_); }
  void announce_started(const std::string& id);
  using Clock = std::chrono::steady_clock;
  SessionEnd wait_for_frames();
  std::optional<SessionEnd> on_frame(const proto::Frame& f);
  std::optional<SessionEnd> wait_readable(Clock::time_point idle_deadline);
  SessionEnd end_idle() {
    return end_with_error(proto::ErrorCode::kIdle, {EndKind::kIdleTimeout, {}},
                          "idle for " + std::to_string(st_.config.idle_timeout) + " s");
  }
  SessionEnd end_stopping() {
    return end_with_error(proto::ErrorCode::kShutdown, {EndKind::kServerStopping, {}},
                          "the server is stopping");
  }
  SessionEnd end_with_error(proto::ErrorCode code, SessionEnd why, const std::string& msg) {
    send_error(code, msg);
    return why;
  }
  SessionEnd end_for_certificate() {
    const std::string why = live_.why().value_or("ended by the server");
    return end_with_error(proto::ErrorCode::kCertificate, {EndKind::kCertificate, why},
                          LiveSession::message(why));
  }

  State& st_;
  Channel ch_;
  tls::PeerIdentity id_;
  std::string peer_;
  std::uint64_t conn_;
  policy::Identity who_;
  std::uint64_t commands_ = 0;
  bool seen_exec_ = false;  // stdin/signal frames before the first exec break the protocol
  LiveSession live_;        // after id_: it refers to it
};

// Decide (done by the caller), plan, record, act, record.
std::optional<SessionEnd> Session::run_approved(const proto::ExecRequest& req,
                                                const policy::Decision& d) {
  const std::string id = next_id();
  const Account acct = account_for(d.run_as);
  Prepared p{plan_command(req, d, acct, {who_.cn, conn_}, st_.config),
             command_text(req),
             req.shell,
             nullptr,
             d.rule,
             nullptr};
  return launch(id, acct, p);
}

// The recording of terminal command `id`, beside the audit trail; nothing
// (after telling the client and auditing why) when it cannot be created.
std::optional<audit::Recording> Session::open_recording(const std::string& id,
                                                        const exec::Terminal& size,
                                                        const std::string& term) {
  const auto now = std::chrono::system_clock::now();
  const std::int64_t unix_now =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  auto rec = audit::Recording::create(
      directory_of(st_.config.audit_path()), recording_name(id, unix_now),
      {size.cols, size.rows, unix_now, term}, {.max_bytes = st_.config.max_recording});
  if (rec) return std::move(*rec);
  st_.log->error("conn {}: {}", conn_, rec.message());
  if (record_or_refuse(audit::ExecEnd::not_started(conn_, id, who_.cn, rec.message()))) {
    send_exit(
        {proto::ExitKind::kFailed, 0, 0, false, "the server cannot write the session recording"});
  }
  return std::nullopt;
}

std::optional<SessionEnd> Session::launch(const std::string& id, const Account& acct, Prepared& p) {
  auto& plan = p.plan;
  plan.limits.stop_fd = st_.stop_fd.get();
  plan.limits.hard_stop_fd = st_.hard_stop_fd.get();
  plan.limits.live = &live_;
  if (!record_or_refuse(
          audit::ExecStart{conn_, id, who_.cn, p.text, plan.spec.cwd, acct.name, p.rule, p.tty})) {
    return std::nullopt;
  }
  std::optional<audit::Recording> recording;
  if (plan.spec.terminal) {
    recording = open_recording(id, *plan.spec.terminal, p.terminal->term);
    if (!recording) return std::nullopt;
    plan.limits.recording = &*recording;
  }
  auto proc = start_process(plan.spec, p.shell);
  if (!proc) {
    if (record_or_refuse(audit::ExecEnd::not_started(conn_, id, who_.cn, proc.message()))) {
      send_exit({proto::ExitKind::kNotFound, 127, 0, false, proc.message()});
    }
    return std::nullopt;
  }
  announce_started(id);
  auto out = run_command(ch_, *proc, plan.limits);
  std::optional<audit::RecordingInfo> recorded;
  if (recording) {
    auto info = recording->finish();
    if (!info && !out.recording_error) out.recording_error = info.message();
    if (info) recorded = std::move(*info);
  }
  auto end = end_record(conn_, id, who_.cn, out);
  end.recording = std::move(recorded);
  // After a protocol error or a certificate found no longer valid, the error
  // frame was the session's last word.
  if (out.error_sent()) {
    record(end);
  } else if (record_or_refuse(end)) {
    send_exit(out.exit);
  }
  return out.session_end;
}

std::optional<SessionEnd> Session::handle_terminal(const std::string& payload) {
  auto req = proto::decode_terminal(payload);
  if (!req) {
    return end_with_error(proto::ErrorCode::kProtocol, {EndKind::kProtocolError, req.message()},
                          req.message());
  }
  const auto decision = st_.policy()->decide(who_, policy_request(*req));
  const Account acct = account_for(decision.run_as);
  if (!decision.allowed) {
    if (record_or_refuse(audit::ExecDenied{conn_, who_.cn, command_text(*req, acct), decision.rule,
                                           decision.reason})) {
      send_exit({proto::ExitKind::kDenied, 0, 0, false, decision.reason});
    }
    return std::nullopt;
  }
  const std::string id = next_id();
  Prepared p{plan_terminal(*req, decision, acct, {who_.cn, conn_}, st_.config),
             command_text(*req, acct),
             req->command && req->command->shell,
             terminal_audit(*req),
             decision.rule,
             &*req};
  return launch(id, acct, p);
}

void Session::announce_started(const std::string& id) {
  ch_.send(proto::FrameType::kStarted, id);
  // Send it now: the command loop flushes only once something else wakes it,
  // so a quiet command (sleep) would keep the client from knowing it runs.
  if (auto r = ch_.flush(); r.status == tls::IoStatus::kError) {
    st_.log->warn("conn {}: cannot send started: {}", conn_, r.error);
  }
}

std::optional<SessionEnd> Session::handle_exec(const std::string& payload) {
  auto req = proto::decode_exec(payload);
  if (!req) {
    return end_with_error(proto::ErrorCode::kProtocol, {EndKind::kProtocolError, req.message()},
                          req.message());
  }
  const auto policy = st_.policy();
  const auto decision = policy->decide(who_, policy::Request{req->shell, req->argv, req->command});
  if (!decision.allowed) {
    if (record_or_refuse(audit::ExecDenied{conn_, who_.cn, command_text(*req), decision.rule,
                                           decision.reason})) {
      send_exit({proto::ExitKind::kDenied, 0, 0, false, decision.reason});
    }
    return std::nullopt;
  }
  return run_approved(*req, decision);
}

bool is_request(proto::FrameType t) {
  return t == proto::FrameType::kExec || t == proto::FrameType::kPut ||
         t == proto::FrameType::kGet || t == proto::FrameType::kTerminal;
}

// A request (exec, terminal, put, get) is served; stdin, a signal, a put's
// data or a terminal's keys or size that raced the end of the last request
// (a put refused midway) is too late and dropped. Before any request there
// is nothing they could have raced.
std::optional<SessionEnd> Session::on_frame(const proto::Frame& f) {
  if (is_request(f.type)) {
    // Checked here too: a client that keeps the socket busy skips the poll.
    if (live_.why()) return end_for_certificate();
    seen_exec_ = true;
    TransferContext files{st_, ch_, who_, conn_, commands_};
    auto end = f.type == proto::FrameType::kExec       ? handle_exec(f.payload)
               : f.type == proto::FrameType::kTerminal ? handle_terminal(f.payload)
                                                       : serve_transfer(files, f);
    if (end) return end;
    if (!ch_.flush_all(std::chrono::seconds(st_.config.idle_timeout))) {
      return SessionEnd{EndKind::kClientGone, {}};
    }
    if (st_.stopping) return end_stopping();
    return std::nullopt;
  }
  const bool late_input = f.type == proto::FrameType::kStdin ||
                          f.type == proto::FrameType::kSignal ||
                          f.type == proto::FrameType::kData || f.type == proto::FrameType::kTty ||
                          f.type == proto::FrameType::kWindow;
  if (late_input && seen_exec_) return std::nullopt;
  const std::string what = "unexpected " + std::string(proto::type_name(f.type)) + " frame" +
                           (late_input ? " before any command" : "");
  return end_with_error(proto::ErrorCode::kProtocol, {EndKind::kProtocolError, what}, what);
}

// Waits until the socket is readable, the idle deadline passes, the server
// stops or a reload ends the session.
std::optional<SessionEnd> Session::wait_readable(Clock::time_point idle_deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(idle_deadline - Clock::now()).count();
  if (left <= 0) return end_idle();
  if (ch_.has_pending()) return std::nullopt;
  pollfd fds[3] = {
      {ch_.fd(), POLLIN, 0}, {st_.stop_fd.get(), POLLIN, 0}, {live_.ended_fd(), POLLIN, 0}};
  const int r = ::poll(fds, 3, static_cast<int>(std::min<std::int64_t>(left, 60'000)));
  if (fds[2].revents != 0) return end_for_certificate();
  if (r == 0 && Clock::now() >= idle_deadline) return end_idle();
  if (fds[1].revents != 0) return end_stopping();
  return std::nullopt;
}

// Serves frames between and through commands until the session ends.
SessionEnd Session::wait_for_frames() {
  // The idle clock counts from the session's start or the end of the last
  // request, whatever frames arrive meanwhile (late stdin keeps nothing
  // open), in 64-bit milliseconds.
  const auto idle = std::chrono::milliseconds(std::int64_t{st_.config.idle_timeout} * 1000);
  auto idle_deadline = Clock::now() + idle;
  for (;;) {
    proto::Frame f;
    const auto state = ch_.next(f);
    if (state == proto::Decoder::State::kError) {
      return end_with_error(proto::ErrorCode::kProtocol,
                            {EndKind::kProtocolError, ch_.decode_error()}, ch_.decode_error());
    }
    if (state == proto::Decoder::State::kFrame) {
      const bool request = is_request(f.type);
      if (auto end = on_frame(f)) return *end;
      if (request) idle_deadline = Clock::now() + idle;
      continue;
    }
    if (auto end = wait_readable(idle_deadline)) return *end;
    auto r = ch_.receive(256 * 1024);
    if (r.status == tls::IoStatus::kClosed) return {EndKind::kClientClosed, {}};
    if (r.status == tls::IoStatus::kError) return {EndKind::kConnectionError, r.error};
  }
}

void Session::run(const tls::Context* handshake) {
  const auto& id = id_;
  st_.log->info("conn {} from {}: cn={} serial={} issuer={}", conn_, peer_, id.cn, id.serial,
                id.issuer);
  if (!record(audit::SessionOpen{conn_, peer_, id.cn, id.ou, id.serial, id.fingerprint,
                                 id.not_after, id.issuer})) {
    send_error(proto::ErrorCode::kAudit, kAuditFailure);
    ch_.flush_all(std::chrono::seconds(2));
    ch_.shutdown();
    return;
  }
  const LiveSessions::Registration registered(st_, live_, handshake);
  // Without its eventfd a reload could not end the session: refuse it.
  const std::string reason =
      live_.ended_fd() < 0
          ? end_with_error(proto::ErrorCode::kInternal,
                           {EndKind::kConnectionError, "no eventfd: out of file descriptors"},
                           "the server is out of file descriptors; try again later")
                .text()
          : wait_for_frames().text();
  ch_.flush_all(std::chrono::seconds(2));
  ch_.shutdown();
  record(audit::SessionClose{conn_, id.cn, reason, commands_});
  st_.log->info("conn {} closed: {} ({} commands)", conn_, reason, commands_);
}

}  // namespace

void serve_session(State& st, Channel channel, tls::PeerIdentity id, const std::string& peer,
                   std::uint64_t conn, const tls::Context* handshake) {
  Session(st, std::move(channel), std::move(id), peer, conn).run(handshake);
}

void serve_admitted(State& st, Admission a) {
  tls::PeerIdentity id = a.conn.peer();
  const tls::Context* handshake = a.conn.context();
  serve_session(st, Channel(std::move(a.conn)), std::move(id), a.peer, a.id, handshake);
}

void refuse_busy(State& st, Admission a) {
  Channel ch(std::move(a.conn));
  ch.send(
      proto::FrameType::kError,
      proto::encode(proto::ErrorInfo{proto::ErrorCode::kBusy,
                                     "server busy: all " + std::to_string(st.config.max_sessions) +
                                         " sessions are in use; try again later"}));
  ch.flush_all(std::chrono::seconds(1));
  ch.shutdown();
}

}  // namespace trex::server

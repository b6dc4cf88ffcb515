// trex: the thin client. Parses options, connects, runs, maps the result to
// the exit status table of the README.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "common.hpp"
#include "trex/client_text.hpp"
#include "trex/host.hpp"
#include "trex/tls.hpp"

namespace trex::trex_cli {
namespace {

int interrupt_pipe[2] = {-1, -1};
volatile std::sig_atomic_t at_prompt = 0;
volatile std::sig_atomic_t prompt_hit = 0;

// Every interrupt is a byte in the pipe, whatever the program is doing, so
// none is lost between two looks; at the prompt it is also marked, so that
// the line reader can tell one typed while editing from one typed after the
// line was accepted (which belongs to the command).
void on_sigint(int) {
  const int saved = errno;
  if (at_prompt != 0) prompt_hit = 1;
  const char b = 1;
  [[maybe_unused]] auto n = ::write(interrupt_pipe[1], &b, 1);
  errno = saved;
}

}  // namespace

// -v: where trex connected, whom it found there and how. The certificate's
// fields were checked by the handshake but are still the server's words.
void describe_session(const trex::client::Session& s) {
  using trex::client::escape_controls;
  const auto& t = s.target();
  const auto& peer = s.server();
  std::fprintf(stderr, "trex: connected to %s, server certificate for %s\n",
               trex::host::join_host_port(t.host, t.port).c_str(), t.expected_name().c_str());
  std::fprintf(stderr, "trex: server certificate CN=%s serial %s, expires %s\n",
               escape_controls(peer.cn).c_str(), escape_controls(peer.serial).c_str(),
               escape_controls(peer.not_after).c_str());
  std::fprintf(stderr, "trex: %s\n", escape_controls(s.cipher()).c_str());
}

int run_single(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx,
               const std::optional<ReusePlan>& plan) {
  auto target = target_of(args.hosts.front(), args);
  if (!target) return fail(target.message());
  auto session =
      trex::client::Session::open(ctx, *target, std::chrono::seconds(args.connect_timeout));
  if (!session) return fail(session.message());
  if (args.verbose) describe_session(*session);
  install_interrupt_handler();
  trex::client::StdOutput out;
  const auto req = request_of(args);
  auto result = session->run(req, out, args.no_stdin ? -1 : STDIN_FILENO, interrupt_fd(),
                             run_limits(args, false));
  if (args.verbose && !session->command_id().empty()) {
    std::fprintf(stderr, "trex: command id %s (the id of its audit records)\n",
                 session->command_id().c_str());
  }
  if (!result) {
    const int status = fail(result.message());
    return session->abandoned() ? 128 + SIGINT : status;
  }
  if (plan && plan->start_master) {
    keep_for_reuse(args, *plan, std::move(ctx), *session);
  } else {
    session->close();
  }
  return report_exit(args, *result);
}

int report_exit(const trex::client::Args& args, const trex::proto::ExitInfo& info) {
  switch (info.kind) {
    case trex::proto::ExitKind::kDenied:
      std::fprintf(stderr, "trex: not allowed by the server's policy: %s\n", info.message.c_str());
      break;
    case trex::proto::ExitKind::kNotFound:
    case trex::proto::ExitKind::kFailed:
      std::fprintf(stderr, "trex: %s\n", info.message.c_str());
      break;
    case trex::proto::ExitKind::kTimedOut:
      std::fprintf(stderr, "trex: the command %s and was killed\n", info.message.c_str());
      break;
    default:
      if (info.truncated) std::fprintf(stderr, "trex: %s\n", info.message.c_str());
      if (args.verbose && info.kind == trex::proto::ExitKind::kSignaled) {
        std::fprintf(stderr, "trex: killed by signal %d\n", info.signal);
      }
  }
  return trex::proto::client_exit_status(info);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "trex: %s\n", message.c_str());
  return kOwnFailure;
}

int interrupt_fd() { return interrupt_pipe[0]; }

void drain_interrupts() {
  char buf[64];
  while (interrupt_pipe[0] >= 0 && ::read(interrupt_pipe[0], buf, sizeof(buf)) > 0) {
  }
}

void set_at_prompt(bool on) { at_prompt = on ? 1 : 0; }

bool take_prompt_interrupt() {
  const bool hit = prompt_hit != 0;
  prompt_hit = 0;
  return hit;
}

void install_interrupt_handler() {
  if (interrupt_pipe[0] >= 0) return;
  if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
}

trex::client::RunLimits run_limits(const trex::client::Args& args, bool fan_out) {
  trex::client::RunLimits limits;
  const auto now = std::chrono::steady_clock::now();
  if (fan_out && args.host_timeout > 0) {
    limits.deadline = now + std::chrono::seconds(args.host_timeout);
    limits.deadline_reason = "--host-timeout " + std::to_string(args.host_timeout) + " s";
  } else if (args.timeout > 0) {
    limits.deadline = now + std::chrono::seconds(args.timeout) + kResultGrace;
    limits.deadline_reason = "--timeout " + std::to_string(args.timeout) + " s + " +
                             std::to_string(kResultGrace.count()) + " s";
  }
  return limits;
}

trex::proto::ExecRequest request_of(const trex::client::Args& args) {
  trex::proto::ExecRequest req;
  req.shell = args.shell;
  req.command = args.shell_command;
  req.argv = args.argv;
  req.timeout_s = args.timeout;
  req.stdin_open = !args.no_stdin;
  return req;
}

// --help, --version, or a command that cannot fit in one request: answered
// before any config is read or connection made. The exit code, or nothing.
std::optional<int> answer_early(const trex::client::Args& args) {
  if (args.help) {
    std::fputs(trex::client::kUsage, stdout);
    return 0;
  }
  if (args.version) {
    std::printf("trex %s\n", TREX_VERSION);
    return 0;
  }
  if (args.shell || !args.argv.empty()) {
    if (auto enc = trex::proto::encode(request_of(args)); !enc) return fail(enc.message());
  }
  return std::nullopt;
}

}  // namespace trex::trex_cli

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // wolfSSL does not pass MSG_NOSIGNAL
  std::vector<std::string> in(argv + 1, argv + argc);
  auto args = trex::client::parse_args(in);
  if (!args) return trex::trex_cli::fail(args.message());
  if (auto code = trex::trex_cli::answer_early(*args)) return *code;
  if (auto st = trex::trex_cli::load_config(*args); !st) return trex::trex_cli::fail(st.message());
  auto hosts = trex::trex_cli::host_list(*args);
  if (!hosts) return trex::trex_cli::fail(hosts.message());
  if (args->files != trex::client::FileCommand::kNone && hosts->size() > 1) {
    return trex::trex_cli::fail("trex put and trex get work with one host at a time");
  }
  // --json and -b for one host are a fan-out of one: the same output, the same code.
  const bool many = args->files == trex::client::FileCommand::kNone &&
                    (args->fan_out || hosts->size() > 1 || args->json || args->gather);
  if (many && !args->shell && args->argv.empty()) {
    return trex::trex_cli::fail((args->json || args->gather) && !args->fan_out && hosts->size() == 1
                                    ? "--json and -b need a command (not for interactive mode)"
                                    : "fan-out needs a command (interactive mode is for one host)");
  }
  args->hosts = std::move(*hosts);
  if (!args->control.empty()) {
    if (many || args->hosts.size() != 1) return trex::trex_cli::fail("-O takes one host");
    return trex::trex_cli::control_master(*args);
  }
  // A command for one host may go through a connection master: before any
  // certificate is read, as that is what the master saves.
  std::optional<trex::trex_cli::ReusePlan> plan;
  const bool single = !many && args->files == trex::client::FileCommand::kNone &&
                      (args->shell || !args->argv.empty());
  if (single) {
    if (auto target = trex::trex_cli::target_of(args->hosts.front(), *args)) {
      plan = trex::trex_cli::reuse_plan(*args, *target);
    }
    if (plan) {
      if (auto status = trex::trex_cli::run_via_master(*args, *plan)) return *status;
    }
  }
  trex::tls::Library tls_library;
  if (many) {
    if (auto st = trex::trex_cli::prepare_fanout_stdin(*args); !st)
      return trex::trex_cli::fail(st.message());
    return trex::trex_cli::fan_out(*args, args->hosts);
  }
  auto ctx = trex::trex_cli::context_for(args->hosts.front(), *args);
  if (!ctx) return trex::trex_cli::fail(ctx.message());
  if (args->files != trex::client::FileCommand::kNone) {
    return trex::trex_cli::transfer(*args, *ctx);
  }
  const bool no_command = !args->shell && args->argv.empty();
  const bool on_terminal = ::isatty(STDIN_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0;
  if (args->tty == trex::client::TtyMode::kForce ||
      (no_command && on_terminal && args->tty == trex::client::TtyMode::kAuto)) {
    return trex::trex_cli::terminal(*args, *ctx);
  }
  if (no_command) return trex::trex_cli::interactive(*args, *ctx);
  return trex::trex_cli::run_single(*args, *ctx, plan);
}

// trex -t: the local terminal in raw mode, restored on every way out (return,
// exit, a fatal or terminating signal), its size sent at the start and on
// every SIGWINCH.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common.hpp"
#include "trex/client_terminal.hpp"

namespace trex::trex_cli {
namespace {

termios saved_mode;
volatile std::sig_atomic_t raw_active = 0;
int window_pipe[2] = {-1, -1};

// Async-signal-safe: tcsetattr is.
void restore_terminal() {
  if (raw_active == 0) return;
  ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_mode);
  raw_active = 0;
}

// Whatever ends trex leaves the terminal as it found it.
void on_fatal(int sig) {
  restore_terminal();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_window(int) {
  const int saved = errno;
  const char b = 1;
  [[maybe_unused]] auto n = ::write(window_pipe[1], &b, 1);
  errno = saved;
}

void install(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(sig, &sa, nullptr);
}

// Raw mode for the session's life: every key goes to the remote terminal
// (Ctrl-C, Ctrl-Z and Ctrl-\ as bytes, no local echo or line editing).
class RawMode {
 public:
  RawMode() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_mode) != 0) return;
    for (const int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE}) {
      install(sig, on_fatal);
    }
    static const bool registered = std::atexit(restore_terminal) == 0;
    (void)registered;
    termios raw = saved_mode;
    ::cfmakeraw(&raw);
    if (::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0) raw_active = 1;
  }
  ~RawMode() { restore_terminal(); }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
};

trex::proto::WindowSize window_size() {
  winsize ws{};
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0) return {ws.ws_row, ws.ws_col};
  }
  return {0, 0};
}

trex::proto::TerminalRequest request_for(const trex::client::Args& args) {
  trex::proto::TerminalRequest req;
  const char* term = std::getenv("TERM");
  req.term = term != nullptr ? term : "";
  req.size = window_size();
  if (args.shell || !args.argv.empty()) req.command = request_of(args);
  // A TERM the protocol cannot carry (a control character, too long): none.
  if (!trex::proto::encode(req)) req.term.clear();
  return req;
}

// Runs the session with the terminal raw; the screen goes to stdout.
trex::Result<trex::proto::ExitInfo> run_raw(trex::client::Session& session,
                                            const trex::proto::TerminalRequest& req,
                                            const trex::client::Args& args) {
  if (window_pipe[0] < 0 && ::pipe2(window_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    install(SIGWINCH, on_window);
  }
  trex::client::TerminalIo io;
  io.input_fd = STDIN_FILENO;
  io.window_fd = window_pipe[0];
  io.window = window_size;
  io.message_fd = STDOUT_FILENO;
  trex::client::StdOutput out;
  const RawMode raw;
  return session.run_terminal(req, out, io, run_limits(args, false));
}

}  // namespace

int terminal(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx) {
  auto target = target_of(args.hosts.front(), args);
  if (!target) return fail(target.message());
  auto session = trex::client::Session::open(std::move(ctx), *target,
                                             std::chrono::seconds(args.connect_timeout));
  if (!session) return fail(session.message());
  if (args.verbose) describe_session(*session);
  const auto req = request_for(args);
  auto result = run_raw(*session, req, args);
  if (args.verbose && !session->command_id().empty()) {
    std::fprintf(stderr, "trex: command id %s (its recording: trex-audit play %s)\n",
                 session->command_id().c_str(), session->command_id().c_str());
  }
  if (!result) return fail(result.message());
  // trex HOST alone: a policy without a terminal for us means line mode.
  const bool asked = args.tty == trex::client::TtyMode::kForce;
  if (!asked && result->kind == trex::proto::ExitKind::kDenied) {
    if (args.verbose) std::fprintf(stderr, "trex: no terminal: %s\n", result->message.c_str());
    return interactive_on(args, *session);
  }
  session->close();
  return report_exit(args, *result);
}

}  // namespace trex::trex_cli

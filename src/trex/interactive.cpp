// Interactive mode: one shell line per prompt over one TLS session.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "common.hpp"
#include "line_reader.hpp"

namespace trex::trex_cli {
namespace {

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; }

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

int interactive(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx) {
  auto target = target_of(args.hosts.front(), args);
  if (!target) return fail(target.message());
  auto session = trex::client::Session::open(std::move(ctx), *target,
                                             std::chrono::seconds(args.connect_timeout));
  if (!session) return fail(session.message());
  return interactive_on(args, *session);
}

int interactive_on(const trex::client::Args& args, trex::client::Session& session_ref) {
  auto* session = &session_ref;
  install_interrupt_handler();
  LineReader reader("trex " + session->target().host + "$ ");
  trex::client::StdOutput out;
  int last = 0;
  for (;;) {
    auto next = reader.next();
    if (!next) {
      // Without a terminal, Ctrl-C while waiting for a line ends trex.
      if (reader.interrupted()) last = 128 + SIGINT;
      break;
    }
    const std::string& line = *next;
    if (is_blank(line)) continue;
    const std::string cmd = trimmed(line);
    if (cmd == "exit" || cmd == "quit") break;
    trex::proto::ExecRequest req;
    req.shell = true;
    req.command = cmd;
    req.timeout_s = args.timeout;
    req.stdin_open = false;  // stdin carries the next lines
    auto result = session->run(req, out, -1, interrupt_fd(), run_limits(args, false));
    if (!result) {
      const int status = fail(result.message());
      return session->abandoned() ? 128 + SIGINT : status;
    }
    last = trex::proto::client_exit_status(*result);
    if (result->kind == trex::proto::ExitKind::kDenied) {
      std::fprintf(stderr, "trex: not allowed by the server's policy: %s\n",
                   result->message.c_str());
    } else if (!result->message.empty()) {
      std::fprintf(stderr, "trex: %s\n", result->message.c_str());
    }
    if (last != 0) std::fprintf(stderr, "[exit %d]\n", last);
  }
  session->close();
  return last;
}

}  // namespace trex::trex_cli

// trexd: parses options, loads configuration, certificates, policy and the
// audit trail, then runs the server. Exit 2 when it cannot start.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "trex/server.hpp"
#include "trex/tls.hpp"
#include "trexd/check.hpp"
#include "trexd/startup.hpp"
#include "util/size.hpp"
#include "util/unique_fd.hpp"

namespace {

using trex::config::ServerConfig;

struct Cli {
  ServerConfig config;
  bool check = false;
  std::string explain_cn;
  std::vector<std::string> explain_ou, explain_cmd;
  std::string explain_put, explain_get;  // --put PATH / --get PATH
  bool explain_tty = false;
};

// --config is read before the other flags so that flags override the file.
std::string find_config_flag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--config" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--config=", 0) == 0) return std::string(a.substr(9));
  }
  return "";
}

bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == flag) return true;
  }
  return false;
}

// A configuration that cannot be used: with --check-config a finding in the
// report (exit 1), else a refusal to start (exit 2).
int config_failure(bool checking, const std::string& message) {
  if (checking) {
    std::printf("error: %s\nconfiguration has 1 error(s)\n", message.c_str());
    return 1;
  }
  std::fprintf(stderr, "trexd: %s\n", message.c_str());
  return 2;
}

// A byte count that takes the same forms as the configuration file: 1048576, "64M".
void add_size_option(CLI::App& app, const std::string& name, std::uint64_t& target,
                     std::uint64_t min, const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [&target, name, min](const std::string& v) {
           auto size = trex::util::parse_size(v);
           if (!size || *size < min) {
             throw CLI::ValidationError(name, "must be a size of at least " + std::to_string(min) +
                                                  " bytes, like 1048576 or 64M, not '" + v + "'");
           }
           target = *size;
         },
         help)
      ->default_str(std::to_string(target));
}

void add_server_options(CLI::App& app, ServerConfig& c) {
  app.add_option("--config", "TOML file whose keys are the long flag names with '_' for '-'");
  app.add_option(
         "--listen", c.listen,
         "ADDR:PORT to listen on; [v6]:PORT for IPv6, [::]:PORT for IPv6 and IPv4 (dual stack)")
      ->capture_default_str();
  app.add_option("--ca", c.ca,
                 "trusted CA certificates (root, or several): clients' chains must lead to one")
      ->capture_default_str();
  app.add_option("--cert", c.cert, "server certificate file: the leaf, then its intermediates")
      ->capture_default_str();
  app.add_option("--key", c.key, "server private key")->capture_default_str();
  app.add_option("--crl", c.crl,
                 "PEM file of CRLs, one per CA of every chain (default: pki/crl.pem unless "
                 "--crl-dir is given)");
  app.add_option("--crl-dir", c.crl_dir,
                 "directory of CRL files (*.pem, *.crl), read with --crl; every CA in a "
                 "client's chain needs a current CRL");
  app.add_option("--policy", c.policy,
                 "authorization policy: who may run what (required unless --allow-all)");
  app.add_flag("--allow-all", c.allow_all,
               "no policy: every certificate the CA signed may run anything as trexd's user");
  app.add_option("--log-dir", c.log_dir, "directory for server.log and audit.jsonl")
      ->capture_default_str();
  app.add_option("--audit-log", c.audit_log, "audit trail file (default: LOG_DIR/audit.jsonl)");
}

void add_limit_options(CLI::App& app, ServerConfig& c) {
  app.add_option("--max-sessions", c.max_sessions, "sessions served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--command-timeout", c.command_timeout, "seconds a command may run")
      ->capture_default_str()
      ->check(CLI::Range(1, 30 * 86400));
  app.add_option("--handshake-timeout", c.handshake_timeout, "seconds for the TLS handshake")
      ->capture_default_str()
      ->check(CLI::Range(1, 300));
  app.add_option("--idle-timeout", c.idle_timeout, "seconds a session may wait between commands")
      ->capture_default_str()
      ->check(CLI::Range(1, 30 * 86400));
  add_size_option(app, "--max-output", c.max_output, 1,
                  "bytes of stdout+stderr per command before it is cut (K/M/G/T, optional B)");
  add_size_option(app, "--max-recording", c.max_recording, 4096,
                  "bytes of a terminal session's recording; the session is ended when it would "
                  "grow past them (K/M/G/T, optional B)");
  app.add_option("--kill-grace", c.kill_grace, "seconds between SIGTERM and SIGKILL")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
}

void add_audit_options(CLI::App& app, ServerConfig& c) {
  app.add_flag("--audit-fsync", c.audit_fsync, "fdatasync after every audit record");
  add_size_option(app, "--audit-max-bytes", c.audit_max_bytes, 4096,
                  "rotate the audit trail at this size (K/M/G/T, optional B)");
  app.add_flag("--syslog", c.syslog, "also send the operational log to syslog");
  app.add_flag("--audit-syslog", c.audit_syslog,
               "also send every audit record to syslog (authpriv, RFC 5424, the same JSON line)");
  app.add_option("--audit-syslog-socket", c.audit_syslog_socket,
                 "the syslog socket --audit-syslog sends to")
      ->capture_default_str()
      ->type_name("PATH");
  app.add_option("--audit-head-syslog", c.audit_head_syslog,
                 "syslog socket that gets the audit trail's head (SEQ:HASH) at start, "
                 "rotation, stop and every --audit-head-interval; 'none' for no copy")
      ->capture_default_str();
  app.add_option("--audit-head-interval", c.audit_head_interval,
                 "seconds between copies of the audit head to syslog (0: only at start, "
                 "rotation and stop)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  app.add_flag("--accept-shortened-trail", c.accept_shortened_trail,
               "start although the audit trail no longer reaches the head in its state file "
               "(LOG_DIR/audit.jsonl.head): it was cut short or rolled back; server_start "
               "records both heads");
}

void add_options(CLI::App& app, Cli& cli) {
  add_server_options(app, cli.config);
  add_limit_options(app, cli.config);
  add_audit_options(app, cli.config);
  app.add_option("--cgroup", cli.config.cgroup,
                 "where each command gets a cgroup of its own, ended with cgroup.kill: 'auto' "
                 "(trexd's own cgroup v2 group, if it may make groups there), 'off' (the "
                 "per-command reaper alone), or the directory of a cgroup v2 group")
      ->capture_default_str()
      ->type_name("auto|off|DIR");
  app.add_flag("--check-config", cli.check,
               "check configuration, certificates, CRL and policy, then exit");
  app.add_option("--explain", cli.explain_cn,
                 "with -- COMMAND...: say which policy rule decides for CN");
  app.add_option("--ou", cli.explain_ou, "with --explain: the identity's OU (repeatable)");
  app.add_option("--put", cli.explain_put,
                 "with --explain: explain a trex put of this server path instead of a command");
  app.add_option("--get", cli.explain_get,
                 "with --explain: explain a trex get of this server path instead of a command");
  app.add_flag("--tty", cli.explain_tty,
               "with --explain: the request is for a terminal (trex -t); without a command, a "
               "login shell");
  app.footer(
      "With --explain CN [--ou OU] [--tty]: -- COMMAND... (or -- -c 'SHELL STRING') is the request "
      "to "
      "explain, or --put PATH / --get PATH a file transfer.");
  app.set_version_flag("--version", std::string("trexd ") + TREX_VERSION);
}

int explain(const Cli& cli) {
  auto loaded = trex::server::load_policy(cli.config);
  if (!loaded) {
    std::fprintf(stderr, "trexd: %s\n", loaded.message().c_str());
    return 2;
  }
  const trex::policy::Policy& policy = *loaded;
  const trex::policy::Identity who{cli.explain_cn, cli.explain_ou};
  const int transfers = !cli.explain_put.empty() + !cli.explain_get.empty();
  if (transfers + (!cli.explain_cmd.empty() || cli.explain_tty) != 1) {
    std::fprintf(
        stderr,
        "trexd: --explain needs one request: a command after -- (with --tty: or none, a login "
        "shell), --put PATH or --get PATH\n");
    return 2;
  }
  if (transfers != 0) {
    const bool put = !cli.explain_put.empty();
    const trex::policy::FileRequest file{
        put ? trex::policy::FileOp::kPut : trex::policy::FileOp::kGet,
        put ? cli.explain_put : cli.explain_get};
    for (const auto& line : policy.explain_file(who, file)) std::printf("%s\n", line.c_str());
    return policy.decide_file(who, file).allowed ? 0 : 1;
  }
  trex::policy::Request req;
  req.tty = cli.explain_tty;
  req.login = cli.explain_tty && cli.explain_cmd.empty();
  if (cli.explain_cmd.size() == 2 && cli.explain_cmd[0] == "-c") {
    req.shell = true;
    req.command = cli.explain_cmd[1];
  } else if (!req.login) {
    req.argv = cli.explain_cmd;
  }
  for (const auto& line : policy.explain(who, req)) std::printf("%s\n", line.c_str());
  return policy.decide(who, req).allowed ? 0 : 1;
}

// An expired CRL or certificate locks everyone out: say so ahead of time.
void log_expiry(const ServerConfig& config, spdlog::logger& log) {
  for (const auto& w : trex::trexd::expiry_warnings(config)) log.warn("{}", w);
}

// Signals are taken by one thread with sigwait; every other thread blocks
// them. The same thread repeats the expiry check once a day.
void run_signal_thread(trex::trexd::Running& running, const ServerConfig& config,
                       spdlog::logger& log, std::atomic<bool>& done) {
  auto& server = *running.server;
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
  const timespec tick{0, 200'000'000};
  const auto head_interval = std::chrono::seconds(config.audit_head_interval);
  auto next_check = std::chrono::steady_clock::now() + std::chrono::hours(24);
  auto next_head = std::chrono::steady_clock::now() + head_interval;
  while (!done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_check) {
      log_expiry(config, log);
      next_check += std::chrono::hours(24);
    }
    if (head_interval.count() > 0 && now >= next_head) {
      trex::trexd::report_head(running, "interval");
      next_head = now + head_interval;
    }
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGHUP) server.reload();
    if (sig == SIGTERM || sig == SIGINT) server.stop();
  }
}

// trexd reads nothing from its terminal and hands it to no one: stdin
// becomes /dev/null (stdout and stderr stay for the operator's log).
void detach_stdin() {
  trex::util::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null.valid()) return;
  if (null.get() == STDIN_FILENO) {
    (void)null.release();  // stdin was closed: /dev/null took its place
  } else {
    ::dup2(null.get(), STDIN_FILENO);
  }
}

// The config file, then the command line over it, validated. An exit code
// when trexd ends here (help, version, a bad option or value).
std::optional<int> parse_command_line(int argc, char** argv, Cli& cli) {
  // pki/crl.pem is the default only when no --crl-dir is given either.
  const std::string default_crl = std::exchange(cli.config.crl, "");
  const bool checking = has_flag(argc, argv, "--check-config");
  if (auto path = find_config_flag(argc, argv); !path.empty()) {
    auto c = trex::config::apply_toml_file(cli.config, path);
    if (!c) return config_failure(checking, c.message());
    cli.config = std::move(*c);
  }
  CLI::App app{"trexd: mutual-TLS remote command execution server"};
  add_options(app, cli);
  // Everything after "--" is the command for --explain, taken verbatim (CLI11
  // would still read "-c" there as an option).
  int own_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      own_argc = i;
      cli.explain_cmd.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "trexd: %s (see trexd --help)\n", e.what());
    return 2;
  }
  if (cli.config.crl.empty() && cli.config.crl_dir.empty()) cli.config.crl = default_crl;
  if (auto st = trex::config::validate(cli.config); !st) {
    return config_failure(cli.check, st.message());
  }
  return std::nullopt;
}

// Runs the server until it is stopped; its exit code.
int serve(const Cli& cli) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto log = trex::trexd::make_logger(cli.config);
  if (!log) {
    std::fprintf(stderr, "trexd: %s\n", log.message().c_str());
    return 2;
  }
  auto started = trex::trexd::start(cli.config, *log);
  if (!started) {
    (*log)->critical("cannot start: {}", started.message());
    if (!isatty(2)) std::fprintf(stderr, "trexd: %s\n", started.message().c_str());
    return 2;
  }
  detach_stdin();
  auto& server = *started->server;
  std::atomic<bool> done{false};
  log_expiry(cli.config, **log);
  std::thread signals([&] { run_signal_thread(*started, cli.config, **log, done); });
  server.run();
  done = true;
  signals.join();
  return trex::trexd::finish(*started, *log);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a command that closed its stdin gives EPIPE, not a signal
  // glibc gives each thread that allocates its own arena, up to 8 per CPU;
  // with 64 session threads each arena kept its own free memory and RSS
  // crept up ~11% over 10,000 sessions (soak test). One arena per CPU keeps
  // it flat (+1.4%). MALLOC_ARENA_MAX in the environment still wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  }
  Cli cli;
  if (auto code = parse_command_line(argc, argv, cli)) return *code;
  trex::tls::Library tls_library;
  if (!cli.explain_cn.empty()) return explain(cli);
  if (cli.check) return trex::trexd::check_config(cli.config, std::cout);
  if (const auto missing = trex::config::missing_policy(cli.config); !missing.empty()) {
    std::fprintf(stderr, "trexd: %s\n", missing.c_str());
    return 2;
  }
  return serve(cli);
}

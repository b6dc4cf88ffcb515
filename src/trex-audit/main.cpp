// trex-audit: verify, show and summarise the audit trail written by trexd.
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "trex-audit/commands.hpp"

namespace {

namespace cli = trex::trex_audit;
using trex::audit::Format;

struct Args {
  std::vector<std::string> files;
  std::string expect_text, checkpoint;
  std::string log_dir, since, until, format = "table", html;
  bool utc = false;
  cli::ShowOptions show;
  cli::PlayOptions play;
};

// Parses --since/--until; one clear line on a bad value.
bool set_time(const std::string& flag, const std::string& text, trex::audit::Zone zone,
              std::optional<trex::audit::TimePoint>& out) {
  if (text.empty()) return true;
  auto t = trex::audit::parse_time(text, std::chrono::system_clock::now(), zone);
  if (!t) {
    std::cerr << "trex-audit: " << flag << ": " << t.message() << '\n';
    return false;
  }
  out = *t;
  return true;
}

// Columns of the terminal on stdout; else $COLUMNS; else no limit (a pipe).
std::size_t terminal_width() {
  struct winsize ws {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  const char* env = std::getenv("COLUMNS");
  const long n = env ? std::atol(env) : 0;
  return n > 0 && n < 100000 ? static_cast<std::size_t>(n) : 0;
}

void add_common(CLI::App* cmd, Args& a) {
  cmd->add_option("FILE", a.files,
                  "audit files, oldest first (default: DIR/audit.jsonl and its rotated files)")
      ->type_name("");
  cmd->add_option("--log-dir", a.log_dir,
                  "trexd's log directory (default: $TREX_LOG_DIR, else ./log, else /var/log/trex)")
      ->type_name("DIR");
  cmd->add_option("--since", a.since,
                  "from TIME: RFC 3339, a date (2026-11-23) or a span before now (30m, 1h, "
                  "7d, 2w); without a zone: UTC, or this host's zone where times are shown in it")
      ->type_name("TIME");
  cmd->add_option("--until", a.until, "before TIME (same forms as --since)")->type_name("TIME");
}

// A list option: repeatable, each value a comma list. One value per flag, so
// that `--status failed FILE` leaves FILE to the FILE arguments.
CLI::Option* add_list(CLI::App* cmd, const std::string& name, std::vector<std::string>& to,
                      const std::string& help, const std::string& type) {
  return cmd->add_option(name, to, help)
      ->delimiter(',')
      ->type_name(type)
      ->type_size(1)
      ->allow_extra_args(false);
}

void add_filters(CLI::App* cmd, Args& a) {
  auto& q = a.show.query;
  add_list(cmd, "--client", q.clients, "only these client CNs (repeatable or comma list)", "CN");
  add_list(cmd, "--event", q.events, "only these events (repeatable or comma list)", "NAME");
  add_list(cmd, "--status", q.statuses,
           "only these outcomes: ok, failed, timeout, signal, denied, refused, running, or an "
           "exit code (comma list)",
           "WORD");
  add_list(cmd, "--rule", q.rules, "only commands allowed or denied by these rules (comma list)",
           "NAME");
  cmd->add_flag("--failed", q.failed_only,
                "only failures: refused handshakes, denials, non-zero exits, signals, timeouts");
  cmd->add_option("--format", a.format, "table (default), csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->type_name("FORMAT");
}

void add_show(CLI::App* show, Args& a) {
  auto& s = a.show;
  show->add_flag("--events", s.events, "one line per record instead of one per command");
  show->add_flag("--json", s.raw_json,
                 "print the matching raw records (as --events --format json)");
  show->add_flag("--wide", s.table.wide, "never cut a column to fit the terminal");
  show->add_flag(
      "-f,--follow", s.follow,
      "print the last lines, then records as they arrive, across rotation (Ctrl-C ends)");
  show->add_flag("--host-local", s.table.local_time, "show times in this host's time zone");
  show->add_flag("--utc", a.utc, "show times in UTC (the default)");
}

// Checks what CLI11 cannot; returns false after saying what was wrong.
bool finish(Args& a) {
  auto& q = a.show.query;
  if (a.utc) a.show.table.local_time = false;
  // Times are read in the zone they are shown in.
  const auto zone = a.show.table.local_time ? trex::audit::Zone::kLocal : trex::audit::Zone::kUtc;
  if (!set_time("--since", a.since, zone, q.since) || !set_time("--until", a.until, zone, q.until))
    return false;
  for (const auto& check :
       {trex::audit::check_event_names(q.events), trex::audit::check_status_words(q.statuses)}) {
    if (!check) {
      std::cerr << "trex-audit: " << check.message() << '\n';
      return false;
    }
  }
  a.show.format = a.format == "csv"    ? Format::kCsv
                  : a.format == "json" ? Format::kJson
                                       : Format::kTable;
  if (a.show.events && a.show.format == Format::kJson) a.show.raw_json = true;
  a.show.table.events = a.show.events;
  a.show.table.width = terminal_width();
  return true;
}

// --expect SEQ:HASH or --checkpoint FILE; false after saying what was wrong.
bool expect_of(const Args& a, std::optional<trex::audit::Anchor>& expect) {
  if (a.checkpoint.empty() && a.expect_text.empty()) return true;
  std::string text = a.expect_text;
  if (!a.checkpoint.empty()) {
    std::ifstream in(a.checkpoint);
    if (!in || !std::getline(in, text)) {
      std::cerr << "trex-audit: --checkpoint: cannot read " << a.checkpoint << '\n';
      return false;
    }
  }
  auto anchor = trex::audit::parse_anchor(text);
  if (!anchor) {
    std::cerr << "trex-audit: " << (a.checkpoint.empty() ? "--expect" : a.checkpoint) << ": "
              << anchor.message() << '\n';
    return false;
  }
  expect = *anchor;
  return true;
}

CLI::App* add_verify(CLI::App& app, Args& a) {
  auto* verify = app.add_subcommand("verify", "check the hash chain; print the first bad line");
  add_common(verify, a);
  verify
      ->add_option("--expect", a.expect_text,
                   "fail unless the trail reaches record SEQ with this hash (as printed by "
                   "verify as 'head:', or logged by trexd to syslog)")
      ->type_name("SEQ:HASH");
  verify
      ->add_option("--checkpoint", a.checkpoint,
                   "like --expect, SEQ:HASH read from FILE (e.g. a copy of trexd's "
                   "audit.jsonl.head)")
      ->type_name("FILE")
      ->excludes("--expect");
  return verify;
}

CLI::App* add_report(CLI::App& app, Args& a) {
  auto* report = app.add_subcommand(
      "report",
      "an HTML page: the chain's verification, commands per hour by client, failures and "
      "denials over time, the busiest commands and refused peers (default: the last 7 days)");
  add_common(report, a);
  add_list(report, "--client", a.show.query.clients, "only these client CNs (comma list)", "CN");
  report->add_option("--html", a.html, "write the report to FILE ('-': stdout)")
      ->required()
      ->type_name("FILE");
  return report;
}

CLI::App* add_play(CLI::App& app, Args& a) {
  auto* play = app.add_subcommand(
      "play", "replay a terminal session's recording (trex -t) at its pace, after checking it");
  play->add_option("ID", a.play.id,
                   "the command's id (as trex -v and show print it) or the "
                   "recording's file name")
      ->required();
  play->add_option("--speed", a.play.speed, "N times faster (default 1)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  play->add_option("--idle-limit", a.play.idle_limit, "pauses last at most S seconds")
      ->check(CLI::NonNegativeNumber)
      ->type_name("S");
  play->add_option("--log-dir", a.log_dir,
                   "trexd's log directory (default: $TREX_LOG_DIR, else ./log, else /var/log/trex)")
      ->type_name("DIR");
  play->add_option("--file", a.files, "audit files to look in, oldest first")->type_name("FILE");
  return play;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Review and verify the trex audit trail (hash-chained JSON lines)."};
  app.set_version_flag("--version", std::string("trex-audit ") + TREX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 ok, 1 broken chain or unreadable/skipped lines, 2 no trail or a usage "
      "error.\nRun 'trex-audit COMMAND --help' for the options of a command.");
  Args a;
  auto* verify = add_verify(app, a);
  auto* show = app.add_subcommand(
      "show", "one line per command, session, denial and refused handshake (--events: per record)");
  add_common(show, a);
  add_filters(show, a);
  add_show(show, a);
  auto* stats = app.add_subcommand(
      "stats", "counts per client, per command, per rule, and the most refused peers");
  add_common(stats, a);
  add_filters(stats, a);
  auto* report = add_report(app, a);
  auto* play = add_play(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : cli::kUsage;
  }
  if (!finish(a)) return cli::kUsage;
  const auto trail = cli::find_trail(a.files, a.log_dir);
  if (!trail) {
    std::cerr << "trex-audit: " << trail.message() << '\n';
    return cli::kUsage;
  }
  if (verify->parsed()) {
    std::optional<trex::audit::Anchor> expect;
    if (!expect_of(a, expect)) return cli::kUsage;
    return cli::run_verify(*trail, a.show.query, expect);
  }
  if (play->parsed()) return cli::run_play(*trail, a.play);
  if (stats->parsed()) return cli::run_stats(*trail, a.show.query, a.show.format);
  if (report->parsed()) return cli::run_report(*trail, a.show.query, a.html);
  return a.show.follow ? cli::run_follow(*trail, a.show) : cli::run_show(*trail, a.show);
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // e.g. out of memory: say so rather than abort
    std::cerr << "trex-audit: " << e.what() << '\n';
    return 1;
  }
}

// trex-audit: verify, show and summarise the audit trail written by trexd.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "trex-audit/commands.hpp"

namespace {

constexpr char kDefaultTrail[] = "log/audit.jsonl";

std::vector<std::string> trail_or(const std::vector<std::string>& files) {
  return files.empty() ? trex::audit::trail_files(kDefaultTrail) : files;
}

// Parses --since/--until; exits 2 with one clear line on a bad value.
bool set_time(const std::string& flag, const std::string& text,
              std::optional<trex::audit::TimePoint>& out) {
  if (text.empty()) return true;
  auto t = trex::audit::parse_time(text, std::chrono::system_clock::now());
  if (!t) {
    std::cerr << "trex-audit: " << flag << ": " << t.message() << '\n';
    return false;
  }
  out = *t;
  return true;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Review and verify the trex audit trail (hash-chained JSON lines)."};
  app.set_version_flag("--version", std::string("trex-audit ") + TREX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 ok, 1 broken chain or unreadable/skipped lines, 2 usage error.\n"
      "Run 'trex-audit COMMAND --help' for the options of a command.");
  const std::string files_help = std::string("audit files, oldest first (default: ") +
                                 kDefaultTrail + " and its rotated files)";

  std::vector<std::string> files;
  auto* verify = app.add_subcommand("verify", "check the hash chain; print the first bad line");
  verify->add_option("FILE", files, files_help)->type_name("");
  std::string expect_text, checkpoint;
  verify
      ->add_option("--expect", expect_text,
                   "fail unless the trail reaches record SEQ with this hash (as printed by "
                   "verify as 'head:', or logged by trexd to syslog)")
      ->type_name("SEQ:HASH");
  verify
      ->add_option("--checkpoint", checkpoint,
                   "like --expect, SEQ:HASH read from FILE (e.g. a copy of trexd's "
                   "audit.jsonl.head)")
      ->type_name("FILE")
      ->excludes("--expect");

  trex::audit::Filter filter;
  std::string since, until;
  bool json = false;
  auto* show = app.add_subcommand("show", "print records as a table, optionally filtered");
  show->add_option("FILE", files, files_help)->type_name("");
  show->add_option("--client", filter.clients, "only records of this client CN (repeatable)")
      ->type_name("CN");
  show->add_option("--event", filter.events, "only these events (repeatable or comma list)")
      ->delimiter(',')
      ->type_name("NAME");
  show->add_option("--since", since,
                   "from TIME: RFC 3339, a date (2026-11-23, UTC) or a span before now "
                   "(30m, 1h, 7d, 2w)")
      ->type_name("TIME");
  show->add_option("--until", until, "before TIME (same forms as --since)")->type_name("TIME");
  show->add_flag(
      "--failed", filter.failed_only,
      "only failures: auth_fail, exec_denied, exec_end with non-zero exit/signal/timeout");
  show->add_flag("--json", json, "print the matching raw records, one per line");

  auto* stats = app.add_subcommand(
      "stats", "per client: sessions, commands, failures, denials, refused handshakes, run time");
  stats->add_option("FILE", files, files_help)->type_name("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (verify->parsed()) {
    std::optional<trex::audit::Anchor> expect;
    if (!checkpoint.empty() || !expect_text.empty()) {
      std::string text = expect_text;
      if (!checkpoint.empty()) {
        std::ifstream in(checkpoint);
        if (!in || !std::getline(in, text)) {
          std::cerr << "trex-audit: --checkpoint: cannot read " << checkpoint << '\n';
          return 2;
        }
      }
      auto anchor = trex::audit::parse_anchor(text);
      if (!anchor) {
        std::cerr << "trex-audit: " << (checkpoint.empty() ? "--expect" : checkpoint) << ": "
                  << anchor.message() << '\n';
        return 2;
      }
      expect = *anchor;
    }
    return trex::audit::cli::run_verify(trail_or(files), expect);
  }
  if (stats->parsed()) return trex::audit::cli::run_stats(trail_or(files));
  if (!set_time("--since", since, filter.since) || !set_time("--until", until, filter.until)) {
    return 2;
  }
  return trex::audit::cli::run_show(trail_or(files), filter, json);
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // e.g. out of memory: say so rather than abort
    std::cerr << "trex-audit: " << e.what() << '\n';
    return 1;
  }
}

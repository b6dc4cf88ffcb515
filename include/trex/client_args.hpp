// The trex command line, parsed without side effects (unit-tested). Options
// may come before and after HOST, up to the first word that is not an option
// (the command) or "--", as ssh takes them:
//   trex [options] HOST[:PORT] COMMAND [ARG...]
//   trex [options] HOST[:PORT] -c 'SHELL STRING'
//   trex [options] HOST[:PORT]                      (a terminal, else interactive)
//   trex [options] -t HOST[:PORT] [COMMAND...]      (a terminal)
//   trex [options] -H HOST[,HOST...] [-H ...] COMMAND [ARG...] | -c '...'
//   trex put [options] LOCAL... HOST:REMOTE
//   trex get [options] HOST:REMOTE... LOCAL
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trex/result.hpp"

namespace trex::client {

enum class FileCommand { kNone, kPut, kGet };
// -t: a terminal on the server; -T: never; neither: a terminal when no
// command is given on a local terminal and the policy allows one.
enum class TtyMode { kAuto, kForce, kNever };

struct Args {
  std::string ca, cert, key;          // empty: environment, config, ~/.config/trex/
  std::string config;                 // --config FILE
  std::string crl;                    // --crl (env TREX_CRL): check the server's certificate
  std::optional<std::uint16_t> port;  // --port
  std::uint32_t timeout = 0;          // --timeout: ask for a shorter limit
  std::uint32_t connect_timeout = 10;
  bool connect_timeout_given = false;    // else the config file's may apply
  std::optional<std::uint32_t> persist;  // --persist: keep the connection for reuse (0: off)
  std::string control;                   // -O check|exit: ask the host's connection master
  bool no_stdin = false;                 // -n
  TtyMode tty = TtyMode::kAuto;          // -t / -T
  bool stdin_all = false;                // --stdin-all: a fan-out sends stdin to every host
  bool json = false;
  bool gather = false;             // -b: hosts with identical results printed once
  bool raw = false;                // --raw: fan-out output's control characters as they are
  std::uint32_t host_timeout = 0;  // --host-timeout: fan-out, each host's whole run
  bool verbose = false;
  bool quiet = false;  // -q: none of trex's own notes and warnings
  bool help = false, version = false;
  std::uint32_t parallel = 32;
  std::vector<std::string> hosts;  // HOST[:PORT] (one, or the fan-out list)
  std::string hosts_file;
  std::vector<std::string> groups;  // -g NAME: groups from the config file
  bool fan_out = false;             // -H, -g or --hosts-file given
  bool shell = false;               // -c
  std::string shell_command;
  std::vector<std::string> argv;           // empty and !shell: interactive
  FileCommand files = FileCommand::kNone;  // trex put / trex get
  bool preserve = false;                   // -p: keep modes and times
  bool recursive = false;                  // -r: folders and what they hold
  std::vector<std::string> sources;        // put: LOCAL...; get: REMOTE paths
  std::string destination;                 // put: REMOTE; get: LOCAL
};

// "HOST:/path" (or "[v6]:/path"): the host word and the remote path.
struct RemotePath {
  std::string host, path;
};
Result<RemotePath> parse_remote(const std::string& word);

Result<Args> parse_args(const std::vector<std::string>& args);

// Reads a hosts file: one HOST[:PORT] per line; '#' comments and blank lines skipped.
Result<std::vector<std::string>> read_hosts_file(const std::string& path);

extern const char* const kUsage;

}  // namespace trex::client

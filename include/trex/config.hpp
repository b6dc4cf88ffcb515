// trexd's configuration: a plain struct with documented defaults, filled
// from an optional TOML file (keys are the long flag names with '_' for '-')
// and then from the command line, validated once at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trex/result.hpp"

namespace trex::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:7443";
  std::string ca = "pki/ca.crt";
  std::string cert = "pki/issued/server.crt";
  std::string key = "pki/private/server.key";
  std::string crl = "pki/crl.pem";  // trexd uses it only when no crl_dir is given instead
  std::string crl_dir{};            // a directory of CRL files, with or instead of crl
  std::string policy;               // required unless allow_all
  bool allow_all = false;           // no policy: every certificate may run anything
  std::string log_dir = "log";
  std::string audit_log;  // empty: <log_dir>/audit.jsonl
  std::uint32_t max_sessions = 64;
  std::uint32_t command_timeout = 3600;   // seconds
  std::uint32_t handshake_timeout = 10;   // seconds
  std::uint32_t idle_timeout = 600;       // seconds without a command
  std::uint64_t max_output = 1ULL << 30;  // bytes of stdout+stderr per command
  // Bytes of one terminal session's recording; past it the session is ended.
  std::uint64_t max_recording = 1ULL << 30;
  std::uint32_t kill_grace = 5;  // seconds between TERM and KILL
  bool audit_fsync = false;
  std::uint64_t audit_max_bytes = 64ULL << 20;
  bool syslog = false;
  bool audit_syslog = false;                     // every audit record to syslog too
  std::string audit_syslog_socket = "/dev/log";  // the syslog daemon's datagram socket
  // The audit trail's head (SEQ:HASH) goes to this syslog socket at start,
  // rotation, stop and every audit_head_interval seconds (0: not on a
  // timer); "none" sends nothing.
  std::string audit_head_syslog = "/dev/log";
  std::uint32_t audit_head_interval = 3600;
  // Command line only: start from a trail shorter than the head trexd last
  // recorded in its state file (recorded in server_start).
  bool accept_shortened_trail = false;
  // Where commands get a cgroup each: "auto" (trexd's own cgroup v2 group,
  // where it may make groups there), "off" (the per-command reaper alone) or
  // the directory of a cgroup v2 group.
  std::string cgroup = "auto";

  std::string audit_path() const {
    return audit_log.empty() ? log_dir + "/audit.jsonl" : audit_log;
  }
};

// Overlays the keys of a TOML document on `base`. Unknown keys, wrong types
// and out-of-range values are errors naming the source, line and key.
Result<ServerConfig> apply_toml(ServerConfig base, std::string_view text, std::string_view source);
Result<ServerConfig> apply_toml_file(ServerConfig base, const std::string& path);

// Checks values that no single key can check alone.
Status validate(const ServerConfig& config);

// Empty when the configuration names a policy or asks for --allow-all;
// otherwise why trexd must not start (it would let every certificate of the
// CA run anything as trexd's user).
std::string missing_policy(const ServerConfig& config);

struct Endpoint {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
// "127.0.0.1:7443", "[::1]:7443", "host" (default_port), "[::1]".
Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port);

}  // namespace trex::config

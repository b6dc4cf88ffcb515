#include "trex/audit_events.hpp"

#include <cstdio>

namespace trex::audit {
namespace {

template <class T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json();
}

void add_command(Json& j, const CommandText& c) {
  if (c.shell) {
    j["shell"] = bytes_field(c.command);
  } else {
    j["argv"] = argv_field(c.argv);
  }
}

}  // namespace

Json ServerLife::to_json() const {
  Json j{{"version", version}, {"listen", listen}, {"pid", pid}};
  if (recovery.is_object()) j.update(recovery);
  return j;
}

Json Reload::to_json() const { return {{"what", what}, {"ok", ok}, {"reason", reason}}; }

Json AuthFail::to_json() const {
  Json j{{"conn", conn}, {"peer", peer}, {"reason", reason}};
  if (cn) j["cn"] = *cn;
  if (serial) j["serial"] = *serial;
  if (claimed) {
    j["claimed_cn"] = claimed->cn;
    j["issuer"] = claimed->issuer;
    j["fingerprint"] = claimed->fingerprint;
  }
  return j;
}

Json AuthFailSummary::to_json() const {
  return {{"peer", peer},
          {"count", count},
          {"reasons", reasons},
          {"window_start", window_start},
          {"window_end", window_end}};
}

Json SessionOpen::to_json() const {
  return {{"conn", conn},
          {"peer", peer},
          {"cn", cn},
          {"ou", ou},
          {"serial", serial},
          {"issuer", issuer},
          {"fingerprint", fingerprint},
          {"not_after", not_after}};
}

Json SessionClose::to_json() const {
  return {{"conn", conn}, {"cn", cn}, {"reason", reason}, {"commands", commands}};
}

Json ExecStart::to_json() const {
  Json j{{"conn", conn}, {"id", id}, {"cn", cn}};
  add_command(j, command);
  j["cwd"] = cwd;
  j["run_as"] = run_as;
  if (!rule.empty()) j["rule"] = rule;
  if (!tty.is_null()) j["tty"] = tty;
  return j;
}

Json ExecDenied::to_json() const {
  Json j{{"conn", conn}, {"cn", cn}};
  add_command(j, command);
  j["rule"] = rule;
  j["reason"] = reason;
  return j;
}

Json ExecEnd::to_json() const {
  Json j{{"conn", conn}, {"id", id}, {"cn", cn}};
  j["exit_code"] = or_null(exit_code);
  j["signal"] = or_null(signal);
  j["timed_out"] = timed_out;
  j["duration_ms"] = duration_ms;
  j["stdout_bytes"] = stdout_bytes;
  j["stderr_bytes"] = stderr_bytes;
  j["stdin_bytes"] = stdin_bytes;
  j["stdout_sha256"] = stdout_sha256;
  j["stderr_sha256"] = stderr_sha256;
  j["truncated"] = truncated;
  j["lingered"] = lingered;
  if (ended_by) j["ended_by"] = *ended_by;
  if (error) j["error"] = *error;
  if (recording) {
    j["recording"] = recording->file;
    j["recording_sha256"] = recording->sha256;
    j["recording_bytes"] = recording->bytes;
    j["recording_duration_ms"] = recording->duration_ms;
  }
  return j;
}

Json FileTransfer::to_json() const {
  static constexpr const char* kResults[] = {"ok", "denied", "failed"};
  char octal[8];
  std::snprintf(octal, sizeof(octal), "%04o", mode & 07777U);
  Json j{{"conn", conn}};
  if (!id.empty()) j["id"] = id;
  j["cn"] = cn;
  j["path"] = bytes_field(path);
  if (folder) j["folder"] = true;
  j["rule"] = rule;
  j["run_as"] = run_as;
  j["size"] = size;
  j["mode"] = octal;
  j["sha256"] = sha256;
  j["duration_ms"] = duration_ms;
  j["result"] = kResults[static_cast<int>(result)];
  if (result != Result::kOk) j["error"] = error;
  return j;
}

ExecEnd ExecEnd::not_started(std::uint64_t conn, std::string id, std::string cn,
                             std::string error) {
  ExecEnd e;
  e.conn = conn;
  e.id = std::move(id);
  e.cn = std::move(cn);
  e.exit_code = 127;
  e.stdout_sha256 = e.stderr_sha256 = sha256_hex("");
  e.error = std::move(error);
  return e;
}

}  // namespace trex::audit

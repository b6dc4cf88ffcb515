// Entries of the reviewer's view: what one record, or an exec_start and its
// exec_end together, mean to a person reading the trail.
#include <algorithm>
#include <set>

#include "audit/fields.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_view.hpp"

namespace trex::audit {
namespace {

std::string join_ou(const Json& r) {
  const auto it = r.find("ou");
  if (it == r.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  std::string out;
  if (!it->is_array()) return out;
  for (const auto& v : *it) {
    if (!v.is_string()) continue;
    out += (out.empty() ? "" : ",") + v.get<std::string>();
  }
  return out;
}

void set_command(Entry& e, const Json& r) {
  if (const auto argv = r.find("argv"); argv != r.end() && argv->is_array()) {
    e.argv = *argv;
    e.command = shell_join(*argv);
  } else if (const auto sh = r.find("shell"); sh != r.end()) {
    // A string, or {"hex": ...} for bytes that are not UTF-8.
    const auto bytes = field_bytes(*sh);
    if (!bytes) return;
    e.argv = *sh;
    e.shell = true;
    e.command = "sh -c " + shell_join(Json::array({*bytes}));
  }
}

void set_end(Entry& e, const Json& r) {
  e.exit_code = int_of(r, "exit_code");
  e.signal = int_of(r, "signal");
  if (e.signal == 0) e.signal.reset();
  e.timed_out = true_of(r, "timed_out");
  e.duration_ms = int_of(r, "duration_ms");
  const auto out = int_of(r, "stdout_bytes"), err = int_of(r, "stderr_bytes");
  if (out || err) e.bytes_out = out.value_or(0) + err.value_or(0);
  if (e.timed_out) {
    e.status = "timeout";
  } else if (e.signal) {
    e.status = "signal " + std::to_string(*e.signal);
  } else if (e.exit_code) {
    e.status = "exit " + std::to_string(*e.exit_code);
  } else {
    e.status = "?";
  }
  if (true_of(r, "truncated")) e.status += " (cut)";
  e.failed = is_failure(r);
  e.running = false;
}

std::string server_status(const std::string& ev, const Json& r) {
  if (ev == event::kReload) {
    return "reload " + text_of(r, "what") + (true_of(r, "ok") ? ": ok" : ": failed");
  }
  return ev == event::kServerStart ? "server start" : "server stop";
}

std::string server_detail(const std::string& ev, const Json& r) {
  if (ev == event::kReload) return text_of(r, "reason");
  std::string s = "version " + text_of(r, "version") + ", pid " + text_of(r, "pid") + ", " +
                  text_of(r, "listen");
  const auto rec = r.find("recovered");
  if (rec != r.end() && rec->is_object()) {
    s += ", set aside " + text_of(*rec, "torn_bytes") + " torn bytes in " +
         text_of(*rec, "saved_to");
  }
  return s;
}

// file_put / file_get: a line of its own, like a command: "put '/srv/in/a'
// 5 B, mode 0640, sha256 2cf24dba5fb0a30e".
void set_file(Entry& e, const Json& r) {
  const std::string result = text_of(r, "result");
  const bool put = e.event == event::kFilePut;
  e.kind = result == "denied" ? Kind::kDenied : Kind::kCommand;
  e.failed = result != "ok";
  const auto path = r.find("path");
  // -r: a folder made (put folder) or listed (list).
  const bool folder = true_of(r, "folder");
  e.command = std::string(put ? (folder ? "put folder " : "put ") : (folder ? "list " : "get ")) +
              shell_join(Json::array({path == r.end() ? Json("?") : *path}));
  e.duration_ms = int_of(r, "duration_ms");
  if (!folder) e.bytes_out = int_of(r, "size");
  if (result == "ok") {
    e.status = "ok";
    if (put && folder) {
      e.command += " mode " + text_of(r, "mode");
    } else {
      e.command += " " + text_of(r, "size") +
                   (folder ? " entries" : " B, mode " + text_of(r, "mode")) + ", sha256 " +
                   text_of(r, "sha256").substr(0, 16);
    }
  } else {
    e.status = (result.empty() ? std::string("?") : result) + ": " + text_of(r, "error");
  }
}

void describe_other(Entry& e, const Json& r) {
  const std::string& ev = e.event;
  if (ev == event::kSessionOpen || ev == event::kSessionClose) {
    e.kind = Kind::kSession;
    e.status = ev == event::kSessionOpen ? "session open" : "session end: " + text_of(r, "reason");
    const std::string ou = join_ou(r);
    e.command = ev == event::kSessionOpen ? "from " + e.peer + (ou.empty() ? "" : ", ou " + ou)
                                          : text_of(r, "commands") + " commands";
  } else if (ev == event::kAuthFail) {
    e.kind = Kind::kRefused;
    e.failed = true;
    e.status = "refused: " + text_of(r, "reason");
    e.command = "from " + e.peer;
    // Only a verified certificate names a client (trexd writes `cn` for it);
    // a refused one's subject is a claim, shown as such and never attributed.
    const std::string claimed = text_of(r, "claimed_cn");
    if (!claimed.empty()) e.command += ", claims CN " + claimed;
    for (const char* key : {"issuer", "fingerprint"}) {
      if (const std::string v = text_of(r, key); !v.empty()) e.command += ", " + (key + (" " + v));
    }
  } else if (ev == event::kAuthFailSummary) {
    // Refusals past the per-address rate: one entry stands for them all.
    e.kind = Kind::kRefused;
    e.failed = true;
    e.refusals = int_of(r, "count").value_or(0);
    std::string reasons;
    if (const auto it = r.find("reasons"); it != r.end() && it->is_object()) {
      for (const auto& [reason, n] : it->items()) {
        reasons += (reasons.empty() ? "" : ", ") + printable(reason) + " x" + n.dump();
      }
    }
    e.status = "refused: " + std::to_string(e.refusals) + " more (" + reasons + ")";
    e.command =
        "from " + e.peer + ", " + text_of(r, "window_start") + " to " + text_of(r, "window_end");
  } else if (ev == event::kServerStart || ev == event::kServerStop || ev == event::kReload) {
    e.kind = Kind::kServer;
    e.status = server_status(ev, r);
    e.command = server_detail(ev, r);
  } else {
    e.status = ev;
  }
}

}  // namespace

const std::vector<std::string_view>& known_events() {
  static const std::vector<std::string_view> names = {
      event::kServerStart, event::kServerStop,   event::kAuthFail,  event::kAuthFailSummary,
      event::kSessionOpen, event::kSessionClose, event::kExecStart, event::kExecDenied,
      event::kExecEnd,     event::kReload,       event::kFilePut,   event::kFileGet};
  return names;
}

Status check_event_names(const std::vector<std::string>& names) {
  const auto& known = known_events();
  for (const auto& n : names) {
    if (std::find(known.begin(), known.end(), n) != known.end()) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return make_error("unknown event '" + printable(n) + "' (known: " + list + ")");
  }
  return Status::success();
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kCommand:
      return "command";
    case Kind::kDenied:
      return "denied";
    case Kind::kSession:
      return "session";
    case Kind::kRefused:
      return "refused";
    case Kind::kServer:
      return "server";
    case Kind::kOther:
      break;
  }
  return "other";
}

Entry entry_of(const Json& r) {
  Entry e;
  e.event = text_of(r, "event");
  e.ts = text_of(r, "ts");
  e.client = text_of(r, "cn");
  e.run_as = text_of(r, "run_as");
  e.peer = text_of(r, "peer");
  e.rule = text_of(r, "rule");
  e.id = text_of(r, "id");
  if (e.event == event::kExecStart || e.event == event::kExecEnd) {
    e.kind = Kind::kCommand;
    set_command(e, r);
    e.running = e.event == event::kExecStart;
    e.status = e.running ? "running" : "";
    if (!e.running) set_end(e, r);
  } else if (e.event == event::kFilePut || e.event == event::kFileGet) {
    set_file(e, r);
  } else if (e.event == event::kExecDenied) {
    e.kind = Kind::kDenied;
    e.failed = true;
    set_command(e, r);
    e.status = "denied: " + text_of(r, "reason");
  } else {
    describe_other(e, r);
  }
  // A refused handshake never names a client, whatever the record says.
  if (e.kind == Kind::kRefused && r.contains("claimed_cn")) e.client.clear();
  return e;
}

void CommandView::remember(const std::string& key, Entry start) {
  if (open_.insert_or_assign(key, std::move(start)).second) order_.push_back(key);
  while (open_.size() > kMaxOpen && !order_.empty()) {
    open_.erase(order_.front());  // a start whose end never comes: forget it
    order_.pop_front();
  }
  if (order_.size() > 2 * kMaxOpen) {  // drop the keys of ended commands
    std::deque<std::string> live;
    for (auto& k : order_) {
      if (open_.count(k)) live.push_back(std::move(k));
    }
    order_.swap(live);
  }
}

void CommandView::add(const Json& record, std::vector<Entry>& out) {
  const std::string event = text_of(record, "event");
  const std::string key = text_of(record, "conn") + "/" + text_of(record, "id");
  if (event == event::kExecEnd) {
    // Most records end a command: join them without building their own entry.
    const auto it = open_.find(key);
    if (it != open_.end()) {
      Entry start = std::move(it->second);
      open_.erase(it);
      set_end(start, record);
      start.event = event;
      out.push_back(std::move(start));
      return;
    }
  }
  if (event == event::kSessionClose && text_of(record, "reason") == kReasonClientClosed) return;
  Entry e = entry_of(record);
  if (event == event::kExecStart) return remember(key, std::move(e));
  if (event == event::kServerStart) {
    // conn numbers restart with the server: what was open will never end.
    for (Entry& lost : open_commands()) {
      lost.status = "no end record";
      lost.running = false;
      lost.failed = true;
      out.push_back(std::move(lost));
    }
    open_.clear();
    order_.clear();
  }
  out.push_back(std::move(e));
}

std::vector<Entry> CommandView::open_commands() const {
  std::vector<Entry> out;
  std::set<std::string_view> seen;  // a key ended and started again is listed twice
  for (const auto& key : order_) {
    const auto it = open_.find(key);
    if (it != open_.end() && seen.insert(key).second) out.push_back(it->second);
  }
  return out;
}

}  // namespace trex::audit

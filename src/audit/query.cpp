// Selecting entries (--client, --event, --status, --rule, --since, --until,
// --failed) and the display helpers shared by the writers.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "audit/fields.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_view.hpp"

namespace trex::audit {
namespace {

constexpr std::string_view kStatusWords[] = {"ok",     "failed",  "timeout", "signal",
                                             "denied", "refused", "running"};

std::optional<std::int64_t> exit_word(std::string_view w) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
  if (ec != std::errc() || end != w.data() + w.size() || w.empty()) return std::nullopt;
  return n;
}

bool status_is(const Entry& e, std::string_view w) {
  const bool command = e.kind == Kind::kCommand;
  if (w == "ok") return command && !e.failed && !e.running;
  if (w == "failed") return e.failed;
  if (w == "timeout") return command && e.timed_out;
  if (w == "signal") return command && e.signal.has_value();
  if (w == "denied") return e.kind == Kind::kDenied;
  if (w == "refused") return e.kind == Kind::kRefused;
  if (w == "running") return e.running;
  const auto code = exit_word(w);
  return command && code && e.exit_code == *code && !e.signal && !e.timed_out;
}

template <class T>
bool any_of_or_empty(const std::vector<std::string>& set, const T& pred) {
  return set.empty() || std::any_of(set.begin(), set.end(), pred);
}

std::optional<TimePoint> time_of(const std::string& ts) {
  if (ts.size() < 20) return std::nullopt;  // not a span such as "30m"
  auto t = parse_time(ts, TimePoint());
  if (!t) return std::nullopt;
  return *t;
}

}  // namespace

Status check_status_words(const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (exit_word(w) ||
        std::find(std::begin(kStatusWords), std::end(kStatusWords), w) != std::end(kStatusWords)) {
      continue;
    }
    return make_error("unknown status '" + printable(w) +
                      "' (known: ok, failed, timeout, signal, denied, refused, running, or an "
                      "exit code)");
  }
  return Status::success();
}

bool matches(const Entry& e, const Query& q) {
  const bool event_ok = any_of_or_empty(q.events, [&](const std::string& ev) {
    return ev == e.event || (e.kind == Kind::kCommand && ev == event::kExecStart);
  });
  if (!event_ok) return false;
  if (!any_of_or_empty(q.clients, [&](const std::string& c) { return c == e.client; })) {
    return false;
  }
  if (!any_of_or_empty(q.rules, [&](const std::string& r) { return r == e.rule; })) return false;
  if (q.failed_only && !e.failed) return false;
  if (!any_of_or_empty(q.statuses, [&](const std::string& w) { return status_is(e, w); })) {
    return false;
  }
  if (q.since || q.until) {
    const auto t = time_of(e.ts);
    if (!t) return false;
    if (q.since && *t < *q.since) return false;
    if (q.until && *t >= *q.until) return false;
  }
  return true;
}

std::string display_time(const std::string& ts, bool local) {
  if (ts.size() < 20 || ts[10] != 'T' || ts.back() != 'Z') return ts;
  if (!local) return ts.substr(0, 10) + " " + ts.substr(11, 8);
  const auto t = time_of(ts);
  if (!t) return ts;
  const std::time_t secs = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  char buf[32];
  if (!::localtime_r(&secs, &tm) || !std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm)) {
    return ts;
  }
  return buf;
}

std::string time_header(bool local) {
  if (!local) return "TIME (UTC)";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  char buf[16];
  if (!::localtime_r(&now, &tm) || !std::strftime(buf, sizeof buf, "%Z", &tm)) return "TIME";
  return std::string("TIME (") + buf + ")";
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes < 0 ? 0 : bytes);
  static constexpr char kUnits[] = "KMGTPE";
  double v = static_cast<double>(bytes);
  std::size_t unit = 0;
  for (v /= 1024; v >= 1024 && unit + 1 < sizeof kUnits - 1; v /= 1024) ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 9.95 ? "%.1f%c" : "%.0f%c", v, kUnits[unit]);
  return buf;
}

}  // namespace trex::audit

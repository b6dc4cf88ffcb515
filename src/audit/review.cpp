#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "audit/fields.hpp"
#include "audit/scan.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_review.hpp"

namespace trex::audit {
namespace {

using namespace std::chrono;

constexpr char kTimeHelp[] =
    "expected RFC 3339 (2026-11-23T17:00:00Z), a date (2026-11-23) or a span before now (30m, "
    "1h, 7d, 2w)";

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<TimePoint> parse_span(std::string_view s, TimePoint now) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() - 1 || n > 1'000'000) return std::nullopt;
  static constexpr std::pair<char, std::int64_t> kUnits[] = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
  for (auto [unit, secs] : kUnits) {
    if (s.back() == unit) return now - seconds(static_cast<std::int64_t>(n) * secs);
  }
  return std::nullopt;
}

// Parses "[.fraction](Z|+hh:mm|-hh:mm|)" after the seconds; returns the offset east of UTC
// (zero, with `zoneless` set, when no zone is given).
std::optional<microseconds> parse_rest(std::string_view s, microseconds& frac, bool& zoneless) {
  std::size_t pos = 0;
  if (pos < s.size() && s[pos] == '.') {
    std::int64_t scale = 100000;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) {
      frac += microseconds((s[pos] - '0') * scale);
    }
    if (s[pos - 1] == '.') return std::nullopt;
  }
  zoneless = pos == s.size();
  if (zoneless) return microseconds(0);
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return microseconds(0);
  int hh = 0, mm = 0;
  if ((s[pos] != '+' && s[pos] != '-') || s.size() != pos + 6 || !digits(s, pos + 1, 2, hh) ||
      s[pos + 3] != ':' || !digits(s, pos + 4, 2, mm) || hh > 23 || mm > 59) {
    return std::nullopt;
  }
  const microseconds offset = hours(hh) + minutes(mm);
  return s[pos] == '-' ? -offset : offset;
}

// This host's offset east of UTC at `t` (its time zone, TZ honoured).
seconds local_offset(TimePoint t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  if (::localtime_r(&tt, &tm) == nullptr) return seconds(0);
  return seconds(tm.tm_gmtoff);
}

// A wall-clock time of this host's zone as UTC: the offset is taken at the
// instant itself (twice, so that a time next to a DST change lands right).
TimePoint from_local(TimePoint wall) {
  const TimePoint guess = wall - local_offset(wall);
  return wall - local_offset(guess);
}

std::optional<TimePoint> parse_absolute(std::string_view s, Zone zone) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)),
                            day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  // Nanosecond time points span 1678..2262: beyond that, a bound is "forever".
  if (y < 1680) return TimePoint::min();
  if (y > 2260) return TimePoint::max();
  const TimePoint midnight = sys_days(date);
  if (s.size() == 10) return zone == Zone::kLocal ? from_local(midnight) : midnight;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) || s.size() < 16 ||
      s[13] != ':' || !digits(s, 14, 2, mi) || h > 23 || mi > 59) {
    return std::nullopt;
  }
  std::size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, 17, 2, sec) || sec > 60) return std::nullopt;
    pos = 19;
  }
  microseconds frac(0);
  bool zoneless = false;
  auto offset = parse_rest(s.substr(pos), frac, zoneless);
  if (!offset) return std::nullopt;
  const TimePoint wall = midnight + hours(h) + minutes(mi) + seconds(sec) + frac;
  if (zoneless && zone == Zone::kLocal) return from_local(wall);
  return wall - *offset;
}

}  // namespace

std::string text_of(const Json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) return "";
  if (it->is_string()) return it->get_ref<const std::string&>();
  // Nested values could be arbitrarily deep (a tampered line): never dump them.
  if (it->is_array()) return "[...]";
  if (it->is_object()) return "{...}";
  return it->dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<std::int64_t> int_of(const Json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    return v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e18) {
      return static_cast<std::int64_t>(v);
    }
  }
  return std::nullopt;
}

bool true_of(const Json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_boolean() && it->get<bool>();
}

Result<TimePoint> parse_time(std::string_view text, TimePoint now, Zone zone) {
  const auto first = text.find_first_not_of(" \t");
  const auto last = text.find_last_not_of(" \t");
  const std::string_view s =
      first == std::string_view::npos ? std::string_view() : text.substr(first, last - first + 1);
  std::optional<TimePoint> t;
  if (s.size() >= 2 && s.size() <= 8) t = parse_span(s, now);
  if (!t) t = parse_absolute(s, zone);
  if (!t) return make_error("bad time '" + std::string(text) + "': " + kTimeHelp);
  return *t;
}

Result<Json> parse_record(std::string_view line) {
  // Fields no review reads: the chain, hashes, paths. Most of a line's bytes
  // are in them, and a million records parsed into a full DOM took 7 s.
  // A view that starts reading one of them takes it off this list.
  static const std::vector<std::string_view> kUnread = {
      "seq", "prev", "stdout_sha256", "stderr_sha256", "stdin_bytes", "cwd", "not_after"};
  auto parsed = scan_fields(line, kUnread);
  if (!parsed) {
    // "not an object" only for JSON that is not an object; for "not json" say so.
    const auto first = line.find_first_not_of(" \t\r\n");
    const bool object = first != std::string_view::npos && line[first] == '{';
    if (!object && !Json::accept(line)) return make_error("not valid JSON");
    return parsed;
  }
  const auto event = parsed->find("event");
  if (event == parsed->end() || !event->is_string()) return make_error("no event name");
  return parsed;
}

bool is_failure(const Json& record) {
  const std::string event = text_of(record, "event");
  if (event == event::kAuthFail || event == event::kAuthFailSummary) return true;
  if (event == event::kExecDenied) return true;
  if (event == event::kFilePut || event == event::kFileGet)
    return text_of(record, "result") != "ok";
  if (event != event::kExecEnd) return false;
  return true_of(record, "timed_out") || int_of(record, "signal").value_or(0) != 0 ||
         int_of(record, "exit_code").value_or(0) != 0;
}

bool matches(const Json& record, const Filter& filter) {
  const auto in = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  if (!in(filter.events, text_of(record, "event"))) return false;
  if (!filter.clients.empty() &&
      (!record.contains("cn") || !in(filter.clients, text_of(record, "cn")))) {
    return false;
  }
  if (filter.failed_only && !is_failure(record)) return false;
  if (filter.since || filter.until) {
    const auto ts = parse_absolute(text_of(record, "ts"), Zone::kUtc);
    if (!ts) return false;
    if (filter.since && *ts < *filter.since) return false;
    if (filter.until && *ts >= *filter.until) return false;
  }
  return true;
}

}  // namespace trex::audit

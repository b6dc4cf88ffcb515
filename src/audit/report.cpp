#include "trex/audit_report.hpp"

#include <algorithm>

#include "audit/fields.hpp"
#include "audit/svg.hpp"

namespace trex::audit {
namespace {

using namespace std::chrono;

constexpr std::size_t kMaxClients = 8;  // the rest are drawn as "others"
constexpr std::size_t kTopRows = 15;
constexpr const char* kClientColors[] = {"#1f77b4", "#8c564b", "#e377c2", "#bcbd22",
                                         "#aec7e8", "#c49c94", "#f7b6d2", "#dbdb8d"};
constexpr const char* kOthers = "#c7c7c7";
constexpr const char* kFailed = "#d62728";
constexpr const char* kDenied = "#ff7f0e";
constexpr const char* kRefused = "#9467bd";
constexpr const char* kBusiest = "#17becf";
constexpr const char* kRefusedPeers = "#6a3d9a";

constexpr const char* kStyle =
    "body{font:14px/1.4 sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 6px}"
    ".chain{padding:12px 16px;color:#fff;font-weight:bold;border-radius:4px}"
    ".ok{background:#2ca02c}.broken{background:#b00020}"
    ".grid{stroke:#ddd}.axis,.value{font-size:11px;fill:#555}.label{font-size:12px;fill:#222}"
    ".legend span{display:inline-block;margin-right:14px}"
    ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}"
    ".empty{color:#777;font-style:italic}table.totals td{padding:2px 14px 2px 0}";

// A bucket width that keeps the chart under ~340 bars.
seconds width_for(TimePoint since, TimePoint until) {
  const auto span = duration_cast<hours>(until - since).count();
  if (span <= 14 * 24) return hours(1);
  if (span <= 60 * 24) return hours(6);
  return hours(24 * std::max<std::int64_t>(1, span / (24 * 340) + 1));
}

std::string bucket_label(TimePoint t, seconds width) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, width < hours(24) ? "%Y-%m-%d %H:%M" : "%Y-%m-%d", &tm);
  return buf;
}

void legend(std::ostream& out, const std::vector<svg::Series>& series) {
  out << "<div class=\"legend\">";
  for (const auto& s : series) {
    out << "<span><i style=\"background:" << s.color << "\"></i>" << s.name << "</span>";
  }
  out << "</div>\n";
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  for (const char c : printable(s)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Buckets start on a multiple of their width (on the hour for hours).
Report::Report(TimePoint since, TimePoint until)
    : from_(since), until_(std::max(until, since + minutes(1))), width_(width_for(from_, until_)) {
  const auto secs = duration_cast<seconds>(from_.time_since_epoch());
  since_ = TimePoint(secs - secs % width_);
  const auto n = (until_ - since_ + width_ - nanoseconds(1)) / width_;
  buckets_.resize(static_cast<std::size_t>(std::max<std::int64_t>(1, n)));
}

void Report::add(const Entry& e) {
  const auto t = parse_time(e.ts, system_clock::now());
  if (!t || *t < from_ || *t >= until_) {
    ++outside_;
    return;
  }
  Bucket& b = buckets_[std::min<std::size_t>(buckets_.size() - 1, (*t - since_) / width_)];
  breakdown_.add(e);
  if (e.kind == Kind::kCommand) {
    ++b.commands[e.client];
    ++client_totals_[e.client];
    ++commands_;
    if (e.failed) ++b.failed, ++failed_;
  } else if (e.kind == Kind::kDenied) {
    ++b.denied, ++denied_;
  } else if (e.kind == Kind::kRefused) {
    ++b.refused, ++refused_;
  }
}

void Report::write_html(std::ostream& out, const ChainSummary& chain,
                        const std::string& generated) const {
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'\">"
         "<title>trex audit report</title><style>"
      << kStyle << "</style></head><body>\n<h1>trex audit report</h1>\n";
  out << "<div id=\"chain\" class=\"chain " << (chain.ok ? "ok" : "broken") << "\">";
  if (chain.ok) {
    out << "Chain intact: " << chain.records << " records in " << chain.files
        << (chain.files == 1 ? " file" : " files") << ", head " << html_escape(chain.head);
  } else {
    out << "Chain BROKEN: " << html_escape(chain.failure) << " (after " << chain.records
        << " good records)";
  }
  out << "</div>\n<p>From " << bucket_label(from_, minutes(1)) << " to "
      << bucket_label(until_, minutes(1)) << " UTC, bars of "
      << duration_cast<hours>(width_).count() << " h; generated " << html_escape(generated)
      << ".</p>\n";
  write_totals(out);
  write_per_client(out);
  write_failures(out);
  write_busiest(out);
  write_refused(out);
  out << "</body></html>\n";
}

void Report::write_totals(std::ostream& out) const {
  out << "<table class=\"totals\"><tr><td>commands</td><td>" << commands_
      << "</td><td>failed</td><td>" << failed_ << "</td><td>denied</td><td>" << denied_
      << "</td><td>refused handshakes</td><td>" << refused_ << "</td><td>clients</td><td>"
      << client_totals_.size() << "</td></tr></table>\n";
}

void Report::write_per_client(std::ostream& out) const {
  out << "<section><h2>Commands per " << (width_ == hours(1) ? "hour" : "period")
      << " by client</h2>\n";
  std::vector<std::pair<std::string, std::uint64_t>> clients(client_totals_.begin(),
                                                             client_totals_.end());
  std::stable_sort(clients.begin(), clients.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<svg::Series> series;
  for (std::size_t i = 0; i < clients.size() && i < kMaxClients; ++i) {
    series.push_back({html_escape(clients[i].first), kClientColors[i], {}});
  }
  if (clients.size() > kMaxClients) series.push_back({"others", kOthers, {}});
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    labels.push_back(bucket_label(since_ + width_ * static_cast<std::int64_t>(i), width_));
    for (std::size_t c = 0; c < series.size(); ++c) {
      std::uint64_t n = 0;
      if (c < kMaxClients && c < clients.size()) {
        const auto it = buckets_[i].commands.find(clients[c].first);
        n = it == buckets_[i].commands.end() ? 0 : it->second;
      } else {
        for (const auto& [name, count] : buckets_[i].commands) n += count;
        for (std::size_t k = 0; k < kMaxClients; ++k) n -= series[k].values[i];
      }
      series[c].values.push_back(n);
    }
  }
  if (clients.empty()) {
    out << "<p class=\"empty\">No commands in this window.</p></section>\n";
    return;
  }
  legend(out, series);
  svg::time_bars(out, "commands-per-hour", series, labels);
  out << "</section>\n";
}

void Report::write_failures(std::ostream& out) const {
  out << "<section><h2>Failures and denials over time</h2>\n";
  std::vector<svg::Series> series = {{"failed commands", kFailed, {}},
                                     {"denied", kDenied, {}},
                                     {"refused handshakes", kRefused, {}}};
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    labels.push_back(bucket_label(since_ + width_ * static_cast<std::int64_t>(i), width_));
    series[0].values.push_back(buckets_[i].failed);
    series[1].values.push_back(buckets_[i].denied);
    series[2].values.push_back(buckets_[i].refused);
  }
  if (failed_ + denied_ + refused_ == 0) {
    out << "<p class=\"empty\">No failures, denials or refusals in this window.</p></section>\n";
    return;
  }
  legend(out, series);
  svg::time_bars(out, "failures", series, labels);
  out << "</section>\n";
}

void Report::write_busiest(std::ostream& out) const {
  out << "<section><h2>Busiest commands</h2>\n";
  std::vector<std::pair<std::string, Breakdown::Counts>> rows(breakdown_.commands().begin(),
                                                              breakdown_.commands().end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.runs > b.second.runs; });
  if (rows.size() > kTopRows) rows.resize(kTopRows);
  std::vector<svg::Bar> bars;
  for (const auto& [program, c] : rows) {
    if (c.runs == 0) continue;
    bars.push_back({html_escape(fit(program, 40)), c.runs,
                    (c.runs == 1 ? "run, " : "runs, ") + std::to_string(c.failures) + " failed, " +
                        std::to_string(c.denials) + " denied"});
  }
  if (bars.empty()) {
    out << "<p class=\"empty\">No commands in this window.</p></section>\n";
    return;
  }
  svg::horizontal_bars(out, "busiest", bars, kBusiest);
  out << "</section>\n";
}

void Report::write_refused(std::ostream& out) const {
  out << "<section><h2>Refused handshakes by peer</h2>\n";
  std::vector<svg::Bar> bars;
  for (const auto& [host, p] : breakdown_.top_peers(kTopRows)) {
    bars.push_back(
        {html_escape(host), p.refused, "refused, last: " + html_escape(fit(p.last_reason, 60))});
  }
  if (bars.empty()) {
    out << "<p class=\"empty\">No refused handshakes in this window.</p></section>\n";
    return;
  }
  svg::horizontal_bars(out, "refused", bars, kRefusedPeers);
  out << "</section>\n";
}

}  // namespace trex::audit

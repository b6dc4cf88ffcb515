#include "trex-audit/commands.hpp"

#include <algorithm>
#include <iostream>

#include "trex/audit_view.hpp"

namespace trex::trex_audit {

using namespace trex::audit;  // this program is the audit module's front end

namespace {

void print_stats_csv(const Stats& stats, const Breakdown& more) {
  std::cout << "section,name,sessions,commands,failures,denials,refused,run_ms,transfers,"
               "transfer_bytes\r\n";
  for (const auto& [cn, s] : stats.clients()) {
    std::cout << "client," << csv_field(cn) << ',' << s.sessions << ',' << s.commands << ','
              << s.failures << ',' << s.denials << ',' << s.refused << ',' << s.run_ms << ','
              << s.transfers << ',' << s.transfer_bytes << "\r\n";
  }
  for (const auto* section : {&more.commands(), &more.rules()}) {
    const char* name = section == &more.commands() ? "command," : "rule,";
    for (const auto& [key, c] : *section) {
      std::cout << name << csv_field(key) << ",," << c.runs << ',' << c.failures << ',' << c.denials
                << ",," << c.run_ms << ",,\r\n";
    }
  }
  for (const auto& [host, p] : more.top_peers(SIZE_MAX)) {
    std::cout << "refused_peer," << csv_field(host) << ",,,,," << p.refused << ",,,\r\n";
  }
}

Json stats_json(const Stats& stats, const Breakdown& more) {
  Json j{{"clients", Json::object()}, {"commands", Json::object()}, {"rules", Json::object()}};
  for (const auto& [cn, s] : stats.clients()) {
    j["clients"][cn] = {{"sessions", s.sessions},   {"commands", s.commands},
                        {"failures", s.failures},   {"denials", s.denials},
                        {"refused", s.refused},     {"run_ms", s.run_ms},
                        {"transfers", s.transfers}, {"transfer_bytes", s.transfer_bytes}};
  }
  for (const auto& [key, c] : more.commands()) {
    j["commands"][key] = {
        {"runs", c.runs}, {"failures", c.failures}, {"denials", c.denials}, {"run_ms", c.run_ms}};
  }
  for (const auto& [key, c] : more.rules()) {
    j["rules"][key] = {
        {"runs", c.runs}, {"failures", c.failures}, {"denials", c.denials}, {"run_ms", c.run_ms}};
  }
  j["refused_peers"] = Json::array();
  for (const auto& [host, p] : more.top_peers(SIZE_MAX)) {
    j["refused_peers"].push_back({{"peer", host},
                                  {"refused", p.refused},
                                  {"last_reason", p.last_reason},
                                  {"last_ts", p.last_ts}});
  }
  return j;
}

}  // namespace

bool for_each_record(const std::vector<std::string>& files,
                     const std::function<void(const Json&, std::string_view)>& fn) {
  bool clean = true;
  for (const auto& file : files) {
    auto status = for_each_line(file, [&](std::string_view line, std::uint64_t n, bool complete) {
      auto record =
          complete ? parse_record(line) : Result<Json>(make_error("incomplete last line"));
      if (!record) {
        std::cerr << file << ':' << n << ": skipped: " << record.message() << '\n';
        clean = false;
        return true;
      }
      fn(*record, line);
      return true;
    });
    if (!status) {
      std::cerr << "trex-audit: " << file << ": " << status.message() << '\n';
      clean = false;
    }
  }
  return clean;
}

std::string printable_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

namespace {

// The chain report of a single trail: 0 when intact.
int print_verify(const std::vector<std::string>& files, const VerifyReport& report,
                 const Query& window, const std::optional<Anchor>& expect) {
  if (report.ok()) {
    std::cout << "ok: " << report.records << (report.records == 1 ? " record" : " records")
              << " in " << files.size() << (files.size() == 1 ? " file" : " files")
              << ", chain intact";
    if (window.since || window.until) {
      std::uint64_t in = 0;
      for_each_record(files,
                      [&](const Json& r, std::string_view) { in += matches(entry_of(r), window); });
      std::cout << "; " << in << " in the time window";
    }
    std::cout << '\n';
    // The head to keep elsewhere: a later verify --expect proves the end
    // was not cut off (the chain alone cannot tell).
    std::cout << "head: " << (report.head ? report.head->text() : std::string("none")) << '\n';
    if (expect) std::cout << "reaches the expected record " << expect->text() << '\n';
    return 0;
  }
  const VerifyFailure& f = *report.failure;
  std::cerr << f.file;
  if (f.line > 0) std::cerr << ':' << f.line;
  std::cerr << ": " << f.reason << '\n';
  if (f.file == files.front() && f.line == 1 && f.kind == VerifyFault::kSeq) {
    std::cerr << "(a rotated trail is verified from its oldest file: give all of its files, "
                 "oldest first)\n";
  }
  std::cerr << "chain broken after " << report.records << " good records\n";
  return 1;
}

}  // namespace

int run_verify(const Trail& trail, const Query& window, const std::optional<Anchor>& expect) {
  RecordingCheck recordings;
  const auto trails = group_trails(trail.files);
  int chain = 0;
  if (trails.size() > 1) {
    chain = run_verify_hosts(trails, recordings);
  } else {
    const auto& files = trail.files;
    const VerifyReport report = verify_files(
        files, expect, [&](const std::string& file, std::uint64_t n, std::string_view line) {
          recordings.line(file, n, line);
        });
    chain = print_verify(files, report, window, expect);
    if (!report.ok()) recordings.rest(files, *report.failure);
  }
  return std::max(chain, recordings.finish());
}

int run_stats(const Trail& trail, const Query& query, Format format) {
  Stats stats;
  Breakdown more;
  CommandView view;
  std::vector<Entry> entries;
  const bool clean = for_each_record(trail.files, [&](const Json& record, std::string_view) {
    if (matches(entry_of(record), query)) stats.add(record);
    view.add(record, entries);
    for (const auto& e : entries) {
      if (matches(e, query)) more.add(e);
    }
    entries.clear();
  });
  if (format == Format::kJson) {
    std::cout << stats_json(stats, more).dump(2, ' ', false, Json::error_handler_t::replace)
              << '\n';
  } else if (format == Format::kCsv) {
    print_stats_csv(stats, more);
  } else {
    stats.print(std::cout);
    more.print(std::cout);
  }
  std::cout.flush();
  return clean ? 0 : 1;
}

}  // namespace trex::trex_audit

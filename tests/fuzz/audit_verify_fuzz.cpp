// Feeds arbitrary bytes, split into lines, to the chain verifier and to the
// review code that trex-audit show/stats/report run on every line: the
// record scanner, the command view, the filters, the counters and the HTML
// report. Checks both scanners against nlohmann: what they accept must be
// valid JSON, they may call "not valid JSON" only what nlohmann rejects, and
// a record that parse_record keeps holds exactly nlohmann's values.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "audit/scan.hpp"
#include "trex/audit.hpp"
#include "trex/audit_report.hpp"
#include "trex/audit_review.hpp"
#include "trex/audit_view.hpp"

namespace {

using namespace trex::audit;

void check_scanners(std::string_view line) {
  const auto head = scan_record(line);
  const bool valid_json = Json::accept(line);
  if (head.ok() && !valid_json) std::abort();
  // nlohmann stops at a NUL byte outside strings; RFC 8259 (and we) do not.
  const bool nul = line.find('\0') != std::string_view::npos;
  if (!head.ok() && head.message().rfind("not valid JSON", 0) == 0 && valid_json && !nul) {
    std::abort();
  }
  const auto record = parse_record(line);
  if (record.ok() && !valid_json) std::abort();
  if (!valid_json || nul) return;
  const Json dom = Json::parse(line);
  const bool wanted = dom.is_object() && dom.contains("event") && dom["event"].is_string();
  if (wanted != record.ok()) std::abort();
  if (!record.ok()) return;
  // Every kept field is nlohmann's value (duplicates: the last wins in both).
  for (const auto& [key, value] : record->items()) {
    if (!dom.contains(key) || dom[key] != value) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Verifier verifier;
  CommandView view;
  std::vector<Entry> entries;
  Stats stats;
  Breakdown breakdown;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1795456147));
  Query query;
  query.since = now - std::chrono::hours(24 * 365 * 30);
  query.failed_only = size % 2 == 1;
  Report report(now - std::chrono::hours(24 * 365 * 30), now);
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

    check_scanners(line);
    (void)verifier.check(line);
    (void)Chain::after_line(line);
    if (auto record = parse_record(line)) {
      if (matches(entry_of(*record), query)) stats.add(*record);
      view.add(*record, entries);
      for (const auto& e : entries) {
        if (matches(e, query)) breakdown.add(e), report.add(e);
      }
      entries.clear();
    }
    if (line.size() < 64) (void)parse_time(line, now);
  }
  for (const auto& e : view.open_commands()) report.add(e);
  std::ostringstream out;
  EntryWriter writer(out, size % 3 == 0 ? Format::kCsv : Format::kTable, TableOptions{80});
  for (const auto& e : view.open_commands()) writer.add(e);
  writer.flush();
  std::ostringstream page;
  report.write_html(page, ChainSummary{}, "now");
  // The page never carries markup from the trail: no element but ours.
  if (page.str().find("<script") != std::string::npos) std::abort();
  return 0;
}

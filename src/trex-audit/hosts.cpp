// verify of many hosts' trails in one call: the FILE arguments grouped into
// one chain per trail (a file and its rotated .N files), a line per host.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <map>

#include "trex-audit/commands.hpp"

namespace trex::trex_audit {

using namespace trex::audit;  // this program is the audit module's front end

namespace {

namespace fs = std::filesystem;

// "dir/audit.jsonl.12" -> {"dir/audit.jsonl", 12}; "dir/audit.jsonl" -> {.., 0}.
std::pair<std::string, std::uint64_t> stem_of(const std::string& file) {
  const auto dot = file.rfind('.');
  if (dot == std::string::npos || dot + 1 == file.size()) return {file, 0};
  std::uint64_t n = 0;
  const char* begin = file.data() + dot + 1;
  const char* end = file.data() + file.size();
  const auto [p, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || p != end || n == 0) return {file, 0};
  return {file.substr(0, dot), n};
}

// The folder's name for DIR/audit.jsonl (trexd's name), else the file's stem.
std::string host_of(const std::string& stem) {
  const fs::path p(stem);
  if (p.filename() == "audit.jsonl" && p.has_parent_path()) {
    const auto parent = fs::absolute(p).lexically_normal().parent_path();
    // trexd's default layout is HOST/log/audit.jsonl: name the host, not "log"
    if (parent.filename() == "log" && parent.has_parent_path()) {
      return parent.parent_path().filename().string() + "/log";
    }
    return parent.filename().string();
  }
  return p.stem().string();
}

}  // namespace

std::vector<HostTrail> group_trails(const std::vector<std::string>& files) {
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> by_stem;
  std::vector<std::string> order;  // stems in the order first named
  for (const auto& f : files) {
    auto [stem, n] = stem_of(f);
    if (!by_stem.count(stem)) order.push_back(stem);
    // the current file (no number) is the newest: it goes last
    by_stem[stem].emplace_back(n == 0 ? UINT64_MAX : n, f);
  }
  std::vector<HostTrail> out;
  for (const auto& stem : order) {
    auto& list = by_stem[stem];
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    HostTrail t{host_of(stem), {}};
    for (auto& [n, f] : list) t.files.push_back(std::move(f));
    out.push_back(std::move(t));
  }
  return out;
}

int run_verify_hosts(const std::vector<HostTrail>& trails, RecordingCheck& recordings) {
  std::vector<std::vector<std::string>> rows{{"HOST", "RECORDS", "FILES", "RESULT"}};
  bool all_ok = true;
  const auto on_recording = [&](const std::string& file, std::uint64_t n, std::string_view line) {
    recordings.line(file, n, line);
  };
  for (const auto& t : trails) {
    const VerifyReport report = verify_files(t.files, std::nullopt, on_recording);
    std::string result = "ok, chain intact";
    if (!report.ok()) {
      const VerifyFailure& f = *report.failure;
      result = "BROKEN: " + f.file + (f.line ? ":" + std::to_string(f.line) : "") + ": " + f.reason;
      all_ok = false;
      recordings.rest(t.files, f);
    }
    rows.push_back({printable_text(t.host), std::to_string(report.records),
                    std::to_string(t.files.size()), printable_text(result)});
  }
  std::vector<std::size_t> w(4, 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::cout << r[0] << std::string(w[0] - r[0].size() + 2, ' ')
              << std::string(w[1] - r[1].size(), ' ') << r[1] << "  "
              << std::string(w[2] - r[2].size(), ' ') << r[2] << "  " << r[3] << '\n';
  }
  std::cout.flush();
  return all_ok ? 0 : 1;
}

}  // namespace trex::trex_audit

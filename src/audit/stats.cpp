#include <algorithm>
#include <array>

#include "audit/fields.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_review.hpp"

namespace trex::audit {
namespace {

using Cells = std::array<std::string, 8>;

Cells cells_of(const std::string& name, const ClientStats& s) {
  return {name,
          std::to_string(s.sessions),
          std::to_string(s.commands),
          std::to_string(s.failures),
          std::to_string(s.denials),
          std::to_string(s.refused),
          human_duration(s.run_ms),
          std::to_string(s.transfers)};
}

}  // namespace

void Stats::add(const Json& record) {
  const std::string event = text_of(record, "event");
  if (event == event::kAuthFailSummary) {
    clients_[std::string(kSummarized)].refused += int_of(record, "count").value_or(0);
    return;
  }
  const bool transfer = event == event::kFilePut || event == event::kFileGet;
  const bool counted = event == event::kSessionOpen || event == event::kExecEnd ||
                       event == event::kExecDenied || event == event::kAuthFail || transfer;
  if (!counted) return;
  std::string cn = text_of(record, "cn");
  if (event == event::kAuthFail && record.contains("claimed_cn")) {
    cn = kUnverified;
  } else if (cn.empty()) {
    cn = event == event::kAuthFail ? std::string(kNoCertificate) : "(unknown)";
  }
  ClientStats& s = clients_[cn];
  if (event == event::kSessionOpen) {
    ++s.sessions;
  } else if (event == event::kExecEnd) {
    ++s.commands;
    if (is_failure(record)) ++s.failures;
    const auto ms = int_of(record, "duration_ms").value_or(0);
    if (ms > 0) s.run_ms += static_cast<std::uint64_t>(ms);
  } else if (event == event::kExecDenied) {
    ++s.denials;
  } else if (transfer) {
    // Like a command: a refused one is a denial only, a failed one a failure too.
    const std::string result = text_of(record, "result");
    if (result == "denied") {
      ++s.denials;
      return;
    }
    ++s.transfers;
    if (result != "ok") ++s.failures;
    const auto bytes = true_of(record, "folder") ? 0 : int_of(record, "size").value_or(0);
    if (bytes > 0) s.transfer_bytes += static_cast<std::uint64_t>(bytes);
    const auto ms = int_of(record, "duration_ms").value_or(0);
    if (ms > 0) s.run_ms += static_cast<std::uint64_t>(ms);
  } else {
    ++s.refused;
  }
}

void Stats::print(std::ostream& out) const {
  std::vector<Cells> rows;
  // TRANSFERS last: scripts reading the older columns by position still work.
  rows.push_back({"CLIENT", "SESSIONS", "COMMANDS", "FAILURES", "DENIALS", "REFUSED", "RUN TIME",
                  "TRANSFERS"});
  ClientStats total;
  for (const auto& [cn, s] : clients_) {
    std::string name;
    for (unsigned char c : cn) name += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    rows.push_back(cells_of(name, s));
    total.sessions += s.sessions;
    total.commands += s.commands;
    total.transfers += s.transfers;
    total.transfer_bytes += s.transfer_bytes;
    total.failures += s.failures;
    total.denials += s.denials;
    total.refused += s.refused;
    total.run_ms += s.run_ms;
  }
  if (clients_.size() > 1) rows.push_back(cells_of("total", total));
  std::array<std::size_t, 8> widths{};
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line = r[0] + std::string(widths[0] - r[0].size(), ' ');
    for (std::size_t i = 1; i < r.size(); ++i) {
      line += std::string(widths[i] - r[i].size() + 2, ' ') + r[i];  // numbers align right
    }
    out << line << '\n';
  }
}

}  // namespace trex::audit

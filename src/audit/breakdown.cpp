// stats per program, per rule and per refused peer.
#include <algorithm>

#include "audit/fields.hpp"
#include "trex/audit_view.hpp"

namespace trex::audit {
namespace {

constexpr std::size_t kMaxKeys = 100000;  // a hostile trail cannot grow the maps without end

using Cells = std::vector<std::string>;

void print_block(std::ostream& out, const std::vector<Cells>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& r : rows) {
    widths.resize(std::max(widths.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  }
  for (const auto& r : rows) {
    std::string line = r[0] + std::string(widths[0] - display_width(r[0]), ' ');
    for (std::size_t i = 1; i < r.size(); ++i) {
      const std::string pad(widths[i] - display_width(r[i]), ' ');
      line += "  " + (i + 1 == r.size() && r.size() == 4 ? r[i] + pad : pad + r[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

}  // namespace

std::string program_of(const Entry& e) {
  if (e.shell) return "sh -c";
  if (e.argv.is_array() && !e.argv.empty() && e.argv[0].is_string()) {
    return e.argv[0].get<std::string>();
  }
  return "?";
}

std::string peer_host(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    const auto close = peer.find(']');
    return std::string(close == std::string_view::npos ? peer : peer.substr(1, close - 1));
  }
  // A bare IPv6 address (auth_fail_summary's peer) has no port to cut.
  if (std::count(peer.begin(), peer.end(), ':') > 1) return std::string(peer);
  const auto colon = peer.rfind(':');
  return std::string(colon == std::string_view::npos ? peer : peer.substr(0, colon));
}

void Breakdown::add(const Entry& e) {
  const auto bump = [](std::map<std::string, Counts>& map, const std::string& key) -> Counts* {
    if (map.size() >= kMaxKeys && !map.count(key)) return nullptr;
    return &map[key];
  };
  if (e.kind == Kind::kCommand && !e.running) {
    for (Counts* c :
         {bump(commands_, program_of(e)), e.rule.empty() ? nullptr : bump(rules_, e.rule)}) {
      if (!c) continue;
      ++c->runs;
      c->failures += e.failed;
      c->run_ms += static_cast<std::uint64_t>(std::max<std::int64_t>(e.duration_ms.value_or(0), 0));
    }
  } else if (e.kind == Kind::kDenied) {
    if (Counts* c = bump(commands_, program_of(e))) ++c->denials;
    if (Counts* c = bump(rules_, e.rule.empty() ? "(no rule)" : e.rule)) ++c->denials;
  } else if (e.kind == Kind::kRefused) {
    const std::string host = peer_host(e.peer);
    if (peers_.size() >= kMaxKeys && !peers_.count(host)) return;
    Peer& p = peers_[host];
    p.refused += static_cast<std::uint64_t>(std::max<std::int64_t>(e.refusals, 0));
    p.last_reason = e.status.substr(std::min<std::size_t>(e.status.size(), 9));  // "refused: "
    p.last_ts = e.ts;
  }
}

std::vector<std::pair<std::string, Breakdown::Peer>> Breakdown::top_peers(std::size_t limit) const {
  std::vector<std::pair<std::string, Peer>> out(peers_.begin(), peers_.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.refused > b.second.refused;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

void Breakdown::print(std::ostream& out) const {
  std::vector<Cells> rows{{"COMMAND", "RUNS", "FAILURES", "DENIALS", "RUN TIME"}};
  for (const auto& [name, c] : commands_) {
    rows.push_back({printable(name), std::to_string(c.runs), std::to_string(c.failures),
                    std::to_string(c.denials), human_duration(c.run_ms)});
  }
  out << '\n';
  print_block(out, rows);
  rows = {{"RULE", "RUNS", "FAILURES", "DENIALS", "RUN TIME"}};
  for (const auto& [name, c] : rules_) {
    rows.push_back({printable(name), std::to_string(c.runs), std::to_string(c.failures),
                    std::to_string(c.denials), human_duration(c.run_ms)});
  }
  out << '\n';
  print_block(out, rows);
  rows = {{"REFUSED PEER", "HANDSHAKES", "LAST", "LAST REASON"}};
  for (const auto& [host, p] : top_peers(10)) {
    rows.push_back({printable(host), std::to_string(p.refused), display_time(p.last_ts, false),
                    printable(p.last_reason)});
  }
  out << '\n';
  print_block(out, rows);
}

}  // namespace trex::audit

#include "server/refusals.hpp"

#include <algorithm>

namespace trex::server {

RefusalLimiter::RefusalLimiter(std::size_t burst, std::chrono::milliseconds window,
                               std::size_t max_addresses)
    : burst_(burst), window_(window), max_addresses_(std::max<std::size_t>(max_addresses, 1)) {}

bool RefusalLimiter::admit(const std::string& address, const std::string& reason,
                           const Instant& now) {
  auto it = windows_.find(address);
  if (it == windows_.end()) {
    const bool full = windows_.size() >= max_addresses_;
    it = windows_.try_emplace(full ? std::string("*") : address, Window{now, 0, 0, {}}).first;
  }
  Window& w = it->second;
  if (w.recorded < burst_) {
    ++w.recorded;
    return true;
  }
  ++w.counted;
  ++w.reasons[reason];
  return false;
}

std::vector<audit::AuthFailSummary> RefusalLimiter::take_due(const Instant& now, bool all) {
  std::vector<audit::AuthFailSummary> due;
  for (auto it = windows_.begin(); it != windows_.end();) {
    const Window& w = it->second;
    const bool ended = now.mono >= w.start.mono + window_;
    if (!ended && !all) {
      ++it;
      continue;
    }
    if (w.counted > 0) {
      const auto end = ended ? w.start.wall + window_ : now.wall;
      due.push_back({it->first, w.counted, w.reasons, audit::rfc3339_utc(w.start.wall),
                     audit::rfc3339_utc(
                         std::chrono::time_point_cast<std::chrono::system_clock::duration>(end))});
    }
    it = windows_.erase(it);
  }
  std::sort(due.begin(), due.end(),
            [](const auto& a, const auto& b) { return a.window_start < b.window_start; });
  return due;
}

std::optional<std::chrono::steady_clock::time_point> RefusalLimiter::next_due() const {
  std::optional<std::chrono::steady_clock::time_point> first;
  for (const auto& [address, w] : windows_) {
    const auto end = w.start.mono + window_;
    if (!first || end < *first) first = end;
  }
  return first;
}

}  // namespace trex::server

// Private: how many refused connections (auth_fail) each address may put in
// the audit trail. Per address, the first `burst` refusals of a window are
// recorded one by one; the rest are only counted, and that count becomes one
// auth_fail_summary when the address's window ends (or at stop). A flood of
// bad handshakes cannot grow the trail without bound, and no refusal goes
// unrecorded. Pure: the caller gives the time and writes the records. Not
// thread-safe (the handshake stage's thread owns it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trex/audit_events.hpp"

namespace trex::server {

struct Instant {
  std::chrono::steady_clock::time_point mono;  // decides when windows end
  std::chrono::system_clock::time_point wall;  // what the summary says
  static Instant now() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
};

class RefusalLimiter {
 public:
  // Addresses beyond `max_addresses` open windows are counted together
  // under the address "*" (memory stays bounded whatever the spread).
  RefusalLimiter(std::size_t burst, std::chrono::milliseconds window,
                 std::size_t max_addresses = 4096);
  // Whether this refusal is to be recorded on its own; if not, it is counted.
  bool admit(const std::string& address, const std::string& reason, const Instant& now);
  // The summaries of the windows ended by `now`, or of every window when
  // `all` (at stop); those addresses start afresh.
  std::vector<audit::AuthFailSummary> take_due(const Instant& now, bool all = false);
  // When the earliest open window ends.
  std::optional<std::chrono::steady_clock::time_point> next_due() const;

 private:
  struct Window {
    Instant start;
    std::size_t recorded = 0;
    std::uint64_t counted = 0;
    std::map<std::string, std::uint64_t> reasons;
  };
  std::size_t burst_;
  std::chrono::milliseconds window_;
  std::size_t max_addresses_;
  std::map<std::string, Window> windows_;
};

}  // namespace trex::server

// Feeds arbitrary bytes, split into lines, to the chain verifier and to the
// review code (trex-audit show/stats). Also checks the verifier's JSON scanner
// against nlohmann: whatever it accepts must be valid JSON, and it may call
// "not valid JSON" only what nlohmann rejects.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/scan.hpp"
#include "trex/audit.hpp"
#include "trex/audit_review.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trex::audit;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Verifier verifier;
  Describer describer;
  Stats stats;
  Filter filter;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1795456147));
  filter.since = now - std::chrono::hours(24 * 365 * 30);
  filter.failed_only = size % 2 == 1;
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

    const auto head = scan_record(line);
    const bool valid_json = Json::accept(line);
    if (head.ok() && !valid_json) std::abort();
    // nlohmann stops at a NUL byte outside strings; RFC 8259 (and we) do not.
    const bool nul = line.find('\0') != std::string_view::npos;
    if (!head.ok() && head.message().rfind("not valid JSON", 0) == 0 && valid_json && !nul) {
      std::abort();
    }
    (void)verifier.check(line);
    (void)Chain::after_line(line);

    if (auto record = parse_record(line)) {
      const Row row = describer.describe(*record);
      (void)matches(*record, filter);
      stats.add(*record);
      (void)row;
    }
    if (line.size() < 64) (void)parse_time(line, now);
  }
  return 0;
}

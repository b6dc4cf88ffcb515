// The HTML report of the audit trail (trex-audit report --html): counts the
// reviewer's entries (audit_view.hpp) per time bucket, client, program and
// refused peer, and writes one self-contained page whose plots are inline
// SVG (no scripts, no fonts, no network: a Content-Security-Policy forbids
// every fetch). Every name from the trail is escaped. Pure apart from the
// ostream given to write_html. Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "trex/audit_view.hpp"

namespace trex::audit {

// What verify said of the chain, shown at the top of the report.
struct ChainSummary {
  bool ok = false;
  std::uint64_t records = 0;
  std::size_t files = 0;
  std::string head;     // "SEQ:HASH" of the last good record
  std::string failure;  // "FILE:LINE: reason" when broken
};

class Report {
 public:
  // Counts entries in [since, until); buckets of an hour, or longer when the
  // window spans more than two weeks (at most ~340 buckets).
  Report(TimePoint since, TimePoint until);

  void add(const Entry& entry);
  void write_html(std::ostream& out, const ChainSummary& chain, const std::string& generated) const;

  struct Bucket {
    std::map<std::string, std::uint64_t> commands;  // per client
    std::uint64_t failed = 0, denied = 0, refused = 0;
  };
  const std::vector<Bucket>& buckets() const { return buckets_; }
  std::chrono::seconds bucket_width() const { return width_; }

 private:
  void write_totals(std::ostream& out) const;
  void write_per_client(std::ostream& out) const;
  void write_failures(std::ostream& out) const;
  void write_busiest(std::ostream& out) const;
  void write_refused(std::ostream& out) const;

  TimePoint from_, until_;  // the window asked for
  TimePoint since_;         // the first bucket's start (from_ rounded down)
  std::chrono::seconds width_;
  std::vector<Bucket> buckets_;
  std::map<std::string, std::uint64_t> client_totals_;
  std::uint64_t commands_ = 0, failed_ = 0, denied_ = 0, refused_ = 0, outside_ = 0;
  Breakdown breakdown_;
};

// Text for HTML content and attribute values: & < > " ' escaped, control
// characters escaped as the terminal views escape them (printable()).
std::string html_escape(std::string_view s);

}  // namespace trex::audit

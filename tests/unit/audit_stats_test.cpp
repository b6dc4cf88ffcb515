// trex-audit stats counts file transfers beside commands (issue 18).
#include <gtest/gtest.h>

#include <sstream>

#include "trex/audit_review.hpp"

namespace trex::audit {
namespace {

Json transfer(const char* event, const char* cn, const char* result, std::int64_t size,
              std::int64_t ms, bool folder = false) {
  Json j{{"event", event}, {"cn", cn},         {"path", "/srv/in/f"},
         {"size", size},   {"result", result}, {"duration_ms", ms}};
  if (folder) j["folder"] = true;
  return j;
}

TEST(AuditStats, CountsTransfersTheirBytesFailuresAndDenials) {
  Stats stats;
  stats.add(Json{{"event", "session_open"}, {"cn", "alice"}});
  stats.add(transfer("file_put", "alice", "ok", 1000, 40));
  stats.add(transfer("file_get", "alice", "ok", 24, 10));
  stats.add(transfer("file_get", "alice", "ok", 9, 5, true));  // a listing: 9 entries
  stats.add(transfer("file_put", "alice", "failed", 3, 5));
  stats.add(transfer("file_get", "alice", "denied", 0, 0));
  stats.add(Json{{"event", "exec_end"}, {"cn", "alice"}, {"exit_code", 0}, {"duration_ms", 100}});
  const ClientStats& s = stats.clients().at("alice");
  EXPECT_EQ(s.transfers, 4u);
  EXPECT_EQ(s.transfer_bytes, 1027u);
  EXPECT_EQ(s.failures, 1u);
  EXPECT_EQ(s.denials, 1u);
  EXPECT_EQ(s.commands, 1u);
  EXPECT_EQ(s.run_ms, 160u);
  std::ostringstream out;
  stats.print(out);
  EXPECT_NE(out.str().find("TRANSFERS"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace trex::audit

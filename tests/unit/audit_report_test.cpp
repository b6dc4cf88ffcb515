// The HTML report's counting and page (trex-audit report --html): buckets,
// escaping of names from the trail, nothing fetched from anywhere.
#include <gtest/gtest.h>

#include <sstream>

#include "trex/audit_report.hpp"

namespace trex::audit {
namespace {

using namespace std::chrono;

TimePoint at(const char* text) { return *parse_time(text, system_clock::now()); }

Entry command(const char* ts, std::string client, std::string program, bool failed) {
  Entry e;
  e.kind = Kind::kCommand;
  e.event = "exec_end";
  e.ts = ts;
  e.client = std::move(client);
  e.argv = Json::array({program});
  e.command = program;
  e.failed = failed;
  return e;
}

TEST(Report, CountsPerHourAndClient) {
  Report r(at("2026-12-01T10:30:00Z"), at("2026-12-01T13:00:00Z"));
  ASSERT_EQ(r.bucket_width(), hours(1));
  ASSERT_EQ(r.buckets().size(), 3u);  // 10:00 (from 10:30), 11:00, 12:00
  r.add(command("2026-12-01T10:20:00.000000Z", "alice", "uptime", false));  // before the window
  r.add(command("2026-12-01T10:45:00.000000Z", "alice", "uptime", false));
  r.add(command("2026-12-01T10:59:59.999999Z", "bob", "make", true));
  r.add(command("2026-12-01T12:10:00.000000Z", "alice", "df", false));
  r.add(command("2026-12-01T13:00:00.000000Z", "alice", "df", false));  // until is exclusive
  Entry denied;
  denied.kind = Kind::kDenied;
  denied.ts = "2026-12-01T11:05:00.000000Z";
  denied.client = "bob";
  r.add(denied);
  const auto& b = r.buckets();
  EXPECT_EQ(b[0].commands.at("alice"), 1u);
  EXPECT_EQ(b[0].commands.at("bob"), 1u);
  EXPECT_EQ(b[0].failed, 1u);
  EXPECT_TRUE(b[1].commands.empty());
  EXPECT_EQ(b[1].denied, 1u);
  EXPECT_EQ(b[2].commands.at("alice"), 1u);
}

TEST(Report, LongWindowsUseLongerBuckets) {
  EXPECT_EQ(Report(at("2026-11-01"), at("2026-11-15")).bucket_width(), hours(1));
  EXPECT_EQ(Report(at("2026-10-01"), at("2026-11-15")).bucket_width(), hours(6));
  const Report year(at("2025-11-01"), at("2026-11-01"));
  EXPECT_GE(year.bucket_width(), hours(24));
  EXPECT_LE(year.buckets().size(), 340u);
}

TEST(Report, PageEscapesNamesAndFetchesNothing) {
  Report r(at("2026-12-01T10:00:00Z"), at("2026-12-01T12:00:00Z"));
  r.add(command("2026-12-01T10:45:00.000000Z", "<script>alert(1)</script>", "<b>x</b>", true));
  Entry refused;
  refused.kind = Kind::kRefused;
  refused.failed = true;
  refused.ts = "2026-12-01T11:00:00.000000Z";
  refused.peer = "10.0.0.9:4000";
  refused.status = "refused: unknown CA";
  r.add(refused);
  ChainSummary chain;
  chain.ok = false;
  chain.records = 41;
  chain.failure = "log/audit.jsonl:42: prev does not match \"<b>\"";
  std::ostringstream out;
  r.write_html(out, chain, "now");
  const std::string page = out.str();
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("Chain BROKEN: log/audit.jsonl:42: prev does not match &quot;&lt;b&gt;"),
            std::string::npos);
  for (const char* id : {"commands-per-hour", "failures", "busiest", "refused"}) {
    EXPECT_NE(page.find(std::string("<svg id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(page.find("10.0.0.9"), std::string::npos);
  // Nothing that a browser would fetch: no URL, no external reference.
  for (const char* word :
       {"http:", "https:", "//", "src=", "href", "url(", "@import", "<link", "<object"}) {
    EXPECT_EQ(page.find(word), std::string::npos) << word;
  }
  EXPECT_NE(page.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
}

TEST(Report, EmptyWindowSaysSo) {
  Report r(at("2026-12-01T10:00:00Z"), at("2026-12-01T12:00:00Z"));
  ChainSummary chain;
  chain.ok = true;
  std::ostringstream out;
  r.write_html(out, chain, "now");
  EXPECT_NE(out.str().find("No commands in this window."), std::string::npos);
  EXPECT_NE(out.str().find("class=\"chain ok\""), std::string::npos);
}

}  // namespace
}  // namespace trex::audit

// trex-audit report --html on a real server's trail, rendered by a real
// browser (Debian's headless Chromium, installed by tools/test.sh): the page
// is drawn (not blank), the chain's result is at the top, and every plot
// shows its bars, told apart by their colours in the screenshot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kPolicy[] = R"toml(
[[rule]]
name = "lab-ops"
ou = ["ops"]
allow = ["true", "false", "echo"]
)toml";

// The colours src/audit/report.cpp gives each plot (and the chain banner).
constexpr const char* kChainOk = "#2ca02c";
constexpr const char* kChainBroken = "#b00020";
constexpr const char* kFirstClient = "#1f77b4";
constexpr const char* kFailed = "#d62728";
constexpr const char* kDenied = "#ff7f0e";
constexpr const char* kRefused = "#9467bd";
constexpr const char* kBusiest = "#17becf";
constexpr const char* kRefusedPeers = "#6a3d9a";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Renders `html` in headless Chromium; returns the pixel counts that
// tests/support/png_colors.py prints ("not_white", "#rrggbb", ...).
std::map<std::string, long> render(const TempDir& tmp, const std::string& html,
                                   const std::string& png) {
  RunOptions opts;
  opts.timeout = scaled(120s);
  // --no-sandbox: the tests may run as root, where Chromium's sandbox refuses.
  const RunResult shot = run({"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                              "--hide-scrollbars", "--user-data-dir=" + tmp.file("chromium"),
                              "--window-size=1000,1300", "--screenshot=" + png, "file://" + html},
                             opts);
  EXPECT_EQ(shot.status, 0) << shot.err;
  EXPECT_TRUE(fs::exists(png)) << shot.err;
  const RunResult counted =
      run({"python3", std::string(TREX_SOURCE_DIR) + "/tests/support/png_colors.py", png, kChainOk,
           kChainBroken, kFirstClient, kFailed, kDenied, kRefused, kBusiest, kRefusedPeers});
  EXPECT_EQ(counted.status, 0) << counted.err;
  std::map<std::string, long> counts;
  std::istringstream in(counted.out);
  for (std::string key; in >> key;) {
    std::string value;
    std::getline(in, value);
    counts[key] = std::atol(value.c_str());
  }
  return counts;
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(TREX_AUDIT_BIN).empty()) GTEST_SKIP() << "trex-audit not built";
    ASSERT_EQ(run({"sh", "-c", "command -v chromium"}).status, 0)
        << "chromium not found: install Debian's chromium package (tools/test.sh does)";
    write_file(tmp_.file("policy.toml"), kPolicy);
  }
  TempDir tmp_;
  Pki pki_{tmp_.path()};
};

TEST_F(Report, ChromiumDrawsEveryPlot) {
  Trexd server(pki_, tmp_.path(), {"--policy", tmp_.file("policy.toml")});
  for (int i = 0; i < 6; ++i) ASSERT_EQ(server.trex("client", {"echo", "hello"}).status, 0);
  ASSERT_EQ(server.trex("client", {"false"}).status, 1);
  ASSERT_NE(server.trex("client", {"rm", "-rf", "/tmp/nothing"}).status, 0);  // denied
  TempDir other_dir;
  const Pki other(other_dir.path());
  const RunResult refused = run({TREX_BIN, "--ca", pki_.ca(), "--cert", other.cert("client"),
                                 "--key", other.key("client"), server.address(), "true"});
  ASSERT_NE(refused.status, 0);
  ASSERT_TRUE(eventually([&] { return !audit_records(server.audit_path(), "auth_fail").empty(); }));

  const std::string html = tmp_.file("report.html");
  RunResult r = run(
      {TREX_AUDIT_BIN, "report", "--html", html, "--since", "2h", "--log-dir", server.log_dir()});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = read_file(html);
  EXPECT_NE(page.find("Chain intact:"), std::string::npos);
  EXPECT_EQ(fs::status(html).permissions() & fs::perms::others_all, fs::perms::none);

  const auto px = render(tmp_, html, tmp_.file("report.png"));
  EXPECT_GT(px.at("not_white"), 50000) << "the screenshot is blank";
  EXPECT_GT(px.at(kChainOk), 2000) << "no green chain banner";
  EXPECT_EQ(px.at(kChainBroken), 0);
  // Legend squares are 100 pixels; a bar is far more.
  for (const char* colour : {kFirstClient, kFailed, kDenied, kRefused, kBusiest, kRefusedPeers}) {
    EXPECT_GT(px.at(colour), 1000) << colour << " (its plot has no bars)";
  }
  if (const char* keep = std::getenv("TREX_REPORT_SCREENSHOT")) {
    fs::copy_file(tmp_.file("report.png"), keep, fs::copy_options::overwrite_existing);
  }
}

// A trail whose chain is broken: the page says so at the top, in red.
TEST_F(Report, BrokenChainIsShownAtTheTop) {
  {
    Trexd server(pki_, tmp_.path(), {"--policy", tmp_.file("policy.toml")});
    ASSERT_EQ(server.trex("client", {"true"}).status, 0);
  }
  const std::string trail = tmp_.file("log/audit.jsonl");
  std::string text = read_file(trail);
  const auto pos = text.find("\"true\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 6, "\"TRUE\"");  // an edited record
  std::ofstream(trail, std::ios::binary | std::ios::trunc) << text;
  const std::string html = tmp_.file("broken.html");
  const RunResult r = run({TREX_AUDIT_BIN, "report", "--html", html, "--since", "2h", trail});
  EXPECT_EQ(r.status, 1) << r.err;
  const std::string page = read_file(html);
  EXPECT_NE(page.find("Chain BROKEN: " + trail + ":"), std::string::npos) << page.substr(0, 2000);
  const auto px = render(tmp_, html, tmp_.file("broken.png"));
  EXPECT_GT(px.at(kChainBroken), 2000) << "no red chain banner";
  EXPECT_EQ(px.at(kChainOk), 0);
}

}  // namespace
}  // namespace trex::testing

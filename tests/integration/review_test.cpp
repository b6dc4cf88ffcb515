// trex-audit as a reviewer uses it on a real server's trail (issue 17):
// `show --follow` across rotations while clients keep running commands, and
// the rule that allowed each command in show and stats.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPolicy[] = R"toml(
[[rule]]
name = "lab-ops"
ou = ["ops"]
allow = ["*"]
)toml";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class Review : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(TREX_AUDIT_BIN).empty()) GTEST_SKIP() << "trex-audit not built";
    write_file(tmp_.file("policy.toml"), kPolicy);
  }
  void start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--policy", tmp_.file("policy.toml")});
    server_.emplace(pki_, tmp_.path(), extra);
  }
  // The ids of every exec_end in the whole trail (rotated files included).
  std::set<std::string> ended_ids() const {
    std::set<std::string> ids;
    std::vector<std::string> files;
    for (int n = 1; fs::exists(server_->audit_path() + "." + std::to_string(n)); ++n) {
      files.push_back(server_->audit_path() + "." + std::to_string(n));
    }
    files.push_back(server_->audit_path());
    for (const auto& f : files) {
      for (const auto& r : audit_records(f, "exec_end")) ids.insert(r["id"].get<std::string>());
    }
    return ids;
  }

  TempDir tmp_;
  Pki pki_{tmp_.path()};
  std::optional<Trexd> server_;
};

// The follower reads the lines a running trexd appends while 8 clients run
// commands and the trail rotates every few records: every command appears
// exactly once, with its command line, and nothing else is lost.
TEST_F(Review, FollowAcrossRotationUnderLoad) {
  start({"--audit-max-bytes", "4096", "--max-sessions", "16"});
  ASSERT_EQ(server_->trex("client", {"echo", "before"}).status, 0);
  RunOptions follow_opts;
  follow_opts.timeout = 600s;
  Child follow(
      {TREX_AUDIT_BIN, "show", "--follow", "--format", "json", "--log-dir", server_->log_dir()},
      follow_opts);
  ASSERT_TRUE(follow.wait_for_output("\"before\"", 30s)) << follow.out();

  constexpr int kThreads = 8, kEach = 8;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string word = "w" + std::to_string(t) + "-" + std::to_string(i);
        if (server_->trex("client", {"echo", word}).status != 0) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(bad.load(), 0);
  ASSERT_TRUE(fs::exists(server_->audit_path() + ".3")) << "the trail did not rotate";
  ASSERT_TRUE(follow.wait_for_output("\"w7-7\"", 60s)) << follow.out();
  // The last word may come before others still being printed: wait for all.
  const auto ids = ended_ids();
  const auto seen = [&] {
    std::multiset<std::string> got;
    for (const auto& l : lines_of(follow.out())) {
      const json j = json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.value("kind", "") == "command") got.insert(j.value("id", ""));
    }
    return got;
  };
  for (int i = 0; i < 300 && seen().size() < ids.size(); ++i) {
    follow.wait_for_output("\"no such text\"", 100ms);
  }
  follow.kill(SIGTERM);
  follow.wait();
  const auto got = seen();
  EXPECT_EQ(got.size(), ids.size());
  for (const auto& id : ids) EXPECT_EQ(got.count(id), 1u) << id;
  std::set<std::string> words;
  for (const auto& l : lines_of(follow.out())) {
    const json j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.contains("argv")) words.insert(j["argv"].back().get<std::string>());
  }
  EXPECT_EQ(words.size(), 1u + kThreads * kEach);  // "before" and every word
}

// A command's rule is recorded at its start, so show and stats can name it.
TEST_F(Review, RulesOfAllowedCommands) {
  start();
  ASSERT_EQ(server_->trex("client", {"true"}).status, 0);
  ASSERT_EQ(server_->trex("client", {"false"}).status, 1);
  const auto starts = audit_records(server_->audit_path(), "exec_start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]["rule"], "lab-ops");
  auto r = run({TREX_AUDIT_BIN, "stats", "--format", "json", server_->audit_path()});
  ASSERT_EQ(r.status, 0) << r.err;
  const json stats = json::parse(r.out);
  EXPECT_EQ(stats["rules"]["lab-ops"]["runs"], 2);
  EXPECT_EQ(stats["rules"]["lab-ops"]["failures"], 1);
  r = run({TREX_AUDIT_BIN, "show", "--rule", "lab-ops", "--status", "1", "--format", "csv",
           server_->audit_path()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[1].find(",command,client,"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find(",false,false,,lab-ops,exec_end"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace trex::testing

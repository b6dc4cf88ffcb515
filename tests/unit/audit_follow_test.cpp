// Follower (trex-audit show --follow) across rotations: every line appended
// to the trail is read exactly once, in order, whatever a poll runs into.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "trex/audit_follow.hpp"

namespace trex::audit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Follow : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trex-follow-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path() const { return dir_ + "/audit.jsonl"; }
  void append(const std::string& line) const {
    std::ofstream(path(), std::ios::app) << line << '\n';
  }
  // As trexd rotates: rename to the next number, then (later) a new file.
  void rename_to(int n) const { fs::rename(path(), path() + "." + std::to_string(n)); }
  std::vector<std::string> poll(Follower& f) const {
    std::vector<std::string> got;
    const auto s = f.poll([&](std::string_view l) { got.emplace_back(l); });
    EXPECT_TRUE(s) << s.message();
    return got;
  }

  std::string dir_;
};

using Lines = std::vector<std::string>;

// A poll that finds no current file (trexd between its rename and the new
// file) leaves none open; the next must still read the files rotated since,
// not only the current one. CI lost a whole rotated file this way.
TEST_F(Follow, ReadsTheFilesRotatedWhileNoneWasOpen) {
  append("old");
  rename_to(1);
  Follower f(path());
  EXPECT_EQ(poll(f), Lines{});  // started mid-rotation: .1 is from before
  append("b1");
  append("b2");
  rename_to(2);
  append("c1");
  rename_to(3);
  append("d1");
  EXPECT_EQ(poll(f), (Lines{"b1", "b2", "c1", "d1"}));
  append("d2");
  EXPECT_EQ(poll(f), Lines{"d2"});
}

// The followed file was rotated and then removed (retention) before the
// poll: the rest of it is still read from the open descriptor, then every
// newer file.
TEST_F(Follow, ReadsOnWhenItsFileIsRemoved) {
  append("a1");
  Follower f(path());
  EXPECT_EQ(poll(f), Lines{"a1"});
  append("a2");
  rename_to(1);
  append("b1");
  rename_to(2);
  append("c1");
  fs::remove(path() + ".1");
  EXPECT_EQ(poll(f), (Lines{"a2", "b1", "c1"}));
}

// A writer that rotates every few lines and pauses between the rename and
// the new file (as trexd does when it loses the CPU there) while a follower
// polls: every line once, in order.
TEST_F(Follow, EveryLineOnceWhileAWriterRotates) {
  constexpr int kLines = 3000, kPerFile = 4;
  Follower f(path());
  Lines got;
  EXPECT_EQ(poll(f), Lines{});  // started before the trail
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0, file = 0; i < kLines; ++i) {
      append(std::to_string(i));
      if ((i + 1) % kPerFile != 0 || i + 1 == kLines) continue;  // ends with a current file
      rename_to(++file);
      std::this_thread::sleep_for(50us);
    }
    done = true;
  });
  const auto add = [&](const Lines& l) { got.insert(got.end(), l.begin(), l.end()); };
  while (!done) {
    add(poll(f));
    std::this_thread::sleep_for(200us);
  }
  writer.join();
  for (int i = 0; i < 3; ++i) add(poll(f));  // the last file, once it is there
  Lines want;
  for (int i = 0; i < kLines; ++i) want.push_back(std::to_string(i));
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace trex::audit

// asciicast v2 lines and the recording file of terminal sessions.
#include "trex/recording.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/file_size_limit.hpp"
#include "util/sha256.hpp"

namespace trex::audit {
namespace {

Json parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  return Json::parse(line);
}

TEST(CastEncoder, HeaderIsAsciicastV2) {
  const Json h = parse_line(CastEncoder::header({132, 43, 1700000000, "xterm-256color"}));
  EXPECT_EQ(h["version"], 2);
  EXPECT_EQ(h["width"], 132);
  EXPECT_EQ(h["height"], 43);
  EXPECT_EQ(h["timestamp"], 1700000000);
  EXPECT_EQ(h["env"]["TERM"], "xterm-256color");
}

TEST(CastEncoder, EventsCarryTheExactTextWithControls) {
  CastEncoder enc;
  const std::string screen = "\x1b[1;31mred\x1b[0m \"q\" \\ tab\there\r\n\x07\x7f";
  const Json e = parse_line(enc.event(1.5, 'o', screen));
  ASSERT_TRUE(e.is_array());
  ASSERT_EQ(e.size(), 3U);
  EXPECT_DOUBLE_EQ(e[0].get<double>(), 1.5);
  EXPECT_EQ(e[1], "o");
  EXPECT_EQ(e[2].get<std::string>(), screen);
  EXPECT_EQ(parse_line(enc.event(2, 'i', "q"))[1], "i");
  EXPECT_EQ(parse_line(CastEncoder::resize(3, 100, 30))[2], "100x30");
}

TEST(CastEncoder, AUtf8SequenceCutByAReadWaitsForItsEnd) {
  CastEncoder enc;
  // "é€" split inside each character.
  EXPECT_EQ(enc.event(0, 'o', "a\xC3"), "[0.000000, \"o\", \"a\"]\n");
  EXPECT_EQ(enc.event(0, 'o', "\xA9\xE2\x82"), "[0.000000, \"o\", \"\xC3\xA9\"]\n");
  // Input is held apart from output.
  EXPECT_EQ(parse_line(enc.event(0, 'i', "x"))[2], "x");
  EXPECT_EQ(parse_line(enc.event(0, 'o', "\xAC"))[2], "\xE2\x82\xAC");
  EXPECT_EQ(enc.flush(0, 'o'), "");
  EXPECT_EQ(enc.event(0, 'o', "\xF0\x9F"), "");
  EXPECT_EQ(parse_line(enc.flush(0, 'o'))[2], "\xEF\xBF\xBD");
}

TEST(CastEncoder, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  CastEncoder enc;
  EXPECT_EQ(parse_line(enc.event(0, 'o',
                                 "a\xFF"
                                 "b\xC0\xAF"
                                 "c"))[2],
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c");
  std::string out;
  EXPECT_EQ(append_json_text(out, "ok\xE2\x82"), 2U);
  EXPECT_EQ(out, "ok");
}

class RecordingFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trex-rec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(RecordingFile, DigestAndSizeDescribeTheFile) {
  ::umask(077);
  auto rec = Recording::create(dir_, "tty-1.1.cast", {80, 24, 1, "dumb"});
  ASSERT_TRUE(rec.ok()) << rec.message();
  ASSERT_TRUE(rec->output("hello\r\n").ok());
  ASSERT_TRUE(rec->input("\x03").ok());
  ASSERT_TRUE(rec->resize(100, 40).ok());
  ASSERT_TRUE(rec->output("\xE2\x82").ok());  // never completed
  auto info = rec->finish();
  ASSERT_TRUE(info.ok()) << info.message();
  std::ifstream in(dir_ + "/tty-1.1.cast", std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  const std::string text = body.str();
  util::Sha256 sha;
  sha.update(text);
  EXPECT_EQ(info->sha256, sha.hex_digest());
  EXPECT_EQ(info->bytes, text.size());
  EXPECT_EQ(info->file, "tty-1.1.cast");
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(Json::accept(line)) << line;
    ++count;
  }
  EXPECT_EQ(count, 5);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/tty-1.1.cast").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640U);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  return body.str();
}

// The "r" events of a recording's text, as "COLSxROWS", in order.
std::vector<std::string> resizes(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    const Json e = Json::parse(line);
    if (e[1] == "r") out.push_back(e[2].get<std::string>());
  }
  return out;
}

TEST_F(RecordingFile, TheLimitRefusesTheWriteThatWouldPassIt) {
  constexpr std::uint64_t kMax = 4096;
  auto rec = Recording::create(dir_, "tty-2.1.cast", {80, 24, 1, "dumb"}, {.max_bytes = kMax});
  ASSERT_TRUE(rec.ok()) << rec.message();
  const std::string line(100, 'x');
  int written = 0;
  Status s = Status::success();
  while ((s = rec->output(line)).ok()) ASSERT_LT(++written, 100) << "no limit";
  EXPECT_GT(written, 30);
  EXPECT_TRUE(rec->full());
  EXPECT_NE(s.message().find("tty-2.1.cast reached its size limit of 4096 bytes"),
            std::string::npos)
      << s.message();
  // Once full, nothing more is written, however small.
  EXPECT_FALSE(rec->input("y").ok());
  EXPECT_FALSE(rec->resize(132, 43).ok());
  auto info = rec->finish();
  ASSERT_TRUE(info.ok()) << info.message();
  const std::string text = read_all(dir_ + "/tty-2.1.cast");
  EXPECT_LE(text.size(), kMax);
  EXPECT_GT(text.size(), kMax - 200);
  EXPECT_EQ(info->bytes, text.size());
  util::Sha256 sha;
  sha.update(text);
  EXPECT_EQ(info->sha256, sha.hex_digest());
  EXPECT_EQ(text.back(), '\n');  // whole lines only
  EXPECT_TRUE(resizes(text).empty());
}

TEST_F(RecordingFile, AFloodOfResizesIsCoalesced) {
  auto rec = Recording::create(dir_, "tty-3.1.cast", {80, 24, 1, "dumb"},
                               {.resize_interval = std::chrono::hours(1)});
  ASSERT_TRUE(rec.ok()) << rec.message();
  ASSERT_TRUE(rec->resize(80, 24).ok());   // the header's size: nothing to say
  ASSERT_TRUE(rec->resize(100, 40).ok());  // the first change is written at once
  for (unsigned i = 0; i < 10000; ++i) ASSERT_TRUE(rec->resize(10 + i % 7, 5 + i % 3).ok());
  ASSERT_TRUE(rec->resize(120, 50).ok());
  EXPECT_EQ(resizes(read_all(dir_ + "/tty-3.1.cast")), std::vector<std::string>{"100x40"});
  // The size held back comes before the screen drawn for it.
  ASSERT_TRUE(rec->output("drawn").ok());
  ASSERT_TRUE(rec->resize(90, 30).ok());
  ASSERT_TRUE(rec->resize(120, 50).ok());  // back to the size written: held, not news
  auto info = rec->finish();
  ASSERT_TRUE(info.ok()) << info.message();
  const std::string text = read_all(dir_ + "/tty-3.1.cast");
  EXPECT_EQ(resizes(text), (std::vector<std::string>{"100x40", "120x50"}));
  EXPECT_LT(text.find("\"120x50\""), text.find("drawn"));
}

TEST_F(RecordingFile, ResizesFarEnoughApartAreEachWritten) {
  auto rec = Recording::create(dir_, "tty-4.1.cast", {80, 24, 1, "dumb"},
                               {.resize_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(rec.ok()) << rec.message();
  ASSERT_TRUE(rec->resize(100, 40).ok());
  ASSERT_TRUE(rec->resize(100, 40).ok());
  ASSERT_TRUE(rec->resize(101, 40).ok());
  ASSERT_TRUE(rec->finish().ok());
  EXPECT_EQ(resizes(read_all(dir_ + "/tty-4.1.cast")),
            (std::vector<std::string>{"100x40", "101x40"}));
}

TEST_F(RecordingFile, AWriteTheFileSystemRefusesLeavesWholeLinesThatTheDigestCovers) {
  auto rec = Recording::create(dir_, "tty-5.1.cast", {80, 24, 1, "dumb"});
  ASSERT_TRUE(rec.ok()) << rec.message();
  Status s = Status::success();
  {
    // 4000 bytes: the line that crosses it is written in part, then refused.
    const testing::FileSizeLimit limit(4000);
    ASSERT_TRUE(limit.ok());
    for (int i = 0; i < 100 && s.ok(); ++i) s = rec->output(std::string(99, 'x') + "\n");
  }
  ASSERT_FALSE(s.ok()) << "the file system never refused";
  EXPECT_NE(s.message().find("cannot write " + dir_ + "/tty-5.1.cast: File too large"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(rec->full());  // not the size limit
  EXPECT_FALSE(rec->output("more").ok());
  auto info = rec->finish();
  ASSERT_TRUE(info.ok()) << info.message();
  const std::string text = read_all(dir_ + "/tty-5.1.cast");
  EXPECT_GT(text.size(), 3800U);
  EXPECT_LE(text.size(), 4000U);
  EXPECT_EQ(info->bytes, text.size());
  util::Sha256 sha;
  sha.update(text);
  EXPECT_EQ(info->sha256, sha.hex_digest());
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) EXPECT_TRUE(Json::accept(line)) << line;
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(RecordingFile, CheckTakesFieldsOfAnyTypeFromTheTrail) {
  auto rec = Recording::create(dir_, "tty-1.1.cast", {80, 24, 1, "dumb"});
  ASSERT_TRUE(rec.ok()) << rec.message();
  auto info = rec->finish();
  ASSERT_TRUE(info.ok()) << info.message();
  const Json good{{"id", "1.1"},
                  {"recording", info->file},
                  {"recording_sha256", info->sha256},
                  {"recording_bytes", info->bytes}};
  EXPECT_TRUE(check_recording(dir_, good).ok());
  // A hostile trail's types are a mismatch to report, never an exception.
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, Json>>{{"id", 7},
                                                 {"recording_bytes", std::to_string(info->bytes)},
                                                 {"recording_sha256", 1},
                                                 {"recording_bytes", -1}}) {
    Json bad = good;
    bad[key] = value;
    const auto s = check_recording(dir_, bad);
    if (key == "id") {
      EXPECT_TRUE(s.ok()) << s.message();
    } else {
      EXPECT_FALSE(s.ok()) << key;
      EXPECT_NE(s.message().find("was changed"), std::string::npos) << s.message();
    }
  }
  Json named = good;
  named["recording"] = 1;
  named["id"] = Json::array();
  const auto s = check_recording(dir_, named);
  EXPECT_NE(s.message().find(": the recording's name is not one trexd gives"), std::string::npos)
      << s.message();
}

// A FIFO (or a device) where the recording should be: an error, not a
// review that waits for a writer forever.
TEST_F(RecordingFile, CheckRefusesWhatIsNoRegularFile) {
  ASSERT_EQ(::mkfifo((dir_ + "/tty-1.2.cast").c_str(), 0600), 0);
  const Json end{{"id", "1.2"},
                 {"recording", "tty-1.2.cast"},
                 {"recording_sha256", std::string(64, '0')},
                 {"recording_bytes", 0}};
  const auto s = check_recording(dir_, end);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), dir_ + "/tty-1.2.cast: recording of command 1.2 is not a regular file");
}

TEST_F(RecordingFile, NeverWritesOverAFile) {
  std::ofstream(dir_ + "/taken.cast") << "x";
  auto rec = Recording::create(dir_, "taken.cast", {});
  ASSERT_FALSE(rec.ok());
  EXPECT_NE(rec.message().find(dir_ + "/taken.cast"), std::string::npos) << rec.message();
  EXPECT_FALSE(Recording::create(dir_ + "/missing", "a.cast", {}).ok());
}

}  // namespace
}  // namespace trex::audit

#include "trex/audit.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace trex::audit {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr system_clock::time_point kWhen{
    std::chrono::microseconds(1795456147123456LL)};  // 2026-11-23

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "trex-audit-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << data;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> make_chain(int n) {
  Chain chain;
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back(chain.seal("exec_end", Json{{"cn", "alice"}, {"exit_code", i}}, kWhen));
    chain.advance(lines.back());
  }
  return lines;
}

// The first failing line (1-based) and its reason; 0 when all pass.
std::pair<int, std::string> first_failure(const std::vector<std::string>& lines) {
  Verifier v;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (auto reason = v.check(lines[i])) return {static_cast<int>(i + 1), *reason};
  }
  return {0, ""};
}

// Command bytes are kept as text only when they are strict UTF-8; anything
// else is hex, so no two commands read the same in the trail.
TEST(Record, StrictUtf8OnlyIsText) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("ls \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(is_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_utf8("a\xE2\x82"));         // cut off at the end
  EXPECT_FALSE(is_utf8("\xE2\x28\xA1"));      // not a continuation byte
  EXPECT_FALSE(is_utf8("\xFF"));
  EXPECT_EQ(bytes_field("a\xFF"
                        "b"),
            Json({{"hex", "61ff62"}}));
}

TEST(Record, Rfc3339IsUtcWithMicroseconds) {
  EXPECT_EQ(rfc3339_utc(kWhen), "2026-11-23T17:49:07.123456Z");
  EXPECT_EQ(rfc3339_utc(system_clock::time_point()), "1970-01-01T00:00:00.000000Z");
}

TEST(Record, Sha256Hex) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Record, SealOrdersFields) {
  Json fields;
  fields["conn"] = 7;
  fields["id"] = 1;
  fields["argv"] = {"ls", "-l"};
  fields["cn"] = "alice";
  EXPECT_EQ(Chain().seal("exec_start", fields, kWhen),
            R"({"ts":"2026-11-23T17:49:07.123456Z","seq":1,"event":"exec_start","conn":7,"id":1,)"
            R"("argv":["ls","-l"],"cn":"alice","prev":")" +
                std::string(kGenesis) + "\"}");
}

TEST(Record, SealEscapesHostileArgv) {
  const Json fields{{"argv", {"say \"hi\"", "two\nlines", std::string("bad\xff\xfeutf8")}}};
  const std::string line = Chain().seal("exec_start", fields, kWhen);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const Json back = Json::parse(line);
  EXPECT_EQ(back["argv"][0], "say \"hi\"");
  EXPECT_EQ(back["argv"][1], "two\nlines");
  EXPECT_EQ(back["argv"][2], "bad\xef\xbf\xbd\xef\xbf\xbdutf8");  // U+FFFD twice
  EXPECT_FALSE(Verifier().check(line).has_value());
}

TEST(Record, CallerCannotOverrideChainFields) {
  const Json back = Json::parse(Chain().seal("x", Json{{"seq", 99}, {"prev", "f"}}, kWhen));
  EXPECT_EQ(back["seq"], 1);
  EXPECT_EQ(back["prev"], kGenesis);
  EXPECT_EQ(back["_seq"], 99);
}

TEST(ChainTest, LinksEachLineToThePrevious) {
  Chain chain;
  EXPECT_EQ(chain.prev(), kGenesis);
  const std::string first = chain.seal("a", Json::object(), kWhen);
  chain.advance(first);
  EXPECT_EQ(chain.next_seq(), 2u);
  EXPECT_EQ(chain.prev(), sha256_hex(first));
  const Json second = Json::parse(chain.seal("b", Json::object(), kWhen));
  EXPECT_EQ(second["seq"], 2);
  EXPECT_EQ(second["prev"], sha256_hex(first));

  auto resumed = Chain::after_line(first);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->next_seq(), 2u);
  EXPECT_EQ(resumed->prev(), sha256_hex(first));
  EXPECT_FALSE(Chain::after_line("not json").ok());
}

TEST(VerifierTest, AcceptsAGoodChain) {
  const auto lines = make_chain(5);
  EXPECT_EQ(first_failure(lines).first, 0);
  Verifier v;
  for (const auto& l : lines) ASSERT_FALSE(v.check(l));
  EXPECT_EQ(v.records(), 5u);
}

TEST(VerifierTest, DetectsAForgedField) {
  auto lines = make_chain(4);
  const auto pos = lines[1].find("\"exit_code\":1");
  ASSERT_NE(pos, std::string::npos);
  lines[1].replace(pos, 13, "\"exit_code\":0");
  const auto [line, reason] = first_failure(lines);
  EXPECT_EQ(line, 3);  // the forged line itself still links to line 1
  EXPECT_NE(reason.find("prev does not match the previous line (expected "), std::string::npos);
}

TEST(VerifierTest, DetectsReorderRemovalDuplicationAndTruncation) {
  auto lines = make_chain(4);
  auto reordered = lines;
  std::swap(reordered[1], reordered[2]);
  EXPECT_EQ(first_failure(reordered),
            std::make_pair(2, std::string("seq is 3, expected 2 (records are missing)")));
  auto removed = lines;
  removed.erase(removed.begin() + 1);
  EXPECT_EQ(first_failure(removed).first, 2);
  auto duplicated = lines;
  duplicated.insert(duplicated.begin() + 2, lines[1]);
  EXPECT_EQ(first_failure(duplicated),
            std::make_pair(3, std::string("seq is 2, expected 3 (repeated or out of order)")));
  auto truncated = lines;
  truncated.back().resize(truncated.back().size() / 2);
  const auto [line, reason] = first_failure(truncated);
  EXPECT_EQ(line, 4);
  EXPECT_EQ(reason.rfind("not valid JSON", 0), 0u) << reason;
}

TEST(VerifierTest, TellsALineThatNamesARecording) {
  const std::string p(kGenesis);
  const std::string head = R"({"ts":"2026-11-23T17:49:07.123456Z","seq":1,"event":"exec_end",)";
  const std::pair<std::string, bool> cases[] = {
      {head + R"("recording":"tty-1.cast","prev":")" + p + "\"}", true},
      {head + R"("rec\u006frding":1,"prev":")" + p + "\"}", true},  // as nlohmann decodes it
      {head + R"("x":{"recording":"tty-1.cast"},"prev":")" + p + "\"}", false},  // not top-level
      {head + R"("note":"recording","prev":")" + p + "\"}", false},
      {head + R"("recordings":1,"prev":")" + p + "\"}", false},
  };
  for (const auto& [line, names] : cases) {
    Verifier v;
    ASSERT_FALSE(v.check(line)) << line;
    EXPECT_EQ(v.names_recording(), names) << line;
  }
}

TEST(VerifyFiles, HandsOnEveryGoodLineThatNamesARecording) {
  TempDir dir;
  Chain chain;
  std::string text;
  for (int i = 1; i <= 4; ++i) {
    Json fields{{"id", i}};
    if (i % 2 == 0) fields["recording"] = "tty-" + std::to_string(i) + ".cast";
    const std::string line = chain.seal("exec_end", fields, kWhen);
    chain.advance(line);
    text += line + "\n";
  }
  write_file(dir / "a.jsonl", text);
  std::vector<std::pair<std::uint64_t, std::string>> seen;
  const auto collect = [&](const std::string& file, std::uint64_t n, std::string_view line) {
    EXPECT_EQ(file, dir / "a.jsonl");
    seen.emplace_back(n, Json::parse(line)["recording"].get<std::string>());
  };
  EXPECT_TRUE(verify_files({dir / "a.jsonl"}, std::nullopt, collect).ok());
  using Seen = std::vector<std::pair<std::uint64_t, std::string>>;
  EXPECT_EQ(seen, (Seen{{2, "tty-2.cast"}, {4, "tty-4.cast"}}));
  // A broken line is not handed on, nor anything after it.
  seen.clear();
  auto lines = split_lines(text);
  lines[1].replace(lines[1].find("\"id\":2"), 6, "\"id\":9");
  write_file(dir / "a.jsonl",
             lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n" + lines[3] + "\n");
  EXPECT_FALSE(verify_files({dir / "a.jsonl"}, std::nullopt, collect).ok());
  EXPECT_EQ(seen, (Seen{{2, "tty-2.cast"}}));  // line 2 links; line 3 does not
}

TEST(VerifierTest, RejectsMalformedRecords) {
  const std::string p(kGenesis);
  const std::string ts = R"("ts":"2026-11-23T17:49:07.123456Z")";
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty line"},
      {"[1]", "not a JSON object"},
      {"{}", "missing field ts"},
      {"{" + ts + R"(,"seq":"1","event":"e","prev":")" + p + "\"}", "seq is not a positive"},
      {"{" + ts + R"(,"seq":-1,"event":"e","prev":")" + p + "\"}", "seq is not a positive"},
      {"{" + ts + R"(,"seq":1,"seq":1,"event":"e","prev":")" + p + "\"}",
       "field seq appears twice"},
      {"{" + ts + R"(,"seq":1,"event":"e"})", "missing field prev"},
      {R"({"ts":"yesterday","seq":1,"event":"e","prev":")" + p + "\"}", "ts is not"},
      {"{" + ts + R"(,"seq":1,"event":"e","prev":")" + p + "\"} x", "not valid JSON"},
      {"{" + ts + R"(,"seq":1,"event":["e"],"prev":")" + p + "\"}", "event is not a string"},
      {"{" + ts + R"(,"seq":1,"se\u0071":2,"event":"e","prev":")" + p + "\"}",
       "field seq appears twice"},
      {"{" + ts + R"(,"seq":1,"event":"\ud800","prev":")" + p + "\"}", "not valid JSON"},
      {"{" + ts + ",\"seq\":1,\"event\":\"\xff\",\"prev\":\"" + p + "\"}", "invalid UTF-8"},
      {"{" + ts + R"(,"seq":1,"event":"e","prev":")" + p + std::string("\"}\0", 3), "text after"},
      {"{" + ts + R"(,"seq":18446744073709551616,"event":"e","prev":")" + p + "\"}", "seq is not"},
  };
  const std::string escaped =
      "{" + ts + R"(,"s\u0065q":1,"event":"\u00e9\ud83d\ude00","x":[{"y":[]}],"prev":")" + p +
      "\"}";
  EXPECT_FALSE(Verifier().check(escaped).has_value());
  for (const auto& [line, want] : cases) {
    auto reason = Verifier().check(line);
    ASSERT_TRUE(reason.has_value()) << line;
    EXPECT_NE(reason->find(want), std::string::npos) << line << " -> " << *reason;
  }
}

TEST(VerifyFiles, OneChainAcrossFilesAndMissingFiles) {
  TempDir dir;
  const auto lines = make_chain(4);
  write_file(dir / "a.1", lines[0] + "\n" + lines[1] + "\n");
  write_file(dir / "a", lines[2] + "\n" + lines[3] + "\n");
  auto report = verify_files({dir / "a.1", dir / "a"});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, 4u);

  report = verify_files({dir / "a"});  // a continuation alone does not start a chain
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->line, 1u);
  EXPECT_EQ(report.failure->kind, VerifyFault::kSeq);

  report = verify_files({dir / "a.1", dir / "a.2", dir / "a"});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->file, dir / "a.2");
  EXPECT_EQ(report.failure->line, 0u);
  EXPECT_EQ(report.failure->reason, "missing file");
  EXPECT_EQ(report.failure->kind, VerifyFault::kUnreadable);

  write_file(dir / "a", lines[2] + "\n" + lines[3], false);
  report = verify_files({dir / "a.1", dir / "a"});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->line, 2u);
  EXPECT_NE(report.failure->reason.find("incomplete"), std::string::npos);
  EXPECT_EQ(report.failure->kind, VerifyFault::kIncomplete);

  auto forged = lines;  // a changed line breaks the next one's link
  forged[1].replace(forged[1].find("alice"), 5, "mallo");
  write_file(dir / "a.1", forged[0] + "\n" + forged[1] + "\n");
  write_file(dir / "a", lines[2] + "\n" + lines[3] + "\n");
  report = verify_files({dir / "a.1", dir / "a"});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->kind, VerifyFault::kPrev);
}

TEST(TrailFiles, OldestFirstWithGaps) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  EXPECT_EQ(trail_files(path), std::vector<std::string>{path});
  for (const char* name : {"audit.jsonl", "audit.jsonl.1", "audit.jsonl.3", "audit.jsonl.torn",
                           "audit.jsonl.03", "audit.jsonl.x"}) {
    write_file(dir / name, "");
  }
  EXPECT_EQ(trail_files(path),
            (std::vector<std::string>{path + ".1", path + ".2", path + ".3", path}));
}

std::unique_ptr<Writer> open_writer(const std::string& path, std::uint64_t max_bytes = 1 << 20,
                                    bool fsync = false) {
  Writer::Options options;
  options.path = path;
  options.max_bytes = max_bytes;
  options.fsync = fsync;
  auto writer = Writer::open(options);
  if (!writer) ADD_FAILURE() << writer.message();
  return writer ? std::move(*writer) : nullptr;
}

VerifyReport verify_trail(const std::string& path) { return verify_files(trail_files(path)); }

TEST(WriterTest, WritesAChainedFileWithMode0640) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto w = open_writer(path, 1 << 20, true);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->recovery().is_null());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->write("exec_end", Json{{"cn", "alice"}}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  const auto report = verify_files({path});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, 3u);
}

TEST(WriterTest, OpenFailureNamesTheFile) {
  TempDir dir;
  Writer::Options options;
  options.path = dir / "no/such/dir/audit.jsonl";
  auto w = Writer::open(options);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.message().find(options.path), std::string::npos);
  EXPECT_NE(w.message().find("No such file or directory"), std::string::npos);
}

TEST(WriterTest, ResumesAfterReopen) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  ASSERT_TRUE(open_writer(path)->write("server_start", Json::object()).ok());
  auto w = open_writer(path);
  ASSERT_TRUE(w->write("server_start", Json::object()).ok());
  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Json::parse(lines[1])["seq"], 2);
  EXPECT_TRUE(verify_files({path}).ok());
}

TEST(WriterTest, SetsATornLastLineAside) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  {
    auto w = open_writer(path);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->write("e", Json::object()).ok());
  }
  const std::string good = read_file(path);
  const std::string torn = R"({"ts":"2026-11-23T17:49:07.123456Z","seq":4,"ev)";
  write_file(path, torn, true);
  auto w = open_writer(path);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->recovery()["recovered"]["torn_bytes"], torn.size());
  EXPECT_EQ(w->recovery()["recovered"]["saved_to"], path + ".torn");
  EXPECT_EQ(read_file(path), good);
  EXPECT_EQ(read_file(path + ".torn"), torn + "\n");
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  EXPECT_TRUE(verify_files({path}).ok());
  EXPECT_EQ(verify_files({path}).records, 4u);
}

TEST(WriterTest, SetsAJunkCompleteLastLineAside) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  ASSERT_TRUE(open_writer(path)->write("e", Json::object()).ok());
  write_file(path, "garbage\n{\"half", true);
  auto w = open_writer(path);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->recovery()["recovered"]["torn_bytes"], 14);
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  EXPECT_TRUE(verify_files({path}).ok());

  write_file(path, "junk\nmore junk\n", true);  // two bad lines: not a torn write
  Writer::Options options;
  options.path = path;
  EXPECT_FALSE(Writer::open(options).ok());
}

TEST(WriterTest, ResumesFromTheNewestRotatedFile) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  ASSERT_TRUE(open_writer(path)->write("e", Json::object()).ok());
  fs::rename(path, path + ".1");  // crashed after rotating, before the next record
  auto w = open_writer(path);
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  EXPECT_EQ(Json::parse(read_file(path))["seq"], 2);
  EXPECT_TRUE(verify_trail(path).ok());
}

TEST(WriterTest, RotatesUnderConcurrentWriters) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  constexpr int kThreads = 8, kEach = 500;
  constexpr std::uint64_t kMax = 16ULL * 1024;
  auto w = open_writer(path, kMax);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(w->write("exec_end", Json{{"thread", t}, {"i", i}}).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto files = trail_files(path);
  EXPECT_GT(files.size(), 10u);
  for (const auto& f : files) EXPECT_LE(fs::file_size(f), kMax) << f;
  const auto report = verify_files(files);
  EXPECT_TRUE(report.ok()) << report.failure->file << ":" << report.failure->line << " "
                           << report.failure->reason;
  EXPECT_EQ(report.records, std::uint64_t{kThreads} * kEach);  // seq 1..N, no gaps
}

TEST(WriterTest, FailsClosedOnDevFull) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  Writer::Options options;
  options.path = "/dev/full";
  auto w = Writer::open(options);
  ASSERT_TRUE(w.ok()) << w.message();
  for (int i = 0; i < 2; ++i) {
    const Status s = (*w)->write("exec_start", Json::object());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("/dev/full"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  }
}

// A file size limit (RLIMIT_FSIZE): each record that still fits is written
// whole; the first that does not is refused, and the part of it the kernel
// took is cut off again.
TEST(WriterTest, AFileSizeLimitTakesEveryRecordThatFitsAndNoPartOfTheNext) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto w = open_writer(path);
  constexpr rlim_t kLimit = 8192;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  const rlimit limited{kLimit, old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  std::size_t written = 0;
  Status failed;
  bool reserves = false;  // this file system takes fallocate
  for (int i = 0; i < 100 && failed.ok(); ++i) {
    failed = w->write("e", Json{{"pad", std::string(200, 'x')}});
    if (failed.ok()) ++written;
    struct stat st {};
    if (written == 1 && ::stat(path.c_str(), &st) == 0) reserves = st.st_blocks * 512 >= (16 << 10);
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("cannot write audit record to " + path), std::string::npos)
      << failed.message();
  const std::string content = read_file(path);
  const auto lines = split_lines(content);
  ASSERT_EQ(lines.size(), written);
  ASSERT_GT(written, 0u);
  EXPECT_LE(content.size(), kLimit);
  EXPECT_GT(content.size() + lines.back().size() + 1, kLimit) << "a record that fitted was refused";
  EXPECT_TRUE(verify_files({path}).ok());
  // Cutting the part off freed the blocks reserved past it: the next record
  // reserves afresh (on a file system with fallocate).
  ASSERT_TRUE(w->write("e", Json{{"after", "the limit"}}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  if (reserves) {
    EXPECT_GE(st.st_blocks * 512, st.st_size + (8 << 10)) << "no blocks reserved after the cut";
  }
  EXPECT_TRUE(verify_files({path}).ok());
}

// A nearly full file system (a 12 KiB tmpfs in a mount namespace of a child
// process, smaller than the 16 KiB trexd reserves ahead) cannot take the
// blocks reserved ahead: the records that fit still go in, whole, until the
// space is gone.
TEST(WriterTest, ANearlyFullFileSystemTakesEveryRecordThatFits) {
  TempDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("trex-test", dir.path().c_str(), "tmpfs", 0, "size=12k") != 0) {
      ::_exit(77);
    }
    const std::string path = dir / "audit.jsonl";
    auto w = open_writer(path);
    std::size_t written = 0;
    Status failed;
    while (failed.ok() && written < 1000) {
      failed = w->write("e", Json{{"pad", std::string(200, 'x')}});
      if (failed.ok()) ++written;
    }
    // Records stop only within a record or two of 12 KiB.
    const std::string content = read_file(path);
    const auto lines = split_lines(content);
    const bool ok =
        !failed.ok() && failed.message().find("No space left on device") != std::string::npos &&
        content.size() > (10u << 10) && lines.size() == written && verify_files({path}).ok();
    if (!ok) {
      std::fprintf(stderr, "written %zu, lines %zu, %zu bytes: %s\n", written, lines.size(),
                   content.size(), failed.message().c_str());
    }
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Blocks reserved past the last record are given back when the writer closes.
TEST(WriterTest, BlocksReservedAheadAreReleasedOnClose) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto w = open_writer(path);
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  if (st.st_blocks * 512 < (16 << 10)) GTEST_SKIP() << "this file system reserved no blocks ahead";
  w.reset();
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 16 << 10);
  EXPECT_EQ(split_lines(read_file(path)).size(), 1u);
}

TEST(WriterTest, FailsClosedWhenTheFileIsRemovedAndTheChainContinues) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto w = open_writer(path);
  ASSERT_TRUE(w->write("e", Json{{"n", 1}}).ok());
  const std::string first = read_file(path);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  const Status failed = w->write("e", Json{{"n", 2}});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("audit file " + path + " was removed or replaced"),
            std::string::npos);
  ASSERT_TRUE(w->write("e", Json{{"n", 3}}).ok());
  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 1u);
  const Json record = Json::parse(lines[0]);
  EXPECT_EQ(record["seq"], 2);  // the failed write did not advance the chain
  EXPECT_EQ(record["n"], 3);
  EXPECT_EQ(record["prev"], sha256_hex(first.substr(0, first.size() - 1)));
  write_file(dir / "old", first);
  EXPECT_TRUE(verify_files({dir / "old", path}).ok());
}

TEST(WriterTest, FailsClosedWhenTheFileIsReplaced) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto w = open_writer(path);
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  fs::rename(path, dir / "moved");
  write_file(path, "");
  EXPECT_FALSE(w->write("e", Json::object()).ok());
  ASSERT_TRUE(w->write("e", Json::object()).ok());
  EXPECT_TRUE(verify_files({dir / "moved", path}).ok());
}

}  // namespace
}  // namespace trex::audit

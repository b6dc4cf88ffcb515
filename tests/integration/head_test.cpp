// The audit chain's head outside the trail (issue 14, point 7): trexd keeps
// the last record's SEQ:HASH in a state file next to the trail and sends it
// to syslog at start, rotation, stop and on a timer; at start-up it refuses a
// trail that no longer reaches the head it recorded (cut short with head -n,
// removed), unless --accept-shortened-trail, which server_start records.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/harness.hpp"
#include "trex/audit.hpp"

namespace trex::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A syslog socket the test owns: datagrams as /dev/log would get them.
class SyslogSocket {
 public:
  explicit SyslogSocket(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_DGRAM, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
  }
  ~SyslogSocket() { ::close(fd_); }
  SyslogSocket(const SyslogSocket&) = delete;
  SyslogSocket& operator=(const SyslogSocket&) = delete;
  // The next datagram whose text holds `needle`; the others are kept in seen().
  std::optional<std::string> next(const std::string& needle, std::chrono::milliseconds wait = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + scaled(wait);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char buf[2048];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      seen_.emplace_back(buf, static_cast<std::size_t>(n));
      if (contains(seen_.back(), needle)) return seen_.back();
    }
  }
  std::string seen() const {
    std::string all;
    for (const auto& s : seen_) all += s + "\n";
    return all;
  }

 private:
  int fd_;
  std::vector<std::string> seen_;
};

// "SEQ:HASH" of the last record of `files` (trex-audit verify's head line).
std::string verified_head(const std::vector<std::string>& files) {
  std::vector<std::string> argv{TREX_AUDIT_BIN, "verify"};
  argv.insert(argv.end(), files.begin(), files.end());
  const auto r = run(argv);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  std::smatch m;
  static const std::regex head("head: ([0-9]+:[0-9a-f]{64})");
  return std::regex_search(r.out, m, head) ? m[1].str() : "";
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

class Head : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir;
    pki_ = new Pki(pki_tmp_->path());
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete pki_tmp_;
    pki_tmp_ = nullptr;
  }
  std::string trail() const { return tmp_.file("log/audit.jsonl"); }
  std::string head_file() const { return trail() + ".head"; }
  std::vector<std::string> all_files() const { return audit::trail_files(trail()); }
  // trexd as the harness would start it, run to completion (it should refuse).
  RunResult start_refused(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{
        TREXD_BIN,           "--listen",   "127.0.0.1:0",        "--ca",
        pki_->ca(),          "--cert",     pki_->cert("server"), "--key",
        pki_->key("server"), "--crl",      pki_->crl(),          "--log-dir",
        tmp_.file("log"),    "--allow-all"};
    if (extra.empty()) extra = {"--audit-head-syslog", "none"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    RunOptions o;
    o.timeout = 20s;
    return run(argv, o);
  }
  // A trail of a few sessions, trexd stopped; returns its head.
  std::string make_trail() {
    Trexd d(*pki_, tmp_.path());
    EXPECT_FALSE(d.address().empty());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(d.trex("client", {"true"}).status, 0);
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0);
    return verified_head({trail()});
  }

  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
};

TempDir* Head::pki_tmp_ = nullptr;
Pki* Head::pki_ = nullptr;

TEST_F(Head, GoesToSyslogAtStartRotationIntervalAndStopAndToItsStateFile) {
  SyslogSocket log(tmp_.file("syslog.sock"));
  Trexd d(*pki_, tmp_.path(),
          {"--audit-head-syslog", tmp_.file("syslog.sock"), "--audit-head-interval", "1",
           "--audit-max-bytes", "4096"});
  ASSERT_FALSE(d.address().empty());
  // At start: the head is server_start, record 1. Formatted as syslog(3)
  // does: auth.notice (<37>), a timestamp, trexd[PID].
  const auto start = log.next("(start)");
  ASSERT_TRUE(start) << log.seen();
  const std::regex form("<37>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} trexd\\[" +
                        std::to_string(d.pid()) +
                        "\\]: audit head 1:[0-9a-f]{64} \\(start\\) trail=" + trail());
  EXPECT_TRUE(std::regex_match(*start, form)) << *start;
  EXPECT_TRUE(contains(*start, "audit head " + verified_head({trail()}) + " ")) << *start;

  // Enough records to rotate the 4 KiB trail: the rotated file's last record.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(d.trex("client", {"true"}).status, 0);
  const auto rotation = log.next("(rotation)");
  ASSERT_TRUE(rotation) << log.seen();
  EXPECT_TRUE(contains(*rotation, "audit head " + verified_head({trail() + ".1"}) + " "))
      << *rotation;
  EXPECT_TRUE(log.next("(interval)")) << log.seen();

  // The state file follows every record.
  const std::string now = verified_head(all_files());
  EXPECT_EQ(read_file(head_file()), now + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(head_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  d.signal(SIGTERM);
  ASSERT_EQ(d.wait(), 0);
  const auto stop = log.next("(stop)");
  ASSERT_TRUE(stop) << log.seen();
  const std::string last = verified_head(all_files());
  EXPECT_TRUE(contains(*stop, "audit head " + last + " (stop)")) << *stop;
  EXPECT_EQ(read_file(head_file()), last + "\n");
}

TEST_F(Head, ACutTrailIsRefusedAtStartUnlessAcceptedAndThenRecorded) {
  const std::string head = make_trail();
  ASSERT_EQ(read_file(head_file()), head + "\n");
  const std::string whole = read_file(trail());
  // head -n 4
  std::size_t at = 0;
  for (int i = 0; i < 4; ++i) at = whole.find('\n', at) + 1;
  write_file(trail(), whole.substr(0, at));
  const std::string cut_head = verified_head({trail()});

  auto r = start_refused();
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "audit trail " + trail() + " ends at record " + cut_head + ", but " +
                                  head_file() + " says it reached record " + head))
      << r.err;
  EXPECT_TRUE(contains(r.err, "--accept-shortened-trail")) << r.err;
  EXPECT_EQ(read_file(trail()), whole.substr(0, at)) << "a refused start wrote to the trail";
  EXPECT_EQ(read_file(head_file()), head + "\n");

  // Removed altogether: refused too.
  ::rename(trail().c_str(), tmp_.file("kept.jsonl").c_str());
  r = start_refused();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "is empty, but")) << r.err;
  ::rename(tmp_.file("kept.jsonl").c_str(), trail().c_str());

  // Told to: it goes on from the cut trail and says so in server_start.
  {
    Trexd d(*pki_, tmp_.path(), {"--accept-shortened-trail"});
    ASSERT_FALSE(d.address().empty());
    const auto starts = audit_records(trail(), "server_start");
    ASSERT_FALSE(starts.empty());
    EXPECT_EQ(starts.back()["trail_shortened"]["expected"], head) << starts.back().dump();
    EXPECT_EQ(starts.back()["trail_shortened"]["found"], cut_head) << starts.back().dump();
    EXPECT_TRUE(contains(d.server_log(), "--accept-shortened-trail")) << d.server_log();
  }
  EXPECT_EQ(verify_trail(trail()), 0);
  // From then on the state file holds the new head: a plain start works.
  EXPECT_EQ(read_file(head_file()), verified_head({trail()}) + "\n");
  Trexd again(*pki_, tmp_.path());
  ASSERT_FALSE(again.address().empty());
  EXPECT_FALSE(audit_records(trail(), "server_start").back().contains("trail_shortened"));
}

TEST_F(Head, AHeadOneRecordBehindIsFineAMissingOneIsRecorded) {
  make_trail();
  // trexd died between a record and its state file's update: the trail
  // still holds the older head, so it starts.
  const auto records = audit_records(trail());
  ASSERT_GE(records.size(), 2u);
  std::string all = read_file(trail());
  all.pop_back();
  all = all.substr(0, all.rfind('\n'));  // without the last line
  const std::string prev_line = all.substr(all.rfind('\n') + 1);
  const std::string behind =
      records[records.size() - 2]["seq"].dump() + ":" + audit::sha256_hex(prev_line);
  write_file(head_file(), behind + "\n");
  {
    Trexd d(*pki_, tmp_.path());
    ASSERT_FALSE(d.address().empty());
    const auto start = audit_records(trail(), "server_start").back();
    EXPECT_FALSE(start.contains("trail_shortened")) << start.dump();
    EXPECT_FALSE(start.contains("head_missing")) << start.dump();
  }
  // The same seq with another hash: a rolled-back and rewritten trail.
  std::string other = behind;
  other.back() = other.back() == '0' ? '1' : '0';
  write_file(head_file(), other + "\n");
  auto r = start_refused();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(first_line(r.err), "says it reached record " + other)) << r.err;
  // No state file (removed, or a trail from before it existed): trexd
  // starts and marks it in server_start.
  ::unlink(head_file().c_str());
  Trexd d(*pki_, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  const auto start = audit_records(trail(), "server_start").back();
  EXPECT_EQ(start.value("head_missing", false), true) << start.dump();
}

TEST_F(Head, AMissingSyslogSocketIsWarnedAboutAndTheServerRuns) {
  Trexd d(*pki_, tmp_.path(), {"--audit-head-syslog", tmp_.file("no-such.sock")});
  ASSERT_FALSE(d.address().empty());
  EXPECT_EQ(d.trex("client", {"true"}).status, 0);
  EXPECT_TRUE(
      contains(d.server_log(), "audit head: cannot send it to syslog " + tmp_.file("no-such.sock")))
      << d.server_log();
  auto r = start_refused({"--audit-head-syslog", "relative.sock"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "absolute socket path or 'none'")) << r.err;
}

}  // namespace
}  // namespace trex::testing

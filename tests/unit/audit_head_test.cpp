// The writer's state file (audit.jsonl.head) and the start-up check that the
// trail still reaches the head recorded there (issue 14, point 7).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/head.hpp"
#include "trex/audit.hpp"

namespace trex::audit {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "trex-head-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

Writer::Options options(const std::string& path, std::uint64_t max_bytes = 1 << 20) {
  Writer::Options o;
  o.path = path;
  o.max_bytes = max_bytes;
  o.head_path = path + ".head";
  return o;
}

// Writes `n` records and returns the head after each.
std::vector<Anchor> write_records(const Writer::Options& o, int n) {
  auto w = Writer::open(o);
  EXPECT_TRUE(w.ok()) << w.message();
  std::vector<Anchor> heads;
  if (!w) return heads;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE((*w)->write("test", Json{{"i", i}}).ok());
    heads.push_back(*(*w)->head());
  }
  return heads;
}

// The file without its last `n` lines.
void drop_lines(const std::string& path, int n) {
  std::string all = read_file(path);
  for (int i = 0; i < n; ++i) {
    all.pop_back();
    all.erase(all.rfind('\n') + 1);
  }
  write_file(path, all);
}

TEST(AuditHead, FollowsEveryRecordInAFileOfMode0640) {
  TempDir dir;
  const auto heads = write_records(options(dir / "audit.jsonl"), 3);
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(heads.back().seq, 3u);
  EXPECT_EQ(read_file(dir / "audit.jsonl.head"), heads.back().text() + "\n");
  EXPECT_TRUE(verify_files({dir / "audit.jsonl"}, heads.back()).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "audit.jsonl.head").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(AuditHead, TrailHoldsFindsARecordBackwardsAcrossRotatedFiles) {
  TempDir dir;
  const auto heads = write_records(options(dir / "audit.jsonl", 4096), 60);
  ASSERT_EQ(heads.size(), 60u);
  ASSERT_TRUE(fs::exists(dir / "audit.jsonl.2"));
  for (const auto& a : {heads.front(), heads[30], heads[58], heads.back()}) {
    auto held = trail_holds(dir / "audit.jsonl", a);
    ASSERT_TRUE(held.ok()) << held.message();
    EXPECT_TRUE(*held) << a.text();
  }
  Anchor wrong = heads[30];
  wrong.hash.back() = wrong.hash.back() == '0' ? '1' : '0';
  EXPECT_FALSE(*trail_holds(dir / "audit.jsonl", wrong));
  EXPECT_FALSE(*trail_holds(dir / "audit.jsonl", Anchor{61, heads.back().hash}));
}

TEST(AuditHead, ACutTrailIsRefusedUnlessAccepted) {
  TempDir dir;
  const auto o = options(dir / "audit.jsonl");
  const auto heads = write_records(o, 5);
  drop_lines(dir / "audit.jsonl", 2);
  auto w = Writer::open(o);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.message().find("ends at record " + heads[2].text() + ", but " + o.head_path +
                             " says it reached record " + heads[4].text()),
            std::string::npos)
      << w.message();
  EXPECT_EQ(read_file(o.head_path), heads[4].text() + "\n");  // left as it was

  auto accepting = o;
  accepting.accept_shortened = true;
  w = Writer::open(accepting);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_EQ((*w)->recovery()["trail_shortened"]["expected"], heads[4].text());
  EXPECT_EQ((*w)->recovery()["trail_shortened"]["found"], heads[2].text());
  EXPECT_EQ(read_file(o.head_path), heads[2].text() + "\n");
  w->reset();
  EXPECT_TRUE(Writer::open(o).ok());  // the head now matches
}

TEST(AuditHead, OneRecordBehindIsFineAnotherHashIsNot) {
  TempDir dir;
  const auto o = options(dir / "audit.jsonl");
  const auto heads = write_records(o, 4);
  write_file(o.head_path, heads[2].text() + "\n");  // died between the two writes
  auto w = Writer::open(o);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_TRUE((*w)->recovery().is_null()) << (*w)->recovery().dump();
  w->reset();
  Anchor other = heads[3];
  other.hash.back() = other.hash.back() == '0' ? '1' : '0';
  write_file(o.head_path, other.text() + "\n");
  EXPECT_FALSE(Writer::open(o).ok());
  write_file(o.head_path, "garbage\n");
  w = Writer::open(o);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.message().find("holds no head"), std::string::npos) << w.message();
}

TEST(AuditHead, AMissingStateFileIsRecordedAnEmptyTrailIsNot) {
  TempDir dir;
  const auto o = options(dir / "audit.jsonl");
  auto w = Writer::open(o);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->recovery().is_null());
  ASSERT_TRUE((*w)->write("test", Json::object()).ok());
  w->reset();
  ASSERT_EQ(::unlink(o.head_path.c_str()), 0);
  w = Writer::open(o);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_EQ((*w)->recovery()["head_missing"], true);
  EXPECT_EQ(read_file(o.head_path), (*w)->head()->text() + "\n");
}

TEST(AuditHead, RotationReportsTheRotatedFilesHead) {
  TempDir dir;
  auto o = options(dir / "audit.jsonl", 4096);
  std::vector<Anchor> rotated;
  o.on_rotate = [&](const Anchor& a) { rotated.push_back(a); };
  write_records(o, 30);
  ASSERT_FALSE(rotated.empty());
  const auto report = verify_files({dir / "audit.jsonl.1"});
  ASSERT_TRUE(report.head);
  EXPECT_EQ(rotated.front().text(), report.head->text());
}

}  // namespace
}  // namespace trex::audit

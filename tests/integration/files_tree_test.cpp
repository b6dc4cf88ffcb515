// trex put -r / trex get -r end to end (issue 18): a tree with nested
// folders, an empty folder, a 0-byte file and symbolic links pointing out of
// it, copied both ways with -p; a listing that meets an ungranted subfolder
// and ungranted files; one audit record per file and per folder.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "support/harness.hpp"
#include "support/pty.hpp"
#include "trex/audit.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// lab may put below T/in and get below T/in and T/pub, where only the first
// level is granted (T/pub/* but not T/pub/*/*).
std::string policy_for(const std::string& t) {
  return "[[rule]]\nname = \"lab-tree\"\ncn = [\"client\"]\n"
         "put = [\"" +
         t + "/in/**\"]\nget = [\"" + t + "/in/**\", \"" + t + "/pub\", \"" + t +
         "/pub/*\"]\numask = \"0022\"\n";
}

struct World {
  TempDir tmp;
  Pki pki{tmp.path()};
  std::string tree = tmp.file("tree");
  std::unique_ptr<Trexd> server;
  World() {
    fs::create_directories(tree + "/in");
    fs::create_directories(tree + "/pub");
    write_file(tmp.file("policy.toml"), policy_for(tree));
    server = std::make_unique<Trexd>(pki, tmp.path(),
                                     std::vector<std::string>{"--policy", tmp.file("policy.toml")});
  }
  std::string remote(const std::string& path) const { return server->address() + ":" + path; }
  std::vector<std::string> argv(const std::string& cmd,
                                const std::vector<std::string>& args) const {
    std::vector<std::string> a{TREX_BIN,           cmd,     "--ca",           pki.ca(), "--cert",
                               pki.cert("client"), "--key", pki.key("client")};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  RunResult trex(const std::string& cmd, const std::vector<std::string>& args) const {
    return run(argv(cmd, args));
  }
};

World& world() {
  static World w;
  return w;
}

void set_time(const std::string& path, time_t t) {
  const timespec ts[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// src/ a.txt (0640), zero (0 bytes), sub/deeper/c.bin (0600), empty/ (0750),
// etc -> /etc, up -> ../.. (both point out of the tree).
void make_tree(const std::string& src, const std::string& outside) {
  fs::create_directories(src + "/sub/deeper");
  fs::create_directories(src + "/empty");
  write_file(src + "/a.txt", "alpha\n");
  write_file(src + "/zero", "");
  write_file(src + "/sub/deeper/c.bin", std::string(100000, 'c') + "end");
  write_file(outside + "/secret", "secret");
  fs::create_directory_symlink("/etc", src + "/etc");
  fs::create_directory_symlink(outside, src + "/sub/up");
  ::chmod((src + "/a.txt").c_str(), 0640);
  ::chmod((src + "/sub/deeper/c.bin").c_str(), 0600);
  ::chmod((src + "/empty").c_str(), 0750);
  ::chmod((src + "/sub").c_str(), 0711);
  for (const char* p : {"/a.txt", "/zero", "/sub/deeper/c.bin", "/empty", "/sub/deeper", "/sub"}) {
    set_time(src + p, 1000000000);
  }
  set_time(src, 1100000000);
}

// `copy` holds what `src` does, modes and times kept, and no link.
void expect_same_tree(const std::string& src, const std::string& copy) {
  for (const char* p : {"/a.txt", "/zero", "/sub/deeper/c.bin"}) {
    EXPECT_EQ(read_file(copy + p), read_file(src + p)) << p;
  }
  for (const char* p : {"", "/a.txt", "/zero", "/sub/deeper/c.bin", "/empty", "/sub"}) {
    const auto a = stat_of(src + p), b = stat_of(copy + p);
    EXPECT_EQ(b.st_mode, a.st_mode) << p;
    EXPECT_EQ(b.st_mtim.tv_sec, a.st_mtim.tv_sec) << p;
  }
  EXPECT_TRUE(fs::is_empty(copy + "/empty"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(copy + "/etc")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(copy + "/sub/up")));
}

TEST(FilesTree, PutAndGetRecursiveKeepTheTreeAndSkipLinks) {
  World& w = world();
  const std::string src = w.tmp.file("src");
  fs::create_directories(w.tmp.file("outside"));
  make_tree(src, w.tmp.file("outside"));
  const auto puts_before = audit_records(w.server->audit_path(), "file_put").size();
  auto r = w.trex("put", {"-rp", src, w.remote(w.tree + "/in/")});
  EXPECT_EQ(r.status, 1) << r.err;  // the links were left out
  EXPECT_TRUE(contains(r.err, "skipped " + src + "/etc: a symbolic link")) << r.err;
  EXPECT_TRUE(contains(r.err, "skipped " + src + "/sub/up: a symbolic link")) << r.err;
  expect_same_tree(src, w.tree + "/in/src");
  // One record per file, per folder made and per folder's -p times.
  const auto puts = audit_records(w.server->audit_path(), "file_put");
  EXPECT_EQ(puts.size() - puts_before, 3u + 2u * 4u);
  EXPECT_EQ(puts.back()["path"], w.tree + "/in/src");
  EXPECT_EQ(puts.back()["folder"], true);
  EXPECT_EQ(puts.back()["mode"], "0755");

  // Back again, with links made on the server pointing out of the tree.
  fs::create_directory_symlink("/etc", w.tree + "/in/src/etc");
  fs::create_directory_symlink(w.tmp.file("outside"), w.tree + "/in/src/sub/up");
  set_time(w.tree + "/in/src/sub", 1000000000);  // as the put left them
  set_time(w.tree + "/in/src", 1100000000);
  const std::string back = w.tmp.file("back");
  r = w.trex("get", {"-r", "-p", w.remote(w.tree + "/in/src"), back});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, w.tree + "/in/src/etc: a symbolic link (links are never followed)"))
      << r.err;
  expect_same_tree(src, back);
  EXPECT_FALSE(fs::exists(back + "/sub/up/secret"));
  const auto listing = audit_records(w.server->audit_path(), "file_get");
  const auto it = std::find_if(listing.begin(), listing.end(),
                               [](const auto& j) { return j.value("folder", false); });
  ASSERT_NE(it, listing.end());
  EXPECT_EQ((*it)["path"], w.tree + "/in/src");
  EXPECT_EQ((*it)["size"], 9);  // ., a.txt, empty, etc, sub, deeper, c.bin, up, zero
  EXPECT_EQ(verify_trail(w.server->audit_path()), 0);

  // trex-audit: the listing is a line of its own; stats counts the transfers.
  auto show = run({TREX_AUDIT_BIN, "show", w.server->audit_path()});
  EXPECT_TRUE(contains(show.out, "list " + w.tree + "/in/src 9 entries, sha256 ")) << show.out;
  EXPECT_TRUE(contains(show.out, "put folder " + w.tree + "/in/src/empty mode 0750")) << show.out;
  auto stats = run({TREX_AUDIT_BIN, "stats", "--format", "json", w.server->audit_path()});
  const auto j = nlohmann::json::parse(stats.out);
  EXPECT_EQ(j["clients"]["client"]["transfers"],
            audit_records(w.server->audit_path(), "file_put").size() + listing.size());
  EXPECT_GE(j["clients"]["client"]["transfer_bytes"], 2 * (6 + 100003));

  // Into an existing local folder: back/src.
  r = w.trex("get", {"-r", w.remote(w.tree + "/in/src/sub"), back});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(read_file(back + "/sub/deeper/c.bin"), read_file(src + "/sub/deeper/c.bin"));
}

TEST(FilesTree, UngrantedSubpathsAreRefusedOneByOne) {
  World& w = world();
  const std::string pub = w.tree + "/pub";
  write_file(pub + "/top.txt", "top");
  fs::create_directories(pub + "/lvl/deep");
  write_file(pub + "/lvl/inner.txt", "inner");
  auto r = w.trex("get", {"-r", w.remote(pub), w.tmp.file("pubcopy")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_EQ(read_file(w.tmp.file("pubcopy/top.txt")), "top");
  EXPECT_FALSE(fs::exists(w.tmp.file("pubcopy/lvl/inner.txt")));
  EXPECT_TRUE(contains(r.err, "rule 'lab-tree' does not grant get of '" + pub + "/lvl/inner.txt'"))
      << r.err;
  EXPECT_TRUE(contains(r.err, pub + "/lvl/deep: not allowed by the server's policy")) << r.err;
  const auto gets = audit_records(w.server->audit_path(), "file_get");
  const auto denied = std::find_if(
      gets.begin(), gets.end(), [&](const auto& j) { return j["path"] == pub + "/lvl/inner.txt"; });
  ASSERT_NE(denied, gets.end());
  EXPECT_EQ((*denied)["result"], "denied");

  // An ungranted root: nothing is listed; a put -r outside the grant: nothing made.
  r = w.trex("get", {"-r", w.remote(w.tree), w.tmp.file("nothing")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_FALSE(fs::exists(w.tmp.file("nothing")));
  fs::create_directories(w.tmp.file("small"));
  write_file(w.tmp.file("small/f"), "f");
  r = w.trex("put", {"-r", w.tmp.file("small"), w.remote(pub + "/")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_FALSE(fs::exists(pub + "/small"));
}

// The progress line (name, bytes, rate, ETA) is drawn on a terminal only,
// and never with -q.
TEST(FilesTree, ProgressLineOnATerminalOnly) {
  World& w = world();
  write_file(w.tmp.file("prog.bin"), std::string(4 << 20, 'p'));
  const std::string dest = w.remote(w.tree + "/in/prog.bin");
  Pty shown(w.argv("put", {w.tmp.file("prog.bin"), dest}));
  ASSERT_TRUE(shown.ok());
  EXPECT_TRUE(shown.expect("prog.bin  4.0 MiB / 4.0 MiB", 0)) << shown.out();
  EXPECT_EQ(shown.wait(), 0) << shown.out();
  EXPECT_TRUE(contains(shown.out(), "/s  ETA ")) << shown.out();
  Pty quiet(w.argv("get", {"-q", dest, w.tmp.file("prog.back")}));
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet.wait(), 0) << quiet.out();
  EXPECT_FALSE(contains(quiet.out(), "ETA")) << quiet.out();
  EXPECT_EQ(read_file(w.tmp.file("prog.back")).size(), 4u << 20);
  const auto piped = w.trex("put", {w.tmp.file("prog.bin"), dest});  // stderr is a pipe
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_FALSE(contains(piped.err, "ETA")) << piped.err;
}

}  // namespace
}  // namespace trex::testing

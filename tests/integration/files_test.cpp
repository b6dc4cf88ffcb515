// trex put / trex get end to end (issue 18): the real trexd with a policy of
// put/get globs, the real trex, files in a temporary tree. Round trips of 0,
// 1 and many bytes with their file_put/file_get records; refusals (126, the
// rule named); symlink escapes (../, an absolute symlink inside the tree, a
// folder swapped for a symlink during the put); a put cut by kill -9 of the
// client; a get of a file that grows while read; a full disk (a small tmpfs,
// when this machine lets the test mount one); run_as.
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "support/harness.hpp"
#include "trex/audit.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// Writes `size` bytes quickly (a repeated random block).
void write_big(const std::string& path, std::size_t size, unsigned seed) {
  const std::string block = random_bytes(1 << 20, seed);
  std::ofstream out(path, std::ios::binary);
  for (std::size_t done = 0; done < size; done += block.size()) {
    out.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), size - done)));
  }
}

std::string policy_for(const std::string& tree) {
  return "[[rule]]\nname = \"lab-files\"\ncn = [\"client\"]\n"
         "put = [\"" +
         tree +
         "/in/**\"]\n"
         "get = [\"" +
         tree + "/out/**\", \"" + tree +
         "/in/**\"]\n"
         "umask = \"0022\"\n\n"
         "[[rule]]\nname = \"as-nobody\"\ncn = [\"nob\"]\n"
         "put = [\"" +
         tree + "/nob/**\", \"" + tree +
         "/rootonly/**\"]\n"
         "get = [\"" +
         tree + "/nob/**\"]\nrun_as = \"nobody\"\n";
}

// One PKI, server and tree for the suite (one process).
struct World {
  TempDir tmp;
  Pki pki{tmp.path()};
  std::string tree = tmp.file("tree");
  std::string outside = tmp.file("outside");
  std::unique_ptr<Trexd> server;
  World() {
    ::chmod(tmp.path().c_str(), 0755);  // run_as nobody must reach the tree
    for (const char* d : {"tree", "tree/in", "tree/out", "tree/nob", "tree/rootonly", "outside"}) {
      fs::create_directories(tmp.file(d));
      ::chmod(tmp.file(d).c_str(), 0755);
    }
    passwd* nobody = ::getpwnam("nobody");
    if (nobody != nullptr) ::chown(tmp.file("tree/nob").c_str(), nobody->pw_uid, nobody->pw_gid);
    pki.client("nob");
    write_file(tmp.file("policy.toml"), policy_for(tree));
    server = std::make_unique<Trexd>(pki, tmp.path(),
                                     std::vector<std::string>{"--policy", tmp.file("policy.toml")});
  }
  std::string remote(const std::string& path) const { return server->address() + ":" + path; }
  RunResult put(const std::vector<std::string>& args, const std::string& who = "client") const {
    return run(argv(who, "put", args));
  }
  RunResult get(const std::vector<std::string>& args, const std::string& who = "client") const {
    return run(argv(who, "get", args));
  }
  std::vector<std::string> argv(const std::string& who, const std::string& cmd,
                                const std::vector<std::string>& args) const {
    std::vector<std::string> a{TREX_BIN, cmd,           "--ca",  pki.ca(),
                               "--cert", pki.cert(who), "--key", pki.key(who)};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  std::vector<nlohmann::json> records(const std::string& event) const {
    return audit_records(server->audit_path(), event);
  }
};

World& world() {
  static World w;
  return w;
}

TEST(Files, PutAndGetRoundTripZeroOneAndManyBytes) {
  World& w = world();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{3 << 20} + 7}) {
    const std::string name = "rt-" + std::to_string(size);
    const std::string data = random_bytes(size, static_cast<unsigned>(size));
    write_file(w.tmp.file(name), data);
    ::chmod(w.tmp.file(name).c_str(), 0640);
    auto r = w.put({w.tmp.file(name), w.remote(w.tree + "/in/" + name)});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(w.tree + "/in/" + name), data);
    struct stat st {};
    ASSERT_EQ(::stat((w.tree + "/in/" + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    const auto rec = w.records("file_put").back();
    EXPECT_EQ(rec["path"], w.tree + "/in/" + name);
    EXPECT_EQ(rec["size"], size);
    EXPECT_EQ(rec["sha256"], audit::sha256_hex(data));
    EXPECT_EQ(rec["mode"], "0640");
    EXPECT_EQ(rec["result"], "ok");
    EXPECT_EQ(rec["rule"], "lab-files");
    EXPECT_TRUE(rec.contains("duration_ms"));

    const std::string back = w.tmp.file(name + ".back");
    r = w.get({w.remote(w.tree + "/in/" + name), back});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(back), data);
    const auto grec = w.records("file_get").back();
    EXPECT_EQ(grec["sha256"], audit::sha256_hex(data));
    EXPECT_EQ(grec["size"], size);
  }
  EXPECT_EQ(verify_trail(w.server->audit_path()), 0);
}

TEST(Files, SeveralFilesGoIntoAFolderAndPreserveKeepsModeAndTime) {
  World& w = world();
  write_file(w.tmp.file("a.txt"), "A");
  write_file(w.tmp.file("b.txt"), "BB");
  ::chmod(w.tmp.file("a.txt").c_str(), 0751);
  const timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ::utimensat(AT_FDCWD, w.tmp.file("a.txt").c_str(), old, 0);
  fs::create_directories(w.tree + "/in/multi");
  auto r = w.put({"-p", w.tmp.file("a.txt"), w.tmp.file("b.txt"), w.remote(w.tree + "/in/multi")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(w.tree + "/in/multi/a.txt"), "A");
  EXPECT_EQ(read_file(w.tree + "/in/multi/b.txt"), "BB");
  struct stat st {};
  ASSERT_EQ(::stat((w.tree + "/in/multi/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0751u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  const std::string dir = w.tmp.file("gotten");
  fs::create_directories(dir);
  r = w.get(
      {"-p", w.remote(w.tree + "/in/multi/a.txt"), w.remote(w.tree + "/in/multi/b.txt"), dir});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(dir + "/b.txt"), "BB");
  ASSERT_EQ(::stat((dir + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_mode & 0777, 0751u);
}

TEST(Files, UngrantedPathsAre126NamingTheRule) {
  World& w = world();
  write_file(w.tmp.file("x"), "x");
  auto r = w.put({w.tmp.file("x"), w.remote(w.tree + "/out/x")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_TRUE(contains(r.err, "rule 'lab-files' does not grant put")) << r.err;
  EXPECT_FALSE(fs::exists(w.tree + "/out/x"));
  const auto rec = w.records("file_put").back();
  EXPECT_EQ(rec["result"], "denied");
  EXPECT_EQ(rec["rule"], "lab-files");
  r = w.get({w.remote("/etc/hostname"), w.tmp.file("h")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_FALSE(fs::exists(w.tmp.file("h")));
  // ../ never reaches the file system: the path must be normalised.
  r = w.get({w.remote(w.tree + "/in/../../policy.toml"), w.tmp.file("p")});
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_TRUE(contains(r.err, "normalised")) << r.err;
}

TEST(Files, SymlinksAreNeverFollowed) {
  World& w = world();
  write_file(w.outside + "/secret", "secret");
  fs::create_directory_symlink("/etc", w.tree + "/in/etc-link");           // absolute
  fs::create_directory_symlink("../../outside", w.tree + "/in/rel-link");  // relative, escapes
  fs::create_symlink(w.outside + "/secret", w.tree + "/in/secret-link");   // to a file
  for (const std::string p : {"/in/etc-link/hostname", "/in/rel-link/secret", "/in/secret-link"}) {
    auto r = w.get({w.remote(w.tree + p), w.tmp.file("leak")});
    EXPECT_EQ(r.status, 1) << p << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "symbolic link")) << r.err;
    EXPECT_FALSE(fs::exists(w.tmp.file("leak")));
  }
  write_file(w.tmp.file("evil"), "evil");
  auto r = w.put({w.tmp.file("evil"), w.remote(w.tree + "/in/rel-link/secret")});
  EXPECT_EQ(r.status, 1) << r.err;
  r = w.put({w.tmp.file("evil"), w.remote(w.tree + "/in/secret-link")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(read_file(w.outside + "/secret"), "secret");
  EXPECT_TRUE(fs::is_symlink(w.tree + "/in/secret-link"));
}

// The folder of a put is swapped for a symlink to outside the tree while the
// put runs: the file lands in the folder that was opened, never outside.
TEST(Files, FolderSwappedForASymlinkDuringAPut) {
  World& w = world();
  fs::create_directories(w.tree + "/in/swap");
  write_big(w.tmp.file("big-swap"), 96 << 20, 7);
  Child c(
      w.argv("client", "put", {"-q", w.tmp.file("big-swap"), w.remote(w.tree + "/in/swap/big")}));
  eventually([&] {
    for (auto& e : fs::directory_iterator(w.tree + "/in/swap")) {
      if (contains(e.path().filename().string(), ".trex-")) return true;
    }
    return false;
  });
  fs::rename(w.tree + "/in/swap", w.tree + "/in/swap.real");
  fs::create_directory_symlink(w.outside, w.tree + "/in/swap");
  auto r = c.wait();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(w.outside + "/big"));
  EXPECT_EQ(fs::file_size(w.tree + "/in/swap.real/big"), std::uintmax_t{96} << 20);
}

// kill -9 of the client midway: the old file stays as it was (or, if the
// put won the race, is wholly the new one) and no temporary file is left.
TEST(Files, PutCutByKill9LeavesTheOldFile) {
  World& w = world();
  const std::string target = w.tree + "/in/victim";
  write_file(target, "OLD");
  write_big(w.tmp.file("big-kill"), 256 << 20, 9);
  Child c(w.argv("client", "put", {"-q", w.tmp.file("big-kill"), w.remote(target)}));
  auto temp_exists = [&] {
    for (auto& e : fs::directory_iterator(w.tree + "/in")) {
      if (contains(e.path().filename().string(), ".victim.trex-")) return true;
    }
    return false;
  };
  eventually(temp_exists);
  c.kill(SIGKILL);
  c.wait();
  ASSERT_TRUE(eventually([&] { return !temp_exists(); })) << "temporary file left behind";
  ASSERT_TRUE(eventually([&] {
    const auto recs = w.records("file_put");
    return !recs.empty() && recs.back()["path"] == target;
  }));
  const auto rec = w.records("file_put").back();
  if (rec["result"] == "ok") {
    EXPECT_EQ(fs::file_size(target), std::uintmax_t{256} << 20) << "the put finished first";
  } else {
    EXPECT_EQ(read_file(target), "OLD");
    EXPECT_TRUE(contains(rec["error"].get<std::string>(), "client disconnected")) << rec.dump();
  }
}

TEST(Files, GetOfAFileThatGrowsWhileReadSaysSo) {
  World& w = world();
  const std::string path = w.tree + "/out/growing.log";
  write_big(path, 64 << 20, 3);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    while (!stop) {
      out << "more\n" << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto r = w.get({"-q", w.remote(path), w.tmp.file("growing")});
  stop = true;
  writer.join();
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "changed while it was read")) << r.err;
  EXPECT_FALSE(fs::exists(w.tmp.file("growing")));
  EXPECT_EQ(w.records("file_get").back()["result"], "failed");
}

TEST(Files, FullDiskFailsThePutAndKeepsTheOldFile) {
  World& w = world();
  const std::string mnt = w.tree + "/in/small";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m,mode=0755") != 0) {
    GTEST_SKIP() << "cannot mount a 1 MiB tmpfs here (" << std::strerror(errno)
                 << "): the full-disk case is not tested";
  }
  write_file(mnt + "/f", "OLD");
  write_big(w.tmp.file("two-mib"), 2 << 20, 5);
  auto r = w.put({"-q", w.tmp.file("two-mib"), w.remote(mnt + "/f")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "No space left on device")) << r.err;
  EXPECT_EQ(read_file(mnt + "/f"), "OLD");
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(mnt)) ++entries;
  EXPECT_EQ(entries, 1u) << "the temporary file is removed";
  // The session goes on after the failure: a small put on it works.
  write_file(w.tmp.file("tiny"), "new");
  r = w.put({w.tmp.file("tiny"), w.remote(mnt + "/f")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(mnt + "/f"), "new");
  ::umount2(mnt.c_str(), MNT_DETACH);
}

TEST(Files, RunAsUserDoesTheFileIo) {
  World& w = world();
  passwd* nobody = ::getpwnam("nobody");
  if (::geteuid() != 0 || nobody == nullptr) GTEST_SKIP() << "needs root and a user nobody";
  write_file(w.tmp.file("n"), "n");
  auto r = w.put({w.tmp.file("n"), w.remote(w.tree + "/nob/n")}, "nob");
  ASSERT_EQ(r.status, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((w.tree + "/nob/n").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
  EXPECT_EQ(w.records("file_put").back()["run_as"], "nobody");
  // Granted by the policy, refused by the file system: nobody cannot write
  // into a folder of root's.
  r = w.put({w.tmp.file("n"), w.remote(w.tree + "/rootonly/n")}, "nob");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "Permission denied")) << r.err;
  EXPECT_FALSE(fs::exists(w.tree + "/rootonly/n"));
}

TEST(Files, AuditShowListsTransfersAsCommandLines) {
  World& w = world();
  write_file(w.tmp.file("shown.txt"), "hello");
  ASSERT_EQ(w.put({w.tmp.file("shown.txt"), w.remote(w.tree + "/in/shown.txt")}).status, 0);
  ASSERT_EQ(w.get({w.remote("/etc/hostname"), w.tmp.file("nope")}).status, 126);
  auto r = run({TREX_AUDIT_BIN, "show", "--wide", w.server->audit_path()});
  ASSERT_EQ(r.status, 0) << r.err;
  bool put_line = false, denied_line = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    put_line = put_line || (contains(line, "put " + w.tree + "/in/shown.txt 5 B, mode 0600") &&
                            contains(line, audit::sha256_hex("hello").substr(0, 16)));
    denied_line = denied_line || (contains(line, "get /etc/hostname") && contains(line, "denied"));
  }
  EXPECT_TRUE(put_line) << r.out;
  EXPECT_TRUE(denied_line) << r.out;
}

}  // namespace
}  // namespace trex::testing

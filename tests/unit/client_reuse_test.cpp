// Connection reuse's shared parts: the private runtime directory, the
// socket's name, the messages between trex and its master, and descriptors
// passed with them.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "trex/client_reuse.hpp"

namespace trex::client::reuse {
namespace {

class TmpDir {
 public:
  TmpDir() {
    char tmpl[] = "/tmp/trex-reuse-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TmpDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ClientReuse, RuntimeDirIsMadePrivateAndOthersAreRefused) {
  TmpDir t;
  auto dir = runtime_dir(t.path().c_str(), ::getuid());
  ASSERT_TRUE(dir.ok()) << dir.message();
  EXPECT_EQ(*dir, t.path() + "/trex");
  struct stat st {};
  ASSERT_EQ(::lstat(dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(runtime_dir(t.path().c_str(), ::getuid()).ok());  // again: the same one

  ::chmod(dir->c_str(), 0711);
  auto refused = runtime_dir(t.path().c_str(), ::getuid());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), *dir + " has mode 0711, not 0700");
  ::chmod(dir->c_str(), 0700);
  auto other = check_private_dir(*dir, ::getuid() + 1);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.message().find("belongs to uid"), std::string::npos) << other.message();

  // A symlink to a private directory is not one.
  const std::string link = t.path() + "/link";
  ASSERT_EQ(::mkdir(link.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((t.path() + "/x").c_str(), 0700), 0);
  ASSERT_EQ(::symlink((t.path() + "/x").c_str(), (link + "/trex").c_str()), 0);
  auto via_link = runtime_dir(link.c_str(), ::getuid());
  ASSERT_FALSE(via_link.ok());
  EXPECT_EQ(via_link.message(), link + "/trex is not a directory");
  // A relative XDG_RUNTIME_DIR is not used.
  EXPECT_EQ(*runtime_dir("relative", ::getuid()), "/tmp/trex-" + std::to_string(::getuid()));
}

TEST(ClientReuse, TheSocketNameFollowsServerAndCertificateFiles) {
  TmpDir t;
  const std::string cert = t.path() + "/c.crt";
  std::ofstream(cert) << "one";
  const Identity base{"h", 7443, "h", "ca", cert, "key", ""};
  const auto name = socket_path("/run/x", base);
  EXPECT_EQ(name.size(), std::string("/run/x/").size() + 32 + 5);
  EXPECT_EQ(name, socket_path("/run/x", base));
  for (auto change : {+[](Identity& i) { i.host = "g"; }, +[](Identity& i) { i.port = 1; },
                      +[](Identity& i) { i.server_name = "s"; }, +[](Identity& i) { i.key = "k"; },
                      +[](Identity& i) { i.crl = "crl"; }}) {
    Identity other = base;
    change(other);
    EXPECT_NE(socket_path("/run/x", other), name);
  }
  // The same path with new contents (a renewed certificate) is another name.
  std::ofstream(cert) << "renewed";
  EXPECT_NE(socket_path("/run/x", base), name);
}

TEST(ClientReuse, RequestsAndRepliesRoundTripAndGarbageIsRefused) {
  proto::ExecRequest req;
  req.argv = {"echo", "a b", "\xff-bytes"};
  req.timeout_s = 7;
  req.stdin_open = false;
  auto back = decode_request(encode_request(req));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->argv, req.argv);
  EXPECT_EQ(back->timeout_s, 7u);
  EXPECT_FALSE(back->stdin_open);
  EXPECT_FALSE(decode_request("echo hi").ok());

  Reply r;
  r.exit.kind = proto::ExitKind::kSignaled;
  r.exit.signal = 9;
  r.exit.code = 137;
  r.command_id = "c-1";
  auto rb = decode_reply(encode_reply(r));
  ASSERT_TRUE(rb.ok()) << rb.message();
  EXPECT_EQ(rb->exit, r.exit);
  EXPECT_EQ(rb->command_id, "c-1");
  for (auto kind : {ReplyKind::kFailed, ReplyKind::kFresh, ReplyKind::kAbandoned}) {
    auto m = decode_reply(encode_reply({kind, {}, {}, "why"}));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->kind, kind);
    EXPECT_EQ(m->message, "why");
  }
  EXPECT_FALSE(decode_reply("").ok());
  EXPECT_FALSE(decode_reply(std::string("\x01\x00\x00\x01\x00", 5)).ok());  // length past the end
  EXPECT_FALSE(decode_reply("\x09whatever").ok());
}

TEST(ClientReuse, DescriptorsTravelWithAMessage) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_TRUE(send_message(sv[0], "hello", {p[1], p[0]}).ok());
  std::vector<int> fds;
  auto got = receive_message(sv[1], fds, kRequestFds);
  ASSERT_TRUE(got.ok()) << got.message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "hello");
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(::write(fds[0], "x", 1), 1);  // the pipe's write end, passed over
  char c = 0;
  EXPECT_EQ(::read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_EQ(::fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  auto cred = peer_cred(sv[1]);
  ASSERT_TRUE(cred.ok());
  EXPECT_EQ(cred->uid, ::getuid());
  EXPECT_EQ(cred->pid, ::getpid());
  for (const int fd : fds) ::close(fd);
  ::close(sv[0]);
  std::vector<int> none;
  auto end = receive_message(sv[1], none, 0);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  for (const int fd : {sv[1], p[0], p[1]}) ::close(fd);
}

}  // namespace
}  // namespace trex::client::reuse

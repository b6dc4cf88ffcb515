#include "trex/client_reuse.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/sha256.hpp"

namespace trex::client::reuse {
namespace {

constexpr std::string_view kRequestTag = "trex-reuse-1:";
constexpr std::size_t kMaxMessage = proto::kMaxPayload + 256;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// A file's identity for the socket name: the same path with new contents
// (a renewed certificate, the day's CRL) is another connection.
std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return path + "\n-";
  return path + "\n" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

Status check_private_dir(const std::string& dir, uid_t uid) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return make_error(errno_text(dir.c_str()));
  if (!S_ISDIR(st.st_mode)) return make_error(dir + " is not a directory");
  if (st.st_uid != uid) {
    return make_error(dir + " belongs to uid " + std::to_string(st.st_uid) + ", not to you (uid " +
                      std::to_string(uid) + ")");
  }
  if ((st.st_mode & 07777) != 0700) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return make_error(dir + " has mode " + mode + ", not 0700");
  }
  return {};
}

Result<std::string> runtime_dir(const char* xdg_runtime_dir, uid_t uid) {
  std::string dir;
  if (xdg_runtime_dir != nullptr && xdg_runtime_dir[0] == '/') {
    dir = std::string(xdg_runtime_dir) + "/trex";
  } else {
    dir = "/tmp/trex-" + std::to_string(uid);
  }
  // Made once; every later run only checks it (lstat), without a mkdir.
  if (auto st = check_private_dir(dir, uid); st) return dir;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(errno_text(dir.c_str()));
  if (auto st = check_private_dir(dir, uid); !st) return st.error();
  return dir;
}

std::string socket_path(const std::string& dir, const Identity& id) {
  util::Sha256 h;
  h.update(id.host + "\n" + std::to_string(id.port) + "\n" + id.server_name + "\n");
  for (const auto* f : {&id.ca, &id.cert, &id.key, &id.crl}) h.update(file_stamp(*f) + "\n");
  return dir + "/" + h.hex_digest().substr(0, 32) + ".sock";
}

std::string encode_request(const proto::ExecRequest& req) {
  auto payload = proto::encode(req);
  // Too large a request fails before any connection (trex's main checks).
  return std::string(kRequestTag) + (payload ? *payload : std::string());
}

Result<proto::ExecRequest> decode_request(std::string_view msg) {
  if (msg.substr(0, kRequestTag.size()) != kRequestTag) {
    return make_error("not a trex request");
  }
  return proto::decode_exec(msg.substr(kRequestTag.size()));
}

std::string encode_reply(const Reply& r) {
  std::string out(1, static_cast<char>(r.kind));
  if (r.kind != ReplyKind::kExit) return out + r.message;
  const std::string exit = proto::encode(r.exit);
  put_u32(out, static_cast<std::uint32_t>(exit.size()));
  return out + exit + r.command_id;
}

Result<Reply> decode_reply(std::string_view msg) {
  if (msg.empty()) return make_error("an empty reply");
  Reply r;
  r.kind = static_cast<ReplyKind>(msg[0]);
  msg.remove_prefix(1);
  switch (r.kind) {
    case ReplyKind::kFailed:
    case ReplyKind::kFresh:
    case ReplyKind::kAbandoned:
      r.message = std::string(msg);
      return r;
    case ReplyKind::kExit: {
      if (msg.size() < 4 || get_u32(msg) > msg.size() - 4) return make_error("a short reply");
      const std::uint32_t n = get_u32(msg);
      auto exit = proto::decode_exit(msg.substr(4, n));
      if (!exit) return exit.error();
      r.exit = std::move(*exit);
      r.command_id = std::string(msg.substr(4 + n));
      return r;
    }
  }
  return make_error("a reply of unknown kind " + std::to_string(static_cast<int>(r.kind)));
}

Status send_message(int sock, std::string_view msg, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    if (::sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return make_error(errno_text("sendmsg"));
  }
}

Result<std::optional<std::string>> receive_message(int sock, std::vector<int>& fds,
                                                   std::size_t max_fds) {
  // On the stack, not zeroed: only the pages recvmsg writes are touched (a
  // zeroed 64 KiB cost trex 16 page faults per run through a master), and no
  // heap growth and trim (two brk calls) per message.
  char buf[kMaxMessage];
  iovec iov{buf, kMaxMessage};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (max_fds == 0 ? 1 : max_fds)));
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.data();
  mh.msg_controllen = control.size();
  ssize_t n;
  while ((n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) return make_error(errno_text("recvmsg"));
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    return make_error("a message too large or with too many descriptors");
  }
  if (n == 0) return std::optional<std::string>();
  return std::optional<std::string>(std::string(buf, static_cast<std::size_t>(n)));
}

Result<PeerCred> peer_cred(int sock) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return make_error(errno_text("SO_PEERCRED"));
  }
  return PeerCred{cred.uid, cred.pid};
}

}  // namespace trex::client::reuse

// Connection reuse (trex --persist, config key persist): a trex process
// that ran a command keeps its authenticated connection open as a
// "connection master" listening on a Unix socket; later trex runs to the
// same server with the same certificate files hand it their command and
// their stdin/stdout/stderr (SCM_RIGHTS) instead of connecting themselves.
// The server still decides and audits every command; the master adds no
// rights. This header holds the parts both sides share: the private runtime
// directory, the socket's name, the messages and their transport. Pure
// functions and plain system calls; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/proto.hpp"
#include "trex/result.hpp"

namespace trex::client::reuse {

// The directory of master sockets: $XDG_RUNTIME_DIR/trex when that is an
// absolute path, else /tmp/trex-UID. Made 0700 when missing; refused (the
// error says why) unless it is a directory, not a symlink, owned by `uid`,
// with mode 0700: anyone else who could write there could pose as a master.
Result<std::string> runtime_dir(const char* xdg_runtime_dir, uid_t uid);
Status check_private_dir(const std::string& dir, uid_t uid);

// What makes a connection the same: the server, the name its certificate
// must carry, and the certificate files (paths, and each file's identity
// and modification time: a renewed certificate or a new CRL makes a new
// master, the old one idles out).
struct Identity {
  std::string host;
  std::uint16_t port = 0;
  std::string server_name, ca, cert, key, crl;
};
// `dir`/HEX.sock, HEX the first 128 bits of a SHA-256 over the identity.
std::string socket_path(const std::string& dir, const Identity& id);

// A request: the command, as the exec frame carries it. Sent with four
// descriptors: stdin, stdout, stderr and the read end of the client's
// interrupt pipe (a byte per Ctrl-C; its end means the client is gone).
inline constexpr std::size_t kRequestFds = 4;
std::string encode_request(const proto::ExecRequest& req);
Result<proto::ExecRequest> decode_request(std::string_view msg);

// `trex -O exit`: the master stops taking commands, removes its socket and
// ends once the commands it runs have ended. Sent with no descriptors.
inline constexpr std::string_view kExitRequest = "trex-reuse-1-exit";

enum class ReplyKind : std::uint8_t {
  kExit = 1,       // the command's result (exit, command_id)
  kFailed = 2,     // trex's own failure after the command was sent (message)
  kFresh = 3,      // the master did not send it: connect without it (message says why)
  kAbandoned = 4,  // interrupted twice: the master stopped waiting (message)
};
struct Reply {
  ReplyKind kind = ReplyKind::kExit;
  proto::ExitInfo exit;
  std::string command_id;
  std::string message;
};
std::string encode_reply(const Reply& r);
Result<Reply> decode_reply(std::string_view msg);

// One message on a SOCK_SEQPACKET Unix socket, with descriptors attached.
Status send_message(int sock, std::string_view msg, const std::vector<int>& fds = {});
// Waits for one message; its descriptors (at most `max_fds`, CLOEXEC) go to
// `fds` and the caller owns them. Nothing: the peer closed the socket.
Result<std::optional<std::string>> receive_message(int sock, std::vector<int>& fds,
                                                   std::size_t max_fds);

// The peer's uid and pid (SO_PEERCRED).
struct PeerCred {
  uid_t uid = 0;
  pid_t pid = 0;
};
Result<PeerCred> peer_cred(int sock);

}  // namespace trex::client::reuse

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "tls/identity.hpp"
#include "tls/server_name.hpp"
#include "tls/verify.hpp"
#include "trex/proto.hpp"

namespace trex::tls {
namespace {

using Clock = std::chrono::steady_clock;

void prepare_socket(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Waits for the socket; false when the deadline passed.
bool wait_fd(int fd, bool for_write, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let wolfSSL report the socket error
  }
}

std::string error_text(int code) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string(static_cast<unsigned long>(code), buf);
  return std::string(buf) + " (" + std::to_string(code) + ")";
}

}  // namespace

HandshakeFailure failure_for_error(int code) {
  switch (code) {
    case NO_PEER_CERT:
      return HandshakeFailure::kNoCertificate;
    case ASN_NO_SIGNER_E:
      return HandshakeFailure::kUnknownCa;
    case ASN_AFTER_DATE_E:
      return HandshakeFailure::kExpired;
    case ASN_BEFORE_DATE_E:
      return HandshakeFailure::kNotYetValid;
    case ASN_SIG_CONFIRM_E:
      return HandshakeFailure::kBadSignature;
    case CRL_CERT_REVOKED:
      return HandshakeFailure::kRevoked;
    case CRL_MISSING:
      return HandshakeFailure::kNoValidCrl;
    case EXTKEYUSE_AUTH_E:
      return HandshakeFailure::kWrongKeyUsage;
    case DOMAIN_NAME_MISMATCH:
      return HandshakeFailure::kNameMismatch;
    case IPADDR_MISMATCH:
      return HandshakeFailure::kIpMismatch;
    case VERSION_ERROR:
      return HandshakeFailure::kProtocolVersion;
    case UNKNOWN_ALPN_PROTOCOL_NAME_E:
      return HandshakeFailure::kNoAlpn;
    case SOCKET_PEER_CLOSED_E:
    case SOCKET_ERROR_E:
      return HandshakeFailure::kClosed;
    default:
      return HandshakeFailure::kOther;
  }
}

namespace {

std::string alert_reason(int code) {
  switch (code) {
    case 42:
      return "bad certificate";
    case 43:
      return "unsupported certificate";
    case 44:
      return "revoked";
    case 45:
      return "expired";
    case 46:
      return "certificate unknown";
    case 48:
      return "unknown CA";
    case 70:
      return "protocol version";
    case 116:
      return "certificate required";
    case 120:
      return "no application protocol";
    default:
      return "alert " + std::to_string(code);
  }
}

// How a client should read the alert the server refused its certificate
// with: each says what that alert means and nothing more. wolfSSL sends
// certificate_expired for "not yet valid" too, and bad_certificate for every
// failure without an alert of its own (a bad signature, a CA constraint);
// trexd tells a wrong key usage or its own missing CRL in an error frame.
std::string refusal_reason(int code) {
  switch (code) {
    case 42:
      return "bad certificate: it or a CA certificate in its chain did not verify, e.g. a bad "
             "signature or a CA constraint; the server's log names the reason";
    case 44:
      return "revoked: it or a CA in its chain is on the CA's revocation list";
    case 45:
      return "expired or not yet valid: it or a CA certificate in its chain";
    case 48:
      return "unknown CA: it does not lead to a CA the server trusts; if an intermediate CA "
             "signed it, put that CA's certificate after it in the certificate file";
    case 116:
      return "no certificate was sent";
    default:
      return alert_reason(code);
  }
}

// After the server refused a handshake, wolfSSL has sent its alert. Closing
// the socket while the client's next records are unread (or still arriving)
// makes the kernel send a reset, and a reset can overtake the alert: the
// client would only see "connection reset". Half-close and drain briefly so
// the alert arrives.
void linger_close(int fd, std::chrono::milliseconds max) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = Clock::now() + max;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;
    if (n < 0 && !wait_fd(fd, false, deadline)) return;
  }
}

// Why wolfSSL_accept/connect failed with `err` (not WANT_READ/WRITE).
HandshakeError failure_of(WOLFSSL* ssl, int err) {
  HandshakeError e{failure_for_error(err), error_text(err), {}, {}};
  if (e.kind == HandshakeFailure::kOther) e.context = error_text(err);
  if (err == FATAL_ERROR) {
    WOLFSSL_ALERT_HISTORY h{};
    if (wolfSSL_get_alert_history(ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.code > 0) {
      e.kind = HandshakeFailure::kPeerAlert;
      e.context = alert_reason(h.last_rx.code);
    }
  }
  return e;
}

HandshakeError timed_out() {
  return HandshakeError{HandshakeFailure::kTimeout, "handshake did not finish in time", {}, {}};
}

template <class Step>
std::optional<HandshakeError> drive_handshake(WOLFSSL* ssl, int fd, Clock::time_point deadline,
                                              Step step) {
  for (;;) {
    const int ret = step(ssl);
    if (ret == WOLFSSL_SUCCESS) return std::nullopt;
    const int err = wolfSSL_get_error(ssl, ret);
    if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
      return failure_of(ssl, err);
    }
    if (!wait_fd(fd, err == WOLFSSL_ERROR_WANT_WRITE, deadline)) return timed_out();
  }
}

Status check_alpn(WOLFSSL* ssl) {
  char* name = nullptr;
  unsigned short size = 0;
  if (wolfSSL_ALPN_GetProtocol(ssl, &name, &size) != WOLFSSL_SUCCESS || name == nullptr ||
      std::string_view(name, size) != proto::kAlpn) {
    return make_error("no ALPN " + std::string(proto::kAlpn));
  }
  return {};
}

// Who the peer's leaf certificate names. The DER comes from the session
// chain: the X509 layer cannot decode Ed25519 certificates in this build.
std::optional<PeerIdentity> peer_leaf(WOLFSSL* ssl, bool* client_auth) {
  WOLFSSL_X509_CHAIN* chain = wolfSSL_get_peer_chain(ssl);
  if (chain == nullptr || wolfSSL_get_chain_count(chain) < 1) return std::nullopt;
  return identity_from_der(wolfSSL_get_chain_cert(chain, 0),
                           static_cast<std::size_t>(wolfSSL_get_chain_length(chain, 0)),
                           client_auth);
}

// The peer's chain as sent, DER, leaf first.
std::vector<std::string> peer_chain(WOLFSSL* ssl) {
  std::vector<std::string> out;
  WOLFSSL_X509_CHAIN* chain = wolfSSL_get_peer_chain(ssl);
  const int n = chain == nullptr ? 0 : wolfSSL_get_chain_count(chain);
  for (int i = 0; i < n; ++i) {
    out.emplace_back(reinterpret_cast<const char*>(wolfSSL_get_chain_cert(chain, i)),
                     static_cast<std::size_t>(wolfSSL_get_chain_length(chain, i)));
  }
  return out;
}

WOLFSSL* new_ssl(const Context& ctx, int fd) {
  WOLFSSL* ssl = wolfSSL_new(ctx.get());
  if (ssl == nullptr) return nullptr;
  wolfSSL_set_fd(ssl, fd);  // Connection replaces the I/O: ReadAhead, WriteBehind
  std::string alpn(proto::kAlpn);
  wolfSSL_UseALPN(ssl, alpn.data(), static_cast<unsigned>(alpn.size()),
                  WOLFSSL_ALPN_FAILED_ON_MISMATCH);
  return ssl;
}

}  // namespace

namespace {

// What a failed recv/send means to wolfSSL (WANT_READ and WANT_WRITE are
// the same code).
int io_error(int e) {
  if (e == EAGAIN || e == EWOULDBLOCK) return WOLFSSL_CBIO_ERR_WANT_READ;
  if (e == ECONNRESET) return WOLFSSL_CBIO_ERR_CONN_RST;
  if (e == EPIPE || e == ECONNABORTED) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  return WOLFSSL_CBIO_ERR_GENERAL;
}

constexpr std::size_t kClientReadAhead = 64 << 10;
constexpr std::size_t kServerReadAhead = 17 << 10;  // a full TLS record and its header

}  // namespace

// wolfSSL reads a record as two recv(2) calls, its 5-byte header and then its
// body. Reading ahead (a client up to 64 KiB at a time) and handing wolfSSL
// its bytes from here takes a 16 KiB record stream from ~2 system calls per
// record to ~1 per 4 records: on a VM each call is costly (bench row 3).
// A server's buffer starts at one record and grows to the client's size once
// a read fills it (a put's data, a stdin flood): 4 recv(2) per 64 KiB of a
// put became 1.
struct Connection::ReadAhead {
  int fd;
  std::size_t size;
  std::unique_ptr<char[]> buf{new char[size]};
  std::size_t off = 0, len = 0;  // len == size: the last recv filled it, more is coming

  ReadAhead(int f, std::size_t bytes) : fd(f), size(bytes) {}
  std::size_t buffered() const { return len - off; }

  static int receive(WOLFSSL*, char* out, int want, void* self) {
    auto& r = *static_cast<ReadAhead*>(self);
    if (r.buffered() == 0) {
      if (r.len == r.size && r.size < kClientReadAhead) {
        r.size = kClientReadAhead;
        r.buf.reset(new char[r.size]);
      }
      ssize_t n;
      do n = ::recv(r.fd, r.buf.get(), r.size, 0);
      while (n < 0 && errno == EINTR);
      if (n == 0) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
      if (n < 0) return io_error(errno);
      r.off = 0;
      r.len = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(r.buffered(), static_cast<std::size_t>(want));
    std::memcpy(out, r.buf.get() + r.off, n);
    r.off += n;
    return static_cast<int>(n);
  }
};

// wolfSSL sends each 16 KiB record with its own send(2). Inside write() the
// records are collected and sent together afterwards: one system call per
// write of up to 256 KiB instead of one per record. Outside write() (the
// handshake, alerts, close_notify) records go out at once, behind any
// backlog, as wolfSSL's own callback would send them.
struct Connection::WriteBehind {
  int fd;
  bool collecting = false;
  std::string buf;
  std::size_t off = 0;

  explicit WriteBehind(int f) : fd(f) {}
  std::size_t pending() const { return buf.size() - off; }

  // Sends the backlog: 0 when all of it went, else a WOLFSSL_CBIO_ERR_*.
  int flush() {
    while (pending() > 0) {
      const ssize_t n = ::send(fd, buf.data() + off, pending(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error(errno);
      }
      off += static_cast<std::size_t>(n);
    }
    buf.clear();
    off = 0;
    return 0;
  }

  static int send(WOLFSSL*, char* data, int size, void* self) {
    auto& w = *static_cast<WriteBehind*>(self);
    if (w.collecting) {
      w.buf.append(data, static_cast<std::size_t>(size));
      return size;
    }
    if (const int err = w.flush(); err != 0) return err;
    for (;;) {
      const ssize_t n = ::send(w.fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
      if (n >= 0) return static_cast<int>(n);
      if (errno != EINTR) return io_error(errno);
    }
  }
};

std::string reason_for_error(int code) {
  const auto kind = failure_for_error(code);
  return HandshakeError{kind, {}, {}, kind == HandshakeFailure::kOther ? error_text(code) : ""}
      .reason();
}

Connection::Connection(std::shared_ptr<Context> ctx, SslPtr ssl, util::UniqueFd fd)
    : ctx_(std::move(ctx)), fd_(std::move(fd)), ssl_(std::move(ssl)) {
  if (ssl_ != nullptr) {
    // A client receives the bulk (command output); a server mostly small
    // frames, and one record's worth keeps 64 sessions' buffers small.
    rx_ = std::make_unique<ReadAhead>(fd_.get(),
                                      ctx_->is_server() ? kServerReadAhead : kClientReadAhead);
    wolfSSL_SSLSetIORecv(ssl_.get(), &ReadAhead::receive);
    wolfSSL_SetIOReadCtx(ssl_.get(), rx_.get());
    tx_ = std::make_unique<WriteBehind>(fd_.get());
    wolfSSL_SSLSetIOSend(ssl_.get(), &WriteBehind::send);
    wolfSSL_SetIOWriteCtx(ssl_.get(), tx_.get());
  }
}

Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Connection::~Connection() {
  // A server that ended the session itself (an error frame, then
  // close_notify) may not have read all the client sent: closing now would
  // send a reset, which can destroy the error on its way to the client
  // ("connection lost" instead of "server busy"). Drain briefly first.
  if (fd_ && shut_ && ctx_ != nullptr && ctx_->is_server()) {
    ssl_.reset();
    linger_close(fd_.get(), std::chrono::milliseconds(500));
  }
}

namespace {

// The verify callback let a leaf through that must be refused in words no
// alert has (see VerifyNote): an error frame says why, then the session ends.
HandshakeError refuse_after_handshake(Connection& conn, const VerifyNote& note,
                                      std::optional<PeerIdentity> claimed) {
  const std::string frame = proto::encode_frame(
      proto::FrameType::kError,
      proto::encode(proto::ErrorInfo{proto::ErrorCode::kCertificate, refusal_message(note)}));
  // Best effort, like an alert: a fresh connection's socket takes one small write.
  if (conn.write(frame.data(), frame.size()).status == IoStatus::kWouldBlock) {
    wait_fd(conn.fd(), true, Clock::now() + std::chrono::milliseconds(500));
    conn.flush_unsent();
  }
  HandshakeError e{
      HandshakeFailure::kOther, "refused after the handshake to say why", std::move(claimed), {}};
  describe_failure(note, e);
  return e;
}
}  // namespace

struct ServerHandshake::State {
  Connection conn;
  VerifyNote note;
  std::optional<HandshakeError> failed;
  bool ended = false;
};

ServerHandshake::ServerHandshake(std::shared_ptr<Context> ctx, int fd) {
  util::UniqueFd socket(fd);
  prepare_socket(fd);
  SslPtr ssl(new_ssl(*ctx, fd));
  WOLFSSL* const raw = ssl.get();
  state_ = std::make_unique<State>(
      State{Connection(std::move(ctx), std::move(ssl), std::move(socket)), {}, {}, false});
  if (raw == nullptr) {
    state_->failed = HandshakeError{HandshakeFailure::kNoResources, "wolfSSL_new failed", {}, {}};
    state_->ended = true;
    return;
  }
  wolfSSL_set_ex_data(raw, 0, &state_->note);
}

ServerHandshake::ServerHandshake(ServerHandshake&&) noexcept = default;
ServerHandshake& ServerHandshake::operator=(ServerHandshake&&) noexcept = default;
ServerHandshake::~ServerHandshake() = default;

int ServerHandshake::fd() const { return state_ ? state_->conn.fd_.get() : -1; }

short ServerHandshake::step() {
  State& s = *state_;
  if (s.ended) return 0;
  const int ret = wolfSSL_accept(s.conn.ssl_.get());
  if (ret == WOLFSSL_SUCCESS) {
    s.ended = true;
    return 0;
  }
  const int err = wolfSSL_get_error(s.conn.ssl_.get(), ret);
  if (err == WOLFSSL_ERROR_WANT_READ) return POLLIN;
  if (err == WOLFSSL_ERROR_WANT_WRITE) return POLLOUT;
  s.failed = failure_of(s.conn.ssl_.get(), err);
  s.ended = true;
  return 0;
}

std::variant<Connection, HandshakeError> ServerHandshake::finish() {
  State& s = *state_;
  Connection& conn = s.conn;
  if (conn.ssl_ != nullptr) wolfSSL_set_ex_data(conn.ssl_.get(), 0, nullptr);
  if (s.failed) {
    if (s.failed->kind != HandshakeFailure::kNoResources) {
      describe_failure(s.note, *s.failed);
      s.failed->peer = std::move(s.note.claimed);
    }
    return *std::move(s.failed);
  }
  // Refusals after the handshake: close_notify goes out, then the caller
  // drains the socket (take_socket).
  auto refuse = [&](HandshakeError e) {
    conn.shutdown();
    return e;
  };
  bool client_auth = false;
  auto id = peer_leaf(conn.ssl_.get(), &client_auth);
  if (s.note.refuse_after_handshake) {
    return refuse(refuse_after_handshake(conn, s.note, std::move(s.note.claimed)));
  }
  if (!id) {
    return refuse(
        {HandshakeFailure::kNoCertificate, "no peer certificate after handshake", {}, {}});
  }
  conn.peer_ = std::move(*id);
  conn.peer_.verified = true;  // the handshake verified it
  conn.peer_.chain = peer_chain(conn.ssl_.get());
  if (auto st = check_alpn(conn.ssl_.get()); !st) {
    return refuse({HandshakeFailure::kNoAlpn, "client did not offer ALPN", conn.peer_, {}});
  }
  // wolfSSL refuses a wrong EKU but accepts a certificate without any.
  if (!client_auth) {
    return refuse(
        {HandshakeFailure::kWrongKeyUsage, "certificate lacks EKU clientAuth", conn.peer_, {}});
  }
  return std::move(conn);
}

util::UniqueFd ServerHandshake::take_socket() {
  return state_ ? state_->conn.release_socket() : util::UniqueFd();
}

util::UniqueFd Connection::release_socket() {
  ssl_.reset();
  rx_.reset();
  tx_.reset();
  return std::exchange(fd_, util::UniqueFd());
}

std::variant<Connection, HandshakeError> Connection::accept(std::shared_ptr<Context> ctx, int fd,
                                                            std::chrono::milliseconds timeout) {
  ServerHandshake hs(std::move(ctx), fd);
  const auto deadline = Clock::now() + timeout;
  while (const short events = hs.step()) {
    if (!wait_fd(hs.fd(), events == POLLOUT, deadline)) return timed_out();
  }
  auto result = hs.finish();
  // A refusal's alert must not be overtaken by a reset: drain, then close.
  const auto* err = std::get_if<HandshakeError>(&result);
  if (const util::UniqueFd s = hs.take_socket();
      s && err != nullptr && err->kind != HandshakeFailure::kNoResources) {
    linger_close(s.get(), std::chrono::milliseconds(500));
  }
  return result;
}

std::variant<Connection, HandshakeError> Connection::connect(std::shared_ptr<Context> ctx, int fd,
                                                             const std::string& host,
                                                             std::chrono::milliseconds timeout) {
  util::UniqueFd socket(fd);
  prepare_socket(fd);
  Connection conn(ctx, SslPtr(new_ssl(*ctx, fd)), std::move(socket));
  if (conn.ssl_ == nullptr) {
    return HandshakeError{HandshakeFailure::kNoResources, "wolfSSL_new failed", {}, {}};
  }
  ServerNameCheck names(conn.ssl_.get(), host);
  wolfSSL_UseKeyShare(conn.ssl_.get(), WOLFSSL_ECC_X25519);
  auto err = drive_handshake(conn.ssl_.get(), fd, Clock::now() + timeout, wolfSSL_connect);
  if (err) {
    if (auto refused = names.refusal()) return *std::move(refused);
    names.describe_chain_failure(*err);
    // The key is proven against the certificate only now, on the failure
    // path: a probe on every run would cost each command a handshake.
    if (err->kind != HandshakeFailure::kTimeout) {
      const auto& f = ctx->files();
      if (auto st = key_matches_certificate(f.cert, f.key); !st) {
        return HandshakeError{HandshakeFailure::kKeyMismatch, err->detail, {}, st.message()};
      }
    }
    return *std::move(err);
  }
  if (auto st = check_alpn(conn.ssl_.get()); !st) {
    return HandshakeError{HandshakeFailure::kServerNoAlpn, "", {}, {}};
  }
  if (auto id = peer_leaf(conn.ssl_.get(), nullptr)) conn.peer_ = std::move(*id);
  if (auto wrong = names.recheck(conn.peer_)) {
    conn.shutdown();
    return *std::move(wrong);
  }
  return conn;
}

namespace {
// A certificate failure of a CA certificate in the chain names it.
std::string with_ca(const std::string& what, const std::string& ca) {
  return ca.empty() ? what : what + ": CA certificate '" + ca + "'";
}
}  // namespace

std::string HandshakeError::reason() const {
  switch (kind) {
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kNoResources:
      return "no resources for a TLS session (memory or file descriptors)";
    case HandshakeFailure::kNoCertificate:
      return "no certificate";
    case HandshakeFailure::kUnknownCa:
      return with_ca("unknown CA", context);
    case HandshakeFailure::kExpired:
      return with_ca("expired", context);
    case HandshakeFailure::kNotYetValid:
      return with_ca("not yet valid", context);
    case HandshakeFailure::kBadSignature:
      return with_ca("bad signature", context);
    case HandshakeFailure::kRevoked:
      return with_ca("revoked", context);
    case HandshakeFailure::kNoValidCrl:
      return context.empty() ? "no valid CRL (missing or expired)"
                             : "no current CRL for CA '" + context + "'";
    case HandshakeFailure::kCaConstraint:
      return with_ca("CA constraints violated (path length)", context);
    case HandshakeFailure::kWrongKeyUsage:
      return "wrong key usage";
    case HandshakeFailure::kNameMismatch:
      return "name mismatch";
    case HandshakeFailure::kIpMismatch:
      return "IP address mismatch";
    case HandshakeFailure::kProtocolVersion:
      return "protocol version";
    case HandshakeFailure::kNoAlpn:
      return "no ALPN " + std::string(proto::kAlpn);
    case HandshakeFailure::kServerNoAlpn:
      return "the server did not agree on protocol " + std::string(proto::kAlpn);
    case HandshakeFailure::kClosed:
      return "connection closed during handshake";
    case HandshakeFailure::kPeerAlert:
      return "peer sent alert: " + context;
    case HandshakeFailure::kKeyMismatch:
    case HandshakeFailure::kOther:
      return context;
  }
  return context;
}

IoResult Connection::read(char* buf, std::size_t len) {
  const int ret = wolfSSL_read(ssl_.get(), buf, static_cast<int>(len));
  if (ret > 0) return {IoStatus::kOk, static_cast<std::size_t>(ret), {}, false};
  const int err = wolfSSL_get_error(ssl_.get(), ret);
  switch (err) {
    case WOLFSSL_ERROR_WANT_READ:
      return {IoStatus::kWouldBlock, 0, {}, false};
    case WOLFSSL_ERROR_WANT_WRITE:
      return {IoStatus::kWouldBlock, 0, {}, true};
    case WOLFSSL_ERROR_ZERO_RETURN:
      return {IoStatus::kClosed, 0, "closed", false};
    default:
      return failure(err);
  }
}

// A refused client certificate reaches a TLS 1.3 client only as an alert
// (or a reset) on its first read or write after the handshake.
IoResult Connection::failure(int err) const {
  auto alert = describe_alert();
  if (!alert && (err == SOCKET_PEER_CLOSED_E || err == SOCKET_ERROR_E)) {
    return {IoStatus::kClosed, 0, "connection lost", false};
  }
  if (alert) return {IoStatus::kError, 0, std::move(*alert), false, IoCause::kPeerAlert};
  return {IoStatus::kError, 0, error_text(err), false};
}

IoResult Connection::write(const char* buf, std::size_t len) {
  if (tx_->pending() > 0) {
    if (auto r = flush_unsent(); r.status != IoStatus::kOk) return r;
  }
  tx_->collecting = true;
  const int ret = wolfSSL_write(ssl_.get(), buf, static_cast<int>(len));
  tx_->collecting = false;
  if (ret > 0) {
    // The bytes are wolfSSL's now; what the kernel does not take yet stays
    // in unsent() for the caller's next flush.
    if (auto r = flush_unsent(); r.status != IoStatus::kOk && r.status != IoStatus::kWouldBlock) {
      return r;
    }
    return {IoStatus::kOk, static_cast<std::size_t>(ret), {}, false};
  }
  const int err = wolfSSL_get_error(ssl_.get(), ret);
  switch (err) {
    case WOLFSSL_ERROR_WANT_WRITE:
      return {IoStatus::kWouldBlock, 0, {}, true};
    case WOLFSSL_ERROR_WANT_READ:
      return {IoStatus::kWouldBlock, 0, {}, false};
    default:
      return failure(err);
  }
}

bool Connection::has_pending() const {
  return ssl_ != nullptr && (wolfSSL_pending(ssl_.get()) > 0 || (rx_ && rx_->buffered() > 0));
}

std::size_t Connection::unsent() const { return tx_ ? tx_->pending() : 0; }

IoResult Connection::flush_unsent() {
  if (!tx_) return {};
  switch (tx_->flush()) {
    case 0:
      return {};
    case WOLFSSL_CBIO_ERR_WANT_WRITE:
      return {IoStatus::kWouldBlock, 0, {}, true};
    case WOLFSSL_CBIO_ERR_CONN_RST:
    case WOLFSSL_CBIO_ERR_CONN_CLOSE:
      return {IoStatus::kClosed, 0, "connection lost", false};
    default:
      return {IoStatus::kError, 0, std::string("send failed: ") + std::strerror(errno), false};
  }
}

void Connection::discard_unsent() {
  if (!tx_) return;
  tx_->buf.clear();
  tx_->off = 0;
}

void Connection::shutdown() {
  if (ssl_ == nullptr || shut_) return;
  shut_ = true;
  wolfSSL_shutdown(ssl_.get());  // non-blocking: sends close_notify if the socket takes it
}

std::string Connection::cipher() const {
  const char* version = wolfSSL_get_version(ssl_.get());
  const char* name = wolfSSL_get_cipher_name(ssl_.get());
  return std::string(version ? version : "?") + " " + (name ? name : "?");
}

std::optional<std::string> Connection::describe_alert() const {
  WOLFSSL_ALERT_HISTORY h{};
  if (ssl_ == nullptr || wolfSSL_get_alert_history(ssl_.get(), &h) != WOLFSSL_SUCCESS ||
      h.last_rx.code <= 0) {
    return std::nullopt;
  }
  const int code = h.last_rx.code;
  if (code == 42 || code == 43 || code == 44 || code == 45 || code == 46 || code == 48 ||
      code == 116) {
    return "the server refused this certificate (" + refusal_reason(code) + ")";
  }
  return "the server ended the connection: " + alert_reason(code);
}

}  // namespace trex::tls

// TLS on wolfSSL: one RAII owner per handle. Library initialises wolfSSL
// once (one guard in main). Context is an immutable, fully configured
// WOLFSSL_CTX shared by all sessions through shared_ptr (SIGHUP builds a new
// one and swaps it; live sessions keep theirs). Connection owns one WOLFSSL
// and its socket and must be used by one thread only (src/README.md, "Invariants": a reader
// and a writer thread on one WOLFSSL corrupt the stream).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "trex/result.hpp"
#include "trex/stream.hpp"
#include "util/unique_fd.hpp"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace trex::tls {

// The owners of wolfSSL's handles (their deleters live in src/tls, so that
// wolfSSL's headers stay private): Context holds a CtxPtr, Connection an SslPtr.
struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const;
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const;
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;

class Library {
 public:
  Library();
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

// Drops the calling thread's ECC caches (wolfSSL's FP_ECC cache, in builds
// that have it): each thread that did ECC keeps one until told, and it leaks
// when the thread ends. Call before a thread that handshook finishes or idles.
void release_thread_caches();

struct ServerFiles {
  std::string ca, cert, key;
  std::string crl;        // a PEM file of one or more CRLs (may be empty with crl_dir)
  std::string crl_dir{};  // a directory of *.pem / *.crl files (optional)
};
struct ClientFiles {
  std::string ca, cert, key;
  // A PEM file of one or more CRLs: the server's chain is checked against
  // it, and every CA of `ca` needs a current one. Empty: no revocation check.
  std::string crl{};
};

struct PeerIdentity;
struct HandshakeError;

class Context {
 public:
  // Fail with a reason naming the file that could not be used.
  static Result<std::shared_ptr<Context>> server(const ServerFiles& files);
  static Result<std::shared_ptr<Context>> client(const ClientFiles& files);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  WOLFSSL_CTX* get() const { return ctx_.get(); }
  bool is_server() const { return server_; }
  // Would this (server) context still accept `peer`'s chain, which an older
  // one verified: its CAs, dates and CRLs? Why not, or nothing when it would.
  // For SIGHUP: a session whose certificate was revoked or expired since.
  std::optional<HandshakeError> recheck(const PeerIdentity& peer) const;
  // A client's own files, to explain a handshake that failed on its side.
  const ClientFiles& files() const { return files_; }

 private:
  Context(CtxPtr ctx, bool server, ClientFiles files = {})
      : ctx_(std::move(ctx)), server_(server), files_(std::move(files)) {}
  CtxPtr ctx_;
  bool server_;
  ClientFiles files_;
};

// What the peer's certificate says about who it is. Proven only when the
// certificate verified (see `verified`).
struct PeerIdentity {
  std::string cn;
  std::vector<std::string> ou;
  std::string serial;       // hex, as openssl prints it
  std::string fingerprint;  // SHA-256 of the DER, hex
  std::string not_after;    // RFC 3339 UTC
  std::string issuer;       // the issuing CA's subject, RFC 4514: "CN=Lab CA,O=Lab"
  // The chain as the peer sent it, DER, leaf first (a verified peer's), so
  // that a reload can check it again.
  std::vector<std::string> chain;
  // The certificate verified against the CA and CRL: only then is `cn` who
  // the peer is; otherwise (a refused handshake) it is only what it claims.
  bool verified = false;
};

// Why a handshake failed: callers branch on the kind; reason() is the short
// text for people and the auth_fail record ("revoked", "timeout", ...).
enum class HandshakeFailure {
  kTimeout,
  kNoResources,  // wolfSSL_new failed: memory or file descriptors
  kNoCertificate,
  kUnknownCa,
  kExpired,
  kNotYetValid,
  kBadSignature,
  kRevoked,
  kNoValidCrl,
  kWrongKeyUsage,
  kCaConstraint,  // a CA's path length (or CA:TRUE, keyCertSign) was violated
  kNameMismatch,  // the server's certificate does not name the host
  kIpMismatch,    // ... nor the IP address
  kProtocolVersion,
  kNoAlpn,        // the client offered no trex/1
  kServerNoAlpn,  // the server did not agree on trex/1
  kClosed,        // the connection closed during the handshake
  kPeerAlert,     // the peer sent an alert: `context` names it
  kKeyMismatch,   // our key does not match our certificate: `context` says so
  kOther,         // `context` holds wolfSSL's error text
};

struct HandshakeError {
  HandshakeFailure kind = HandshakeFailure::kOther;
  std::string detail;                // wolfSSL's words and code, for the log
  std::optional<PeerIdentity> peer;  // when a certificate was seen
  // See the kinds above. For a certificate's failure: the CA certificate at
  // fault when it is not the leaf; for kNoValidCrl, the CA without a CRL.
  std::string context;
  std::string reason() const;
  bool is_name_mismatch() const {
    return kind == HandshakeFailure::kNameMismatch || kind == HandshakeFailure::kIpMismatch;
  }
};

using trex::IoCause;
using trex::IoResult;
using trex::IoStatus;

class Connection : public Stream {
 public:
  // Both take ownership of `fd` (closed on failure too) and switch it to
  // non-blocking mode; the handshake must finish within `timeout`.
  static std::variant<Connection, HandshakeError> accept(std::shared_ptr<Context> ctx, int fd,
                                                         std::chrono::milliseconds timeout);
  // Checks the server's certificate against `host` (DNS or IP SAN).
  static std::variant<Connection, HandshakeError> connect(std::shared_ptr<Context> ctx, int fd,
                                                          const std::string& host,
                                                          std::chrono::milliseconds timeout);
  // Defaulted (in connection.cpp, where ReadAhead and WriteBehind are
  // complete). Assigning over a live connection closes it at once, without
  // the destructor's drain; nothing in trex does.
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override;

  int fd() const override { return fd_.get(); }
  const PeerIdentity& peer() const { return peer_; }
  // The context that verified the peer.
  const Context* context() const { return ctx_.get(); }
  // "TLSv1.3 TLS13-AES128-GCM-SHA256": what the handshake agreed on.
  std::string cipher() const;

  IoResult read(char* buf, std::size_t len) override;
  // After kWouldBlock the caller must retry with the same bytes.
  IoResult write(const char* buf, std::size_t len) override;
  // Bytes poll() cannot see: decrypted inside wolfSSL, or read from the
  // socket ahead of wolfSSL's asking.
  bool has_pending() const override;
  // Records made by write() and not yet taken by the kernel.
  std::size_t unsent() const override;
  IoResult flush_unsent() override;
  void discard_unsent() override;
  // Sends close_notify once (best effort, never blocks long).
  void shutdown() override;
  // The server's alert, when it sent one, for people: "the server refused
  // this certificate (revoked)".
  std::optional<std::string> describe_alert() const;

 private:
  friend class ServerHandshake;
  struct ReadAhead;
  struct WriteBehind;
  Connection(std::shared_ptr<Context> ctx, SslPtr ssl, util::UniqueFd fd);
  IoResult failure(int err) const;
  // Frees the TLS session and hands over the socket, open, to the caller.
  util::UniqueFd release_socket();

  // Destroyed bottom-up: the WOLFSSL first, then what it uses.
  std::shared_ptr<Context> ctx_;
  util::UniqueFd fd_;
  // wolfSSL's I/O contexts: their addresses must not move.
  std::unique_ptr<ReadAhead> rx_;
  std::unique_ptr<WriteBehind> tx_;
  SslPtr ssl_;
  bool shut_ = false;
  PeerIdentity peer_;
};

// The server's side of one handshake, moved on by the caller's poll loop: it
// never blocks, so one thread can carry many handshakes at once (trexd's
// handshake stage, where a silent client costs a descriptor, not a thread).
// Move-only; owns the socket until finish() hands it on or take_socket().
class ServerHandshake {
 public:
  // Takes ownership of `fd` (closed on destruction) and makes it non-blocking.
  ServerHandshake(std::shared_ptr<Context> ctx, int fd);
  ServerHandshake(ServerHandshake&&) noexcept;
  ServerHandshake& operator=(ServerHandshake&&) noexcept;
  ~ServerHandshake();
  int fd() const;
  // Goes as far as the socket allows: the poll events to wait for (POLLIN
  // or POLLOUT), or 0 once the handshake has ended (then call finish()).
  short step();
  // The authenticated client's connection, or why it was refused (the alert
  // or error frame is on its way: take_socket() and drain it before closing).
  std::variant<Connection, HandshakeError> finish();
  // The socket, still open, of a refused or abandoned handshake; none if none.
  util::UniqueFd take_socket();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A certificate file looked at on its own (for --check-config and the
// client's expiry warnings).
struct CertificateInfo {
  std::string subject_cn;
  std::vector<std::string> ou;
  std::vector<std::string> sans;  // "DNS:x" / "IP:y"
  std::chrono::system_clock::time_point not_before, not_after;
  bool client_auth = false, server_auth = false;
};
Result<CertificateInfo> inspect_certificate(const std::string& path);
// The CRL's nextUpdate (the first CRL of the file).
Result<std::chrono::system_clock::time_point> crl_next_update(const std::string& path);

// One CRL of --crl / --crl-dir, for --check-config and start-up warnings.
struct CrlInfo {
  std::string source;  // the file it is in
  std::string issuer;  // the CA that signed it (RFC 4514)
  std::chrono::system_clock::time_point this_update, next_update;
  bool superseded = false;  // a newer CRL of the same CA is used instead
};
// Every CRL in `file` (a PEM file may hold several) and in the *.pem and
// *.crl files of `dir`; either may be empty, not both.
Result<std::vector<CrlInfo>> read_crls(const std::string& file, const std::string& dir);
// Does the private key in `key` belong to the certificate in `cert`?
Status key_matches_certificate(const std::string& cert, const std::string& key);

// Maps a wolfSSL error code to the short reason used in logs and audit.
std::string reason_for_error(int code);

}  // namespace trex::tls

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "tls/crl.hpp"
#include "tls/verify.hpp"
#include "tls/wolfssl.hpp"
#include "trex/proto.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::tls {
namespace {

// AEAD suites only (TLS 1.3 has no others), fastest first: AES-GCM when
// wolfSSL was built with AES-NI (tools/wolfssl-asm.sh), else ChaCha20-Poly1305,
// about twice as fast as AES-GCM in the portable C of Debian's package.
#ifdef WOLFSSL_AESNI
constexpr const char* kCiphers =
    "TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES256-GCM-SHA384";
#else
constexpr const char* kCiphers =
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384";
#endif

// Readable by us? Say which file and why, before wolfSSL's opaque codes.
Status check_readable(const std::string& what, const std::string& path) {
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return make_error("cannot read " + what + " " + path + ": " + std::strerror(errno));
  return {};
}

// Why wolfSSL could not load `path`: unreadable (our words), else not what
// it should be.
Status load_failure(const std::string& what, const std::string& path, const char* expected) {
  if (auto st = check_readable(what, path); !st) return st;
  return make_error(what + " " + path + " is not a valid " + expected);
}

Status load_common(WOLFSSL_CTX* ctx, const std::string& ca, const std::string& cert,
                   const std::string& key, const char* role) {
  const std::string ca_what = "CA certificate";
  const std::string cert_what = std::string(role) + " certificate";
  const std::string key_what = std::string(role) + " key";
  for (auto [what, path] : {std::pair{&ca_what, &ca}, {&cert_what, &cert}, {&key_what, &key}}) {
    if (path->empty()) return make_error(*what + " file is not set");
  }
  // Readability is checked only on failure: every trex start loads these.
  if (wolfSSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != WOLFSSL_SUCCESS) {
    return load_failure(ca_what, ca, "PEM certificate");
  }
  if (wolfSSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != WOLFSSL_SUCCESS) {
    return load_failure(cert_what, cert, "PEM certificate");
  }
  if (wolfSSL_CTX_use_PrivateKey_file(ctx, key.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
    return load_failure(key_what, key, "PEM private key");
  }
  wolfSSL_CTX_set_cipher_list(ctx, kCiphers);
  int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  wolfSSL_CTX_set_groups(ctx, groups, 3);
  // Socket timeouts and non-blocking I/O need WANT_READ back, not retries.
  wolfSSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
  return {};
}

}  // namespace

Library::Library() { wolfSSL_Init(); }
Library::~Library() { wolfSSL_Cleanup(); }

void release_thread_caches() {
#ifdef FP_ECC
  wc_ecc_fp_free();
#endif
}

void CtxFree::operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
void SslFree::operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }

Result<std::shared_ptr<Context>> Context::server(const ServerFiles& files) {
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLSv1_3_server_method()));
  if (!ctx) return make_error("cannot create a TLS context (out of memory?)");
  if (auto st = load_common(ctx.get(), files.ca, files.cert, files.key, "server"); !st) {
    return st.error();
  }
  // Proven once per start and reload; a client learns of its own wrong key
  // from the server's refusal, without paying for a probe on every run.
  if (auto st = key_matches_certificate(files.cert, files.key); !st) return st.error();
  // The compatibility defaults verify nothing: require and verify a client
  // certificate explicitly.
  wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         verify_peer);
  if (auto st = load_crls(ctx.get(), {files.ca, files.crl, files.crl_dir, false}); !st) {
    return st.error();
  }
  // No tickets: a resumed session would skip the CRL check of the current list.
  wolfSSL_CTX_no_ticket_TLSv13(ctx.get());
  return std::shared_ptr<Context>(new Context(std::move(ctx), true));
}

Result<std::shared_ptr<Context>> Context::client(const ClientFiles& files) {
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
  if (!ctx) return make_error("cannot create a TLS context (out of memory?)");
  if (auto st = load_common(ctx.get(), files.ca, files.cert, files.key, "client"); !st) {
    return st.error();
  }
  wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
  // A lab machine whose key was stolen is revoked: with a CRL, trex refuses
  // it, and fails closed when the CRL is stale.
  if (!files.crl.empty()) {
    if (auto st = load_crls(ctx.get(), {files.ca, files.crl, "", true}); !st) return st.error();
  }
  return std::shared_ptr<Context>(new Context(std::move(ctx), false, files));
}

}  // namespace trex::tls

// Does a private key belong to a certificate? wolfSSL 5.5.4's own checks
// cannot tell for every key type (an EC key of another certificate passes
// wolfSSL_CTX_check_private_key here), so prove it: a TLS 1.3 handshake over
// a socketpair, whose CertificateVerify only verifies if they are a pair.
#include <sys/socket.h>

#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::tls {
namespace {

struct Handles {
  CtxPtr server_ctx, client_ctx;
  util::UniqueFd fds[2];
  SslPtr server, client;  // freed before the contexts and sockets they use
};

bool pending(WOLFSSL* ssl, int ret) {
  const int err = wolfSSL_get_error(ssl, ret);
  return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
}

}  // namespace

Status key_matches_certificate(const std::string& cert, const std::string& key) {
  Handles h;
  h.server_ctx.reset(wolfSSL_CTX_new(wolfTLSv1_3_server_method()));
  h.client_ctx.reset(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
  if (h.server_ctx == nullptr || h.client_ctx == nullptr) return make_error("out of memory");
  if (wolfSSL_CTX_use_certificate_chain_file(h.server_ctx.get(), cert.c_str()) != WOLFSSL_SUCCESS) {
    return make_error("cannot read certificate " + cert);
  }
  if (wolfSSL_CTX_use_PrivateKey_file(h.server_ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM) !=
      WOLFSSL_SUCCESS) {
    return make_error("cannot read private key " + key);
  }
  // Only the signature matters here, not who issued the certificate.
  wolfSSL_CTX_set_verify(h.server_ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_set_verify(h.client_ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
    return make_error("socketpair failed");
  }
  h.fds[0].reset(fds[0]);
  h.fds[1].reset(fds[1]);
  h.server.reset(wolfSSL_new(h.server_ctx.get()));
  h.client.reset(wolfSSL_new(h.client_ctx.get()));
  if (h.server == nullptr || h.client == nullptr) return make_error("out of memory");
  wolfSSL_set_fd(h.server.get(), fds[0]);
  wolfSSL_set_fd(h.client.get(), fds[1]);
  bool server_done = false, client_done = false;
  for (int round = 0; round < 64 && !(server_done && client_done); ++round) {
    if (!client_done) {
      const int r = wolfSSL_connect(h.client.get());
      if (r == WOLFSSL_SUCCESS)
        client_done = true;
      else if (!pending(h.client.get(), r))
        break;
    }
    if (!server_done) {
      const int r = wolfSSL_accept(h.server.get());
      if (r == WOLFSSL_SUCCESS)
        server_done = true;
      else if (!pending(h.server.get(), r))
        break;
    }
  }
  if (!(server_done && client_done)) {
    return make_error("key " + key + " does not belong to certificate " + cert);
  }
  return {};
}

}  // namespace trex::tls

// Private: what the server's verify callback learns about a peer's chain.
// wolfSSL reports a chain's failure by the leaf's code (a revoked or
// unchecked intermediate ends as "unknown CA"); the callback sees each
// certificate's own failure first, with the certificate, and keeps it.
#pragma once

#include <optional>
#include <string>

#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {

// Lives on the accepting thread's stack for one handshake (ex_data slot 0).
struct VerifyNote {
  std::optional<PeerIdentity> claimed;  // the leaf, once verification failed
  int code = 0;                         // the first failure (a wolfSSL error code)
  int depth = -1;                       // where: 0 is the leaf
  std::string subject, issuer;          // of the certificate that failed
  // The leaf failed in a way no TLS alert names (wolfSSL would send
  // bad_certificate): its CA has no current CRL (the server's own problem)
  // or its key usage is wrong. The callback lets the handshake finish so
  // that an error frame can say which; accept() must then refuse.
  bool refuse_after_handshake = false;
};

// The error frame's words for such a refusal.
std::string refusal_message(const VerifyNote& note);

// Fills the note's subject and issuer from a DER certificate.
void note_names(VerifyNote& note, const unsigned char* der, std::size_t len);

int verify_peer(int preverify, WOLFSSL_X509_STORE_CTX* store);

// Keeps the first failure of a chain (and the leaf as claimed) in `note`:
// for a callback that saw preverify fail.
void note_failure(VerifyNote& note, WOLFSSL_X509_STORE_CTX* store);

// wolfSSL's error code as a handshake failure kind.
HandshakeFailure failure_for_error(int code);

// Puts the first failure the callback saw into `e` (kind, and the CA at
// fault in its context), so that e.reason() reads "revoked: CA certificate
// 'CN=Lab Issuing CA'" or "no current CRL for CA '...'". No-op without one.
void describe_failure(const VerifyNote& note, HandshakeError& e);

}  // namespace trex::tls

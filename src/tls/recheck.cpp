// A live session's chain checked again by a context made at reload: the
// chain verified at its handshake, but its certificate may since have been
// revoked (a new CRL) or have expired, or its CA dropped from --ca.
#include "tls/verify.hpp"
#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {
namespace {

int verify_der(WOLFSSL_CERT_MANAGER* cm, const std::string& der) {
  return wolfSSL_CertManagerVerifyBuffer(cm, reinterpret_cast<const unsigned char*>(der.data()),
                                         static_cast<long>(der.size()), WOLFSSL_FILETYPE_ASN1);
}

HandshakeError refusal(int code, const std::string& der, int depth, const PeerIdentity& peer) {
  VerifyNote note;
  note.code = code;
  note.depth = depth;
  note_names(note, reinterpret_cast<const unsigned char*>(der.data()), der.size());
  HandshakeError e{HandshakeFailure::kOther, "recheck: " + reason_for_error(code), peer, {}};
  describe_failure(note, e);
  return e;
}

// Only a CA certificate may be trusted for the next one down: a handshake
// adds nothing else to the context either.
bool is_ca(const std::string& der) {
  const ParsedCert cert(der.data(), der.size());
  return cert.ok() && cert.get().isCA != 0;
}

}  // namespace

std::optional<HandshakeError> Context::recheck(const PeerIdentity& peer) const {
  WOLFSSL_CERT_MANAGER* cm = wolfSSL_CTX_GetCertManager(ctx_.get());
  if (cm == nullptr || peer.chain.empty()) {
    return HandshakeError{HandshakeFailure::kNoCertificate, "recheck: no chain", peer, {}};
  }
  // From the top down, as a handshake does: each CA certificate the peer
  // sent is checked (signature, dates, its CA's CRL), then trusted for the
  // next one down. One whose signer is unknown is not on the path (a peer may
  // send extra certificates); the leaf must verify in full.
  for (auto i = peer.chain.size() - 1; i > 0; --i) {
    const auto& der = peer.chain[i];
    const int ret = verify_der(cm, der);
    if (ret == ASN_NO_SIGNER_E || !is_ca(der)) continue;
    if (ret != WOLFSSL_SUCCESS) return refusal(ret, der, static_cast<int>(i), peer);
    // A handshake presenting this chain adds the same CA to the context.
    wolfSSL_CertManagerLoadCABuffer(cm, reinterpret_cast<const unsigned char*>(der.data()),
                                    static_cast<long>(der.size()), WOLFSSL_FILETYPE_ASN1);
  }
  const int ret = verify_der(cm, peer.chain[0]);
  if (ret != WOLFSSL_SUCCESS) return refusal(ret, peer.chain[0], 0, peer);
  return std::nullopt;
}

}  // namespace trex::tls

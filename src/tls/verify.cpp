#include "tls/verify.hpp"

#include "tls/identity.hpp"
#include "tls/x509_name.hpp"

namespace trex::tls {
namespace {

// The callback's codes are OpenSSL's X509_V_ERR_* where wolfSSL has a
// translation and wolfSSL's own (negative) codes elsewhere.
int wolfssl_code(int x509_or_wolfssl) {
  switch (x509_or_wolfssl) {
    case 13:  // X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD
      return ASN_BEFORE_DATE_E;
    case 14:  // X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD
      return ASN_AFTER_DATE_E;
    case 18:  // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    case 20:  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
      return ASN_NO_SIGNER_E;
    case 25:  // X509_V_ERR_PATH_LENGTH_EXCEEDED
      return ASN_PATHLEN_INV_E;
    case 7:  // X509_V_ERR_CERT_SIGNATURE_FAILURE
      return ASN_SIG_CONFIRM_E;
    default:
      return x509_or_wolfssl;
  }
}

}  // namespace

void note_names(VerifyNote& note, const unsigned char* der, std::size_t len) {
  const ParsedCert cert(der, len);
  if (!cert.ok()) return;
  const DecodedCert& dc = cert.get();
  note.subject = name_text(dc.subjectRaw, static_cast<std::size_t>(dc.subjectRawLen));
  note.issuer = name_text(dc.issuerRaw, static_cast<std::size_t>(dc.issuerRawLen));
}

void note_failure(VerifyNote& note, WOLFSSL_X509_STORE_CTX* store) {
  if (store->certs == nullptr || store->totalCerts <= 0) return;
  const int depth = store->error_depth;
  if (!note.claimed) {
    note.claimed = identity_from_der(store->certs[0].buffer, store->certs[0].length, nullptr);
  }
  if (note.code != 0 || depth < 0 || depth >= store->totalCerts) return;
  note.code = wolfssl_code(store->error);
  note.depth = depth;
  note_names(note, store->certs[depth].buffer, store->certs[depth].length);
}

int verify_peer(int preverify, WOLFSSL_X509_STORE_CTX* store) {
  if (preverify) return preverify;
  auto* ssl = static_cast<WOLFSSL*>(
      wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* note = ssl ? static_cast<VerifyNote*>(wolfSSL_get_ex_data(ssl, 0)) : nullptr;
  if (note == nullptr) return preverify;
  const bool first = note->code == 0;
  note_failure(*note, store);
  // Only at the leaf: a CA certificate accepted here would be added to the
  // context's trust store. The leaf is checked in full otherwise; accept()
  // refuses the session once the handshake is over.
  if (first && note->depth == 0 && (note->code == CRL_MISSING || note->code == EXTKEYUSE_AUTH_E)) {
    note->refuse_after_handshake = true;
    return 1;
  }
  return preverify;
}

void describe_failure(const VerifyNote& note, HandshakeError& e) {
  if (note.code == 0) return;
  e.kind = note.code == ASN_PATHLEN_INV_E ? HandshakeFailure::kCaConstraint
                                          : failure_for_error(note.code);
  if (e.kind == HandshakeFailure::kOther) {
    e.context = reason_for_error(note.code);
  } else if (e.kind == HandshakeFailure::kNoValidCrl) {
    e.context = note.issuer;
  } else {
    e.context = note.depth > 0 ? note.subject : "";
  }
}

std::string refusal_message(const VerifyNote& note) {
  if (note.code == CRL_MISSING) {
    HandshakeError e;
    describe_failure(note, e);
    return "the server cannot check this certificate's revocation: it has " + e.reason() +
           " (a problem on the server: its operator must install a current CRL of that CA)";
  }
  return "the server refused this certificate (wrong key usage: it is not made for client "
         "authentication, its extended key usage lacks clientAuth)";
}

}  // namespace trex::tls

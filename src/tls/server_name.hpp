// Private: the client's check that the server's certificate names the host
// it connected to, by the rule of trex/host.hpp. Not wolfSSL_check_domain_name:
// it compares an IP literal with IP SANs as text, and lets DNS SANs and the
// CN stand for addresses and names alike.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tls/verify.hpp"
#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {

// Installed on one client WOLFSSL (its verify callback and ex_data slot 0)
// for the life of this object, which must span the handshake. This wolfSSL
// build (WOLFSSL_ALWAYS_VERIFY_CB) calls the callback for the server's leaf
// on success too, so a leaf that does not name the host fails the handshake
// before the client's certificate is sent.
class ServerNameCheck {
 public:
  ServerNameCheck(WOLFSSL* ssl, const std::string& host);
  ~ServerNameCheck();
  ServerNameCheck(const ServerNameCheck&) = delete;
  ServerNameCheck& operator=(const ServerNameCheck&) = delete;

  // After a failed handshake: the mismatch, when the callback refused the leaf.
  std::optional<HandshakeError> refusal() const;
  // After a finished handshake: the rule again on the verified leaf, in case
  // a wolfSSL build skipped the callback on success.
  std::optional<HandshakeError> recheck(const PeerIdentity& peer) const;
  // After a failed handshake: the chain's first failure (a revoked CA names
  // that CA, where wolfSSL's code would say "unknown CA").
  void describe_chain_failure(HandshakeError& e) const { describe_failure(chain_, e); }

 private:
  static int callback(int preverify, WOLFSSL_X509_STORE_CTX* store);
  HandshakeError mismatch(const std::optional<std::vector<std::string>>& sans,
                          std::optional<PeerIdentity> peer) const;

  WOLFSSL* ssl_;
  const std::string& host_;
  bool refused_ = false;
  std::optional<std::vector<std::string>> sans_;  // of the refused leaf
  VerifyNote chain_;
};

}  // namespace trex::tls

#include "tls/server_name.hpp"

#include "tls/identity.hpp"
#include "trex/host.hpp"

namespace trex::tls {
namespace {

// The subject alternative names of the leaf the handshake saw.
std::optional<std::vector<std::string>> peer_sans(WOLFSSL* ssl) {
  WOLFSSL_X509_CHAIN* chain = wolfSSL_get_peer_chain(ssl);
  if (chain == nullptr || wolfSSL_get_chain_count(chain) < 1) return std::nullopt;
  auto info = info_from_der(wolfSSL_get_chain_cert(chain, 0),
                            static_cast<std::size_t>(wolfSSL_get_chain_length(chain, 0)));
  if (!info) return std::nullopt;
  return std::move(info->sans);
}

// For the user: which names the server's certificate has instead.
std::string describe_sans(const std::optional<std::vector<std::string>>& sans) {
  if (!sans) return "its certificate cannot be read";
  if (sans->empty()) return "its certificate has no subject alternative names";
  std::string out = "its certificate names ";
  for (std::size_t i = 0; i < sans->size(); ++i) out += (i ? ", " : "") + (*sans)[i];
  return out;
}

}  // namespace

ServerNameCheck::ServerNameCheck(WOLFSSL* ssl, const std::string& host) : ssl_(ssl), host_(host) {
  wolfSSL_set_ex_data(ssl_, 0, this);
  wolfSSL_set_verify(ssl_, WOLFSSL_VERIFY_PEER, &ServerNameCheck::callback);
}

ServerNameCheck::~ServerNameCheck() { wolfSSL_set_ex_data(ssl_, 0, nullptr); }

// Whatever the chain check decided otherwise stands.
int ServerNameCheck::callback(int preverify, WOLFSSL_X509_STORE_CTX* store) {
  auto* ssl = static_cast<WOLFSSL*>(
      wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<ServerNameCheck*>(wolfSSL_get_ex_data(ssl, 0)) : nullptr;
  if (!preverify) {
    if (self != nullptr) note_failure(self->chain_, store);
    return preverify;
  }
  if (self == nullptr || store->error_depth != 0) return preverify;  // recheck() still runs
  std::optional<std::vector<std::string>> sans;
  if (store->totalCerts > 0 && store->certs != nullptr) {
    auto info = info_from_der(store->certs[0].buffer, store->certs[0].length);
    if (info) sans = std::move(info->sans);
  }
  if (sans && host::certificate_names_host(self->host_, *sans)) return 1;
  self->refused_ = true;
  self->sans_ = std::move(sans);
  return 0;
}

std::optional<HandshakeError> ServerNameCheck::refusal() const {
  if (!refused_) return std::nullopt;
  return mismatch(sans_, std::nullopt);
}

std::optional<HandshakeError> ServerNameCheck::recheck(const PeerIdentity& peer) const {
  const auto sans = peer_sans(ssl_);
  if (sans && host::certificate_names_host(host_, *sans)) return std::nullopt;
  return mismatch(sans, peer);
}

HandshakeError ServerNameCheck::mismatch(const std::optional<std::vector<std::string>>& sans,
                                         std::optional<PeerIdentity> peer) const {
  const HandshakeFailure kind =
      host::parse_ip(host_) ? HandshakeFailure::kIpMismatch : HandshakeFailure::kNameMismatch;
  return HandshakeError{kind, describe_sans(sans), std::move(peer), {}};
}

}  // namespace trex::tls

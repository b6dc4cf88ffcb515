// Private: reading identities out of DER certificates.
#pragma once

#include <cstddef>
#include <optional>

#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {

// Decodes a DER certificate; `client_auth` receives whether its EKU has clientAuth.
std::optional<PeerIdentity> identity_from_der(const unsigned char* der, std::size_t len,
                                              bool* client_auth);
// What a DER certificate says (names, SANs, dates); nullopt when it cannot be decoded.
std::optional<CertificateInfo> info_from_der(const unsigned char* der, std::size_t len);

}  // namespace trex::tls

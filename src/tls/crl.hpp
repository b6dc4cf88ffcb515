// Private: CRLs and CA names as trexd loads them into a server context.
#pragma once

#include <string>
#include <vector>

#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {

// One CRL block as read from disk.
struct CrlBlob {
  CrlInfo info;
  std::string der;
  std::string issuer_key;  // the issuer Name's DER contents
};
Result<std::vector<CrlBlob>> read_crl_blobs(const std::string& file, const std::string& dir);

// A CA certificate of --ca (which may hold several).
struct CaName {
  std::string subject;      // RFC 4514
  std::string subject_key;  // the subject Name's DER contents
};
Result<std::vector<CaName>> read_ca_names(const std::string& path);

// Loads every current CRL into `ctx` with checking of every CA in a chain
// (fail closed). Each CA of `files.ca` needs a CRL; CRLs of other CAs
// (intermediates that peers present) are checked against their CA's key at
// first use, since that CA is known only once a peer presents it.
Status load_crls(WOLFSSL_CTX* ctx, const ServerFiles& files);

}  // namespace trex::tls

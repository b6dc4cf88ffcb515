// Private: CRLs and CA names as trexd (and trex with --crl) load them into a context.
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
// (fail closed). Each CA of `ca` needs a CRL; CRLs of other CAs
// (intermediates that peers present) are checked against their CA's key at
// first use, since that CA is known only once a peer presents it.
struct CrlSource {
  std::string ca, crl, crl_dir;
  bool client = false;  // trex checking a server (words its errors for that side)
};
Status load_crls(WOLFSSL_CTX* ctx, const CrlSource& source);

}  // namespace trex::tls

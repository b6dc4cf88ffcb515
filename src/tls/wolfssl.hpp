// Private: the wolfSSL headers in the one order that works.
#pragma once

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/ecc.h>
// clang-format on

#include <cstddef>
#include <memory>

namespace trex::tls {

// The owners of wolfSSL's objects that src/tls uses inside one function
// (Context and Connection own theirs: CtxPtr, SslPtr in trex/tls.hpp).
struct X509Free {
  void operator()(WOLFSSL_X509* x) const { wolfSSL_X509_free(x); }
};
using X509Ptr = std::unique_ptr<WOLFSSL_X509, X509Free>;
struct CrlFree {
  void operator()(WOLFSSL_X509_CRL* crl) const { wolfSSL_X509_CRL_free(crl); }
};
using CrlPtr = std::unique_ptr<WOLFSSL_X509_CRL, CrlFree>;
struct DerFree {
  void operator()(DerBuffer* der) const { wc_FreeDer(&der); }
};
using DerPtr = std::unique_ptr<DerBuffer, DerFree>;

// Owns one DecodedCert, parsed (not verified) from DER.
class ParsedCert {
 public:
  ParsedCert(const void* der, std::size_t len) {
    wc_InitDecodedCert(&dc_, static_cast<const byte*>(der), static_cast<word32>(len), nullptr);
    ok_ = len > 0 && wc_ParseCert(&dc_, CERT_TYPE, NO_VERIFY, nullptr) == 0;
  }
  ~ParsedCert() { wc_FreeDecodedCert(&dc_); }
  ParsedCert(const ParsedCert&) = delete;
  ParsedCert& operator=(const ParsedCert&) = delete;
  bool ok() const { return ok_; }
  const DecodedCert& get() const { return dc_; }

 private:
  DecodedCert dc_{};
  bool ok_ = false;
};

}  // namespace trex::tls

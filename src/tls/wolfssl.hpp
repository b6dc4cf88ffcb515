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

#include <memory>

namespace trex::tls {

struct X509Free {
  void operator()(WOLFSSL_X509* x) const { wolfSSL_X509_free(x); }
};
using X509Ptr = std::unique_ptr<WOLFSSL_X509, X509Free>;

}  // namespace trex::tls

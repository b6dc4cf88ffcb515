// tls's typed errors: callers branch on the kind; the text (logs, auth_fail
// records, the client's messages) is derived from it.
#include <gtest/gtest.h>

#include "tls/wolfssl.hpp"
#include "trex/tls.hpp"

namespace trex::tls {
namespace {

TEST(HandshakeError, ReasonFollowsTheKind) {
  EXPECT_EQ((HandshakeError{HandshakeFailure::kTimeout, {}, {}, {}}).reason(), "timeout");
  EXPECT_EQ((HandshakeError{HandshakeFailure::kRevoked, {}, {}, {}}).reason(), "revoked");
  EXPECT_EQ((HandshakeError{HandshakeFailure::kNoAlpn, {}, {}, {}}).reason(), "no ALPN trex/1");
  EXPECT_EQ((HandshakeError{HandshakeFailure::kPeerAlert, {}, {}, "unknown CA"}).reason(),
            "peer sent alert: unknown CA");
  EXPECT_EQ((HandshakeError{HandshakeFailure::kKeyMismatch, {}, {}, "key does not match"}).reason(),
            "key does not match");
  EXPECT_TRUE((HandshakeError{HandshakeFailure::kIpMismatch, {}, {}, {}}).is_name_mismatch());
  EXPECT_TRUE((HandshakeError{HandshakeFailure::kNameMismatch, {}, {}, {}}).is_name_mismatch());
  EXPECT_FALSE((HandshakeError{HandshakeFailure::kExpired, {}, {}, {}}).is_name_mismatch());
}

TEST(HandshakeError, WolfsslCodesMapToReasons) {
  EXPECT_EQ(reason_for_error(CRL_CERT_REVOKED), "revoked");
  EXPECT_EQ(reason_for_error(ASN_AFTER_DATE_E), "expired");
  EXPECT_EQ(reason_for_error(DOMAIN_NAME_MISMATCH), "name mismatch");
  EXPECT_EQ(reason_for_error(IPADDR_MISMATCH), "IP address mismatch");
  // Codes without a kind keep wolfSSL's own words and the code.
  EXPECT_NE(reason_for_error(MEMORY_E).find(std::to_string(MEMORY_E)), std::string::npos);
}

}  // namespace
}  // namespace trex::tls

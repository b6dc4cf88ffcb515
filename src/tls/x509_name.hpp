// Private: reading DER by hand where wolfSSL's X509 layer cannot (Ed25519
// certificates in this build) and printing X.509 names for people.
#pragma once

#include <cstddef>
#include <string>

namespace trex::tls {

// One DER element at p (before end): its tag and contents; p moves past it.
// False when the element is truncated or its length is not one we read.
bool der_element(const unsigned char*& p, const unsigned char* end, unsigned char& tag,
                 const unsigned char*& value, std::size_t& len);

// An X.509 Name (with or without its SEQUENCE header) as RFC 4514 text, the
// way `openssl -nameopt RFC2253` prints it: "CN=Lab Issuing CA,O=Lab".
// Unknown attributes print as OID=#hex; a name that cannot be walked as
// "(unreadable name)".
std::string name_text(const unsigned char* der, std::size_t len);

// The same Name's contents without the SEQUENCE header (for comparing names
// byte for byte); empty when malformed.
std::string name_key(const unsigned char* der, std::size_t len);

}  // namespace trex::tls

// Certificates are decoded with wolfCrypt's DecodedCert, not the X509
// compatibility layer: in this wolfSSL build the latter cannot decode
// certificates with Ed25519 keys (our default), while the TLS stack can.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

#include "tls/identity.hpp"
#include "tls/wolfssl.hpp"
#include "tls/x509_name.hpp"
#include "util/file.hpp"
#include "util/time.hpp"
#include "util/unique_file.hpp"

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

namespace trex::tls {
namespace {

// A certificate file holds a certificate or a chain of a few: KiBs.
constexpr std::size_t kMaxPemBytes = 1 << 20;

// Serials print upper-case like openssl and tools/pki; digests lower-case
// like every other hash in the audit trail.
std::string hex(const unsigned char* p, std::size_t n, bool upper) {
  const char* kDigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

// A certificate's date as calendar fields; the epoch when it cannot be read.
std::tm calendar_time(const byte* date, int len) {
  const byte* value = nullptr;
  byte format = 0;
  int value_len = 0;
  struct tm tm {};
  if (date == nullptr || len <= 0 || wc_GetDateInfo(date, len, &value, &format, &value_len) != 0 ||
      wc_GetDateAsCalendarTime(value, value_len, format, &tm) != 0) {
    tm = {};
    tm.tm_year = 70;
    tm.tm_mday = 1;
  }
  return tm;
}

std::chrono::system_clock::time_point to_time_point(const byte* date, int len) {
  return util::from_utc(calendar_time(date, len));
}

bool is_text(byte tag) {  // UTF8String, PrintableString, T61String, IA5String
  return tag == 0x0c || tag == 0x13 || tag == 0x14 || tag == 0x16;
}

// Every OU of the subject, in order. DecodedCert keeps only the last one, so
// walk the subject name: SEQUENCE OF SET OF SEQUENCE { OID, value }.
// nullopt when the name cannot be walked.
std::optional<std::vector<std::string>> subject_ous(const DecodedCert& dc) {
  if (dc.subjectRaw == nullptr || dc.subjectRawLen <= 0) return std::nullopt;
  const byte* p = dc.subjectRaw;
  const byte* end = p + dc.subjectRawLen;
  byte tag = 0;
  const byte* v = nullptr;
  std::size_t n = 0;
  if (*p == 0x30) {  // the Name's own header, when wolfCrypt points at it
    if (!der_element(p, end, tag, v, n)) return std::nullopt;
    p = v;
    end = v + n;
  }
  std::vector<std::string> ous;
  while (p < end) {
    const byte* set = nullptr;
    std::size_t set_len = 0;
    if (!der_element(p, end, tag, set, set_len) || tag != 0x31) return std::nullopt;
    for (const byte* q = set; q < set + set_len;) {
      const byte* atv = nullptr;
      std::size_t atv_len = 0;
      if (!der_element(q, set + set_len, tag, atv, atv_len) || tag != 0x30) return std::nullopt;
      const byte* r = atv;
      const byte *oid = nullptr, *value = nullptr;
      std::size_t oid_len = 0, value_len = 0;
      byte value_tag = 0;
      if (!der_element(r, atv + atv_len, tag, oid, oid_len) || tag != 0x06 ||
          !der_element(r, atv + atv_len, value_tag, value, value_len)) {
        return std::nullopt;
      }
      static constexpr byte kOu[] = {0x55, 0x04, 0x0b};  // 2.5.4.11
      if (oid_len == sizeof(kOu) && std::equal(kOu, kOu + sizeof(kOu), oid) && is_text(value_tag)) {
        ous.emplace_back(reinterpret_cast<const char*>(value), value_len);
      }
    }
  }
  return ous;
}

CertificateInfo info_of(const DecodedCert& dc) {
  CertificateInfo info;
  if (dc.subjectCN != nullptr && dc.subjectCNLen > 0) {
    info.subject_cn.assign(dc.subjectCN, static_cast<std::size_t>(dc.subjectCNLen));
  }
  if (auto ous = subject_ous(dc)) {
    info.ou = std::move(*ous);
  } else if (dc.subjectOU != nullptr && dc.subjectOULen > 0) {
    info.ou.emplace_back(dc.subjectOU, static_cast<std::size_t>(dc.subjectOULen));
  }
  info.not_before = to_time_point(dc.beforeDate, dc.beforeDateLen);
  info.not_after = to_time_point(dc.afterDate, dc.afterDateLen);
  info.client_auth = (dc.extExtKeyUsage & EXTKEYUSE_CLIENT_AUTH) != 0;
  info.server_auth = (dc.extExtKeyUsage & EXTKEYUSE_SERVER_AUTH) != 0;
  for (const DNS_entry* e = dc.altNames; e != nullptr; e = e->next) {
    if (e->type == ASN_DNS_TYPE && e->name != nullptr) {
      info.sans.push_back("DNS:" + std::string(e->name, static_cast<std::size_t>(e->len)));
    } else if (e->type == ASN_IP_TYPE && e->name != nullptr) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (e->len == 4) inet_ntop(AF_INET, e->name, buf, sizeof(buf));
      if (e->len == 16) inet_ntop(AF_INET6, e->name, buf, sizeof(buf));
      info.sans.push_back(std::string("IP:") + buf);
    }
  }
  return info;
}

}  // namespace

std::optional<PeerIdentity> identity_from_der(const unsigned char* der, std::size_t len,
                                              bool* client_auth) {
  if (der == nullptr || len == 0) return std::nullopt;
  const ParsedCert d(der, len);
  if (!d.ok()) return std::nullopt;
  const auto info = info_of(d.get());
  PeerIdentity id;
  id.cn = info.subject_cn;
  id.ou = info.ou;
  id.serial = hex(d.get().serial, static_cast<std::size_t>(d.get().serialSz), true);
  id.issuer = name_text(d.get().issuerRaw, static_cast<std::size_t>(d.get().issuerRawLen));
  byte digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(der, static_cast<word32>(len), digest) == 0) {
    id.fingerprint = hex(digest, sizeof(digest), false);
  }
  // From the certificate's own date, not info.not_after: a time point stops
  // at 2262, and the trail must say the date the certificate carries.
  id.not_after = util::rfc3339_utc_seconds(
      util::utc_seconds(calendar_time(d.get().afterDate, d.get().afterDateLen)));
  if (client_auth != nullptr) *client_auth = info.client_auth;
  return id;
}

std::optional<CertificateInfo> info_from_der(const unsigned char* der, std::size_t len) {
  if (der == nullptr || len == 0) return std::nullopt;
  const ParsedCert d(der, len);
  if (!d.ok()) return std::nullopt;
  return info_of(d.get());
}

Result<CertificateInfo> inspect_certificate(const std::string& path) {
  const auto pem = util::read_file(path, kMaxPemBytes);
  if (!pem.ok()) return make_error("cannot read certificate " + path + ": " + pem.message());
  std::string der(pem.text.size(), '\0');
  const int n = wc_CertPemToDer(
      reinterpret_cast<const unsigned char*>(pem.text.data()), static_cast<int>(pem.text.size()),
      reinterpret_cast<unsigned char*>(der.data()), static_cast<int>(der.size()), CERT_TYPE);
  if (n <= 0) return make_error("certificate " + path + " is not a PEM certificate");
  const ParsedCert d(der.data(), static_cast<std::size_t>(n));
  if (!d.ok()) return make_error("certificate " + path + " cannot be parsed");
  return info_of(d.get());
}

Result<std::chrono::system_clock::time_point> crl_next_update(const std::string& path) {
  const util::UniqueFile f(std::fopen(path.c_str(), "re"));
  if (!f) return make_error("cannot read CRL " + path);
  const CrlPtr crl(wolfSSL_PEM_read_X509_CRL(f.get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) return make_error("CRL " + path + " is not a PEM CRL");
  const WOLFSSL_ASN1_TIME* t = wolfSSL_X509_CRL_get_nextUpdate(crl.get());
  struct tm tm {};
  const bool ok = t != nullptr && wolfSSL_ASN1_TIME_to_tm(t, &tm) == WOLFSSL_SUCCESS;
  if (!ok) return make_error("CRL " + path + " has no nextUpdate");
  return util::from_utc(tm);
}

}  // namespace trex::tls

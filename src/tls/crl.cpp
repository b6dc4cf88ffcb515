// CRLs are split and read here rather than by wolfSSL's file loader: it loads
// only the first CRL of a PEM file, and it refuses (with VERIFY) the CRL of
// an intermediate CA that is not in the trust store, which is the usual case:
// the intermediate arrives in the peer's chain.
#include "tls/crl.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "tls/x509_name.hpp"
#include "util/file.hpp"
#include "util/time.hpp"
#include "util/unique_file.hpp"

#include <wolfssl/wolfcrypt/asn_public.h>

namespace trex::tls {
namespace {

using Clock = std::chrono::system_clock;

// A CRL of a CA that revoked a million certificates is about 40 MiB.
constexpr std::size_t kMaxPemBytes = 256 << 20;

Result<std::string> slurp(const std::string& path, const std::string& what) {
  auto file = util::read_file(path, kMaxPemBytes);
  if (!file.ok()) return make_error("cannot read " + what + " " + path + ": " + file.message());
  return std::move(file.text);
}

// Each "-----BEGIN <label>-----" ... "-----END <label>-----" block.
std::vector<std::string> pem_blocks(const std::string& text, const std::string& label) {
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  std::vector<std::string> out;
  for (std::size_t at = text.find(begin); at != std::string::npos; at = text.find(begin, at)) {
    const auto stop = text.find(end, at);
    if (stop == std::string::npos) break;
    out.push_back(text.substr(at, stop + end.size() - at) + "\n");
    at = stop + end.size();
  }
  return out;
}

std::string pem_to_der(const std::string& pem, int type) {
  DerBuffer* raw = nullptr;
  const int ret = wc_PemToDer(reinterpret_cast<const unsigned char*>(pem.data()),
                              static_cast<long>(pem.size()), type, &raw, nullptr, nullptr, nullptr);
  const DerPtr der(raw);
  if (ret != 0 || der == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(der->buffer), der->length);
}

bool read_time(const unsigned char*& p, const unsigned char* end, Clock::time_point& out) {
  unsigned char tag = 0;
  const unsigned char* v = nullptr;
  std::size_t n = 0;
  if (!der_element(p, end, tag, v, n) || (tag != ASN_UTC_TIME && tag != ASN_GENERALIZED_TIME)) {
    return false;
  }
  struct tm tm {};
  if (wc_GetDateAsCalendarTime(v, static_cast<int>(n), tag, &tm) != 0) return false;
  out = util::from_utc(tm);
  return true;
}

// CertificateList ::= SEQUENCE { TBSCertList ::= SEQUENCE { version INTEGER
// OPTIONAL, signature AlgorithmIdentifier, issuer Name, thisUpdate Time,
// nextUpdate Time OPTIONAL, ... }, ... }
Status parse_crl(CrlBlob& b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.der.data());
  const unsigned char* end = p + b.der.size();
  unsigned char tag = 0;
  const unsigned char* v = nullptr;
  std::size_t n = 0;
  if (!der_element(p, end, tag, v, n) || tag != 0x30) return make_error("not a CRL");
  p = v;
  if (!der_element(p, v + n, tag, v, n) || tag != 0x30) return make_error("not a CRL");
  p = v;
  end = v + n;
  if (!der_element(p, end, tag, v, n)) return make_error("truncated");
  if (tag == 0x02 && !der_element(p, end, tag, v, n)) return make_error("truncated");
  const unsigned char* name = p;
  if (!der_element(p, end, tag, v, n) || tag != 0x30) return make_error("no issuer");
  b.info.issuer = name_text(name, static_cast<std::size_t>(p - name));
  b.issuer_key = name_key(name, static_cast<std::size_t>(p - name));
  if (!read_time(p, end, b.info.this_update)) return make_error("no thisUpdate");
  if (!read_time(p, end, b.info.next_update)) return make_error("no nextUpdate");
  return {};
}

Status read_crl_file(const std::string& path, std::vector<CrlBlob>& out) {
  auto text = slurp(path, "CRL");
  if (!text) return text.error();
  const auto blocks = pem_blocks(*text, "X509 CRL");
  if (blocks.empty()) return make_error("CRL " + path + " is not a PEM CRL (no X509 CRL block)");
  int index = 0;
  for (const auto& pem : blocks) {
    ++index;
    const std::string where =
        "CRL " + path + (blocks.size() > 1 ? " (CRL " + std::to_string(index) + ")" : "");
    CrlBlob b;
    b.info.source = path;
    b.der = pem_to_der(pem, CRL_TYPE);
    if (b.der.empty()) return make_error(where + " is not valid PEM");
    if (auto st = parse_crl(b); !st) return make_error(where + " cannot be read: " + st.message());
    out.push_back(std::move(b));
  }
  return {};
}

// The *.pem and *.crl files of `dir`, sorted.
Result<std::vector<std::string>> crl_files_in(const std::string& dir) {
  const util::UniqueDir d(::opendir(dir.c_str()));
  if (!d) return make_error("cannot read CRL directory " + dir);
  std::vector<std::string> files;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    const auto ext = name.size() > 4 ? name.substr(name.size() - 4) : "";
    if (name[0] == '.' || (ext != ".pem" && ext != ".crl")) continue;
    struct stat st {};
    const std::string path = dir + "/" + name;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return make_error("CRL directory " + dir + " holds no *.pem or *.crl file");
  return files;
}

std::string when(Clock::time_point t) { return util::rfc3339_utc(t); }

}  // namespace

Result<std::vector<CrlBlob>> read_crl_blobs(const std::string& file, const std::string& dir) {
  std::vector<CrlBlob> out;
  if (file.empty() && dir.empty()) return make_error("no CRL is set (--crl or --crl-dir)");
  if (!file.empty()) {
    if (auto st = read_crl_file(file, out); !st) return st.error();
  }
  if (!dir.empty()) {
    auto files = crl_files_in(dir);
    if (!files) return files.error();
    for (const auto& f : *files) {
      if (auto st = read_crl_file(f, out); !st) return st.error();
    }
  }
  // One CRL per CA: wolfSSL would use whichever it finds first. Keep the
  // newest, so a directory may hold the previous one too.
  std::map<std::string, std::size_t> newest;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto [it, fresh] = newest.emplace(out[i].issuer_key, i);
    if (fresh) continue;
    auto& kept = out[it->second];
    if (out[i].info.this_update > kept.info.this_update) {
      kept.info.superseded = true;
      it->second = i;
    } else {
      out[i].info.superseded = true;
    }
  }
  return out;
}

Result<std::vector<CrlInfo>> read_crls(const std::string& file, const std::string& dir) {
  auto blobs = read_crl_blobs(file, dir);
  if (!blobs) return blobs.error();
  std::vector<CrlInfo> out;
  for (auto& b : *blobs) out.push_back(std::move(b.info));
  return out;
}

Result<std::vector<CaName>> read_ca_names(const std::string& path) {
  auto text = slurp(path, "CA certificate");
  if (!text) return text.error();
  std::vector<CaName> out;
  for (const auto& pem : pem_blocks(*text, "CERTIFICATE")) {
    const std::string der = pem_to_der(pem, CERT_TYPE);
    const ParsedCert cert(der.data(), der.size());
    if (cert.ok()) {
      const auto* raw = cert.get().subjectRaw;
      const auto len = static_cast<std::size_t>(cert.get().subjectRawLen);
      out.push_back({name_text(raw, len), name_key(raw, len)});
    }
  }
  if (out.empty()) return make_error("CA certificate " + path + " holds no PEM certificate");
  return out;
}

namespace {

bool issued_by(const CrlBlob& b, const std::vector<CaName>& cas) {
  return std::any_of(cas.begin(), cas.end(),
                     [&](const CaName& c) { return c.subject_key == b.issuer_key; });
}

// Refuses what would lock peers out (trexd) or leave a revoked server
// unnoticed (trex): an expired CRL, a CA of --ca without one.
Status check_coverage(const std::vector<CrlBlob>& blobs, const std::vector<CaName>& cas,
                      const CrlSource& src) {
  const std::string effect = src.client ? "trex cannot tell whether a server it signed was revoked"
                                        : "every certificate that CA signed would be refused";
  const std::string renew = src.client ? "get a current CRL from your CA (tools/pki crl there)"
                                       : "renew it (tools/pki crl) and copy the new CRL";
  const auto now = Clock::now();
  for (const auto& b : blobs) {
    if (b.info.superseded || b.info.next_update >= now) continue;
    return make_error("CRL " + b.info.source + " of CA '" + b.info.issuer +
                      "' has expired (nextUpdate " + when(b.info.next_update) + "): " + effect +
                      "; " + renew);
  }
  for (const auto& ca : cas) {
    const bool has = std::any_of(blobs.begin(), blobs.end(),
                                 [&](const CrlBlob& b) { return b.issuer_key == ca.subject_key; });
    if (!has) {
      return make_error("no CRL for CA '" + ca.subject + "' (in " + src.ca + ")" +
                        (src.client ? " in " + src.crl : "") + ": " + effect + "; add its CRL to " +
                        (src.client ? "that file" : "--crl or --crl-dir"));
    }
  }
  return {};
}

Status load_one(WOLFSSL_CTX* ctx, const CrlBlob& b, bool anchor) {
  const auto* der = reinterpret_cast<const unsigned char*>(b.der.data());
  const auto size = static_cast<long>(b.der.size());
  if (anchor) {
    // Its CA is known now: check the signature at once.
    const int ret = wolfSSL_CTX_LoadCRLBuffer(ctx, der, size, WOLFSSL_FILETYPE_ASN1);
    if (ret == WOLFSSL_SUCCESS) return {};
    return make_error("CRL " + b.info.source + " of CA '" + b.info.issuer +
                      "' cannot be used: " + reason_for_error(ret) +
                      " (is it signed by that CA's key, which must allow cRLSign?)");
  }
  // An intermediate's: wolfSSL checks its signature when the CA arrives in a
  // chain, and treats it as missing if the signature is wrong.
  const CrlPtr crl(wolfSSL_d2i_X509_CRL(nullptr, der, static_cast<int>(size)));
  const bool added = crl != nullptr && wolfSSL_X509_STORE_add_crl(wolfSSL_CTX_get_cert_store(ctx),
                                                                  crl.get()) == WOLFSSL_SUCCESS;
  if (!added) return make_error("CRL " + b.info.source + " cannot be loaded");
  return {};
}

}  // namespace

Status load_crls(WOLFSSL_CTX* ctx, const CrlSource& source) {
  auto blobs = read_crl_blobs(source.crl, source.crl_dir);
  if (!blobs) return blobs.error();
  auto cas = read_ca_names(source.ca);
  if (!cas) return cas.error();
  if (auto st = check_coverage(*blobs, *cas, source); !st) return st;
  // Fail closed: a CA in a chain without a loaded, current CRL refuses it.
  if (wolfSSL_CTX_EnableCRL(ctx, WOLFSSL_CRL_CHECKALL) != WOLFSSL_SUCCESS) {
    return make_error("cannot enable CRL checking");
  }
  for (const auto& b : *blobs) {
    if (b.info.superseded) continue;
    if (auto st = load_one(ctx, b, issued_by(b, *cas)); !st) return st;
  }
  return {};
}

}  // namespace trex::tls

#include "trexd/check.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "trex/policy.hpp"
#include "trex/server.hpp"
#include "trex/tls.hpp"

namespace trex::trexd {
namespace {

using Clock = std::chrono::system_clock;

struct Report {
  std::ostream& out;
  int errors = 0;
  std::vector<std::string> problems{};  // the warning and error lines, as printed
  void ok(const std::string& s) { out << "ok: " << s << "\n"; }
  void warn(const std::string& s) { problem("warning: " + s); }
  void error(const std::string& s) {
    problem("error: " + s);
    ++errors;
  }
  void problem(std::string line) {
    out << line << "\n";
    problems.push_back(std::move(line));
  }
  // Days left; under 7 warns, past is an error: an expired CRL or
  // certificate locks everyone out.
  void expiry(const std::string& what, Clock::time_point when) {
    const auto days =
        std::chrono::duration_cast<std::chrono::hours>(when - Clock::now()).count() / 24.0;
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%.1f days", days);
    if (days < 0) {
      error(what + " expired " + std::string(buf + (buf[0] == '-')) + " ago");
    } else if (days < 7) {
      warn(what + " expires in " + buf);
    } else {
      ok(what + " valid for " + buf);
    }
  }
};

// Each CRL with its CA and expiry: every CA in a chain needs a current one.
bool check_crls(const trex::config::ServerConfig& c, Report& r, bool report_ok = true) {
  auto crls = trex::tls::read_crls(c.crl, c.crl_dir);
  if (!crls) {
    r.error(crls.message() + " (without a CRL every client is refused)");
    return false;
  }
  for (const auto& crl : *crls) {
    const std::string what = "CRL " + crl.source + " of CA '" + crl.issuer + "'";
    if (crl.superseded) {
      if (report_ok) r.ok(what + " is superseded by a newer CRL of that CA");
      continue;
    }
    r.expiry(what + " (nextUpdate)", crl.next_update);
  }
  return true;
}

void check_certs(const trex::config::ServerConfig& c, Report& r) {
  bool key_ok = true;
  auto ca = trex::tls::inspect_certificate(c.ca);
  if (!ca) {
    r.error(ca.message());
  } else {
    r.expiry("CA certificate " + c.ca + " (" + ca->subject_cn + ")", ca->not_after);
  }
  auto cert = trex::tls::inspect_certificate(c.cert);
  if (!cert) {
    r.error(cert.message());
  } else {
    r.expiry("server certificate " + c.cert + " (" + cert->subject_cn + ")", cert->not_after);
    std::string sans;
    for (const auto& s : cert->sans) sans += (sans.empty() ? "" : ", ") + s;
    r.ok("server certificate names: " + (sans.empty() ? "(none)" : sans));
    if (!cert->server_auth) r.warn("server certificate has no EKU serverAuth");
    if (auto st = trex::tls::key_matches_certificate(c.cert, c.key); !st) {
      r.error(st.message());
      key_ok = false;
    } else {
      r.ok("key " + c.key + " matches the certificate");
    }
  }
  const bool crl = check_crls(c, r);
  if (ca && cert && crl && key_ok) {
    auto ctx = trex::tls::Context::server({c.ca, c.cert, c.key, c.crl, c.crl_dir});
    if (!ctx) r.error(ctx.message());
  }
}

void check_policy(const trex::config::ServerConfig& c, Report& r) {
  auto p = trex::server::load_policy(c);
  if (!p) return r.error(p.message());
  if (p->is_allow_all()) {
    r.warn("--allow-all: every certificate signed by the CA may run anything");
    return;
  }
  r.ok("policy " + c.policy + ": " + std::to_string(p->rules().size()) + " rules");
  for (const auto& line : p->summary()) r.out << "  " << line << "\n";
  for (const auto& line : p->lint(geteuid() == 0)) r.warn(line);
}

}  // namespace

std::vector<std::string> expiry_warnings(const trex::config::ServerConfig& c) {
  std::ostringstream sink;
  Report r{sink};
  if (auto ca = trex::tls::inspect_certificate(c.ca))
    r.expiry("CA certificate " + c.ca, ca->not_after);
  if (auto cert = trex::tls::inspect_certificate(c.cert)) {
    r.expiry("server certificate " + c.cert, cert->not_after);
  }
  check_crls(c, r, false);
  return std::move(r.problems);
}

int check_config(const trex::config::ServerConfig& c, std::ostream& out) {
  Report r{out};
  check_certs(c, r);
  check_policy(c, r);
  r.ok("listen " + c.listen + ", max " + std::to_string(c.max_sessions) + " sessions, audit " +
       c.audit_path());
  out << (r.errors ? "configuration has " + std::to_string(r.errors) + " error(s)\n"
                   : std::string("configuration ok\n"));
  return r.errors ? 1 : 0;
}

}  // namespace trex::trexd

// The client's per-user configuration (~/.config/trex/config.toml), host
// ranges and the certificate lookup order. All pure: the program reads the
// file and the environment and passes them in, so tests need no HOME.
//
//   ca = "ca.crt"          cert = "client.crt"     key = "client.key"
//   crl = "crl.pem"        # check servers against the CA's CRL (fails closed)
//   pki_dir = "/srv/pki"   # opt in to a tools/pki folder's client files
//   port = 7443            connect_timeout = 10
//   persist = "60s"        # keep connections for reuse (trex --persist)
//   [hosts.web1]
//   address = "10.0.0.5"   port = 7444   server_name = "web1.lab"   cert = ...
//   [groups]
//   lab = ["web1", "lab[01-12]", "10.0.0.[11-20]"]
//
// Relative paths are relative to the config file's folder; "~/" is HOME.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/result.hpp"

namespace trex::config {

struct HostEntry {
  std::string address;                     // empty: the alias itself
  std::optional<std::uint16_t> port;       // from `port` or "address:port"
  std::string server_name;                 // the name the server's certificate must carry
  std::string ca, cert, key;               // empty: the general lookup
  std::string crl{};                       // empty: the general lookup
  std::optional<std::uint32_t> persist{};  // seconds; 0: off; none: the config's
};

struct ClientConfig {
  std::string source;         // the file read ("" when there was none)
  std::string ca, cert, key;  // resolved paths, empty when not set
  std::string crl;            // resolved; empty: no revocation check of servers
  std::string pki_dir;        // resolved; empty: no pki/ fallback
  std::optional<std::uint16_t> port;
  std::optional<std::uint32_t> connect_timeout;
  std::optional<std::uint32_t> persist;    // seconds a connection is kept for reuse; 0: off
  std::map<std::string, HostEntry> hosts;  // by alias
  std::map<std::string, std::vector<std::string>> groups;  // name -> host words
};

// Parses the text of `source`; `home` expands "~/". Unknown keys or tables,
// wrong types and bad values fail with "SOURCE:LINE: ..." naming the key.
// Every entry is checked, but only the hosts `keep_host` accepts (all, when
// it is empty) are kept: a run that names one host need not build hundreds.
using HostFilter = std::function<bool(const std::string& alias)>;
Result<ClientConfig> parse_client_config(std::string_view text, const std::string& source,
                                         const std::string& home, const HostFilter& keep_host = {});

// Which config file to read: --config, then TREX_CONFIG, then
// $XDG_CONFIG_HOME/trex/config.toml, then ~/.config/trex/config.toml.
// `required` is true when the user named the file (it must then exist).
struct ConfigPath {
  std::string path;
  bool required = false;
};
using EnvLookup = std::function<const char*(const char*)>;
ConfigPath config_path(const std::string& flag, const EnvLookup& env);
// $XDG_CONFIG_HOME/trex or ~/.config/trex ("" without either).
std::string config_dir(const EnvLookup& env);

// One certificate file chosen by the lookup, and where the choice came from
// (for trex -v and for error messages).
struct FileChoice {
  std::string path;
  std::string from;  // "--ca", "TREX_CA", "config FILE", "default", ...
};
struct CertFiles {
  FileChoice ca, cert, key;
  FileChoice crl{};  // path "" when no CRL is set
};
struct CertFlags {
  std::string ca, cert, key;
  std::string crl{};
};
// Flags, then TREX_CA/TREX_CERT/TREX_KEY, then the host's entry, then the
// config's keys, then its pki_dir, then `config_dir`/{ca.crt,client.crt,client.key}.
// The CRL: --crl, TREX_CRL, the host's entry, the config's `crl`; no default
// (a CRL that trex did not ask for could not be kept current).
CertFiles choose_cert_files(const CertFlags& flags, const EnvLookup& env,
                            const ClientConfig& config, const HostEntry* host,
                            const std::string& default_dir);

// Expands host ranges: "lab[01-12]" -> lab01..lab12 (the width of the lower
// bound pads), "10.0.0.[11-20]", "n[1,3,5-7]", several ranges multiply. A
// bracket holding anything but digits, ',' and '-' is left alone, so
// "[::1]:7443" stays one host. At most `limit` hosts.
Result<std::vector<std::string>> expand_host_ranges(std::string_view word,
                                                    std::size_t limit = 10000);

// The number of hosts expand_host_ranges would give, or its error, without
// making the names.
Result<std::size_t> count_host_ranges(std::string_view word, std::size_t limit = 10000);

// The inverse, for showing a list of hosts: "lab01,lab02,lab03,lab05" ->
// "lab[01-03,05]". Names that end in digits and share the rest and the
// number of digits fold together; names holding ':' or brackets (IPv6,
// HOST:PORT) are left as they are. Expanding the result gives the same hosts.
std::string fold_host_ranges(const std::vector<std::string>& hosts);

// A duration in seconds: "90", "90s", "5m", "1h" (at most 30 days); "off"
// and "0" are 0. Errors say what was wrong.
Result<std::uint32_t> parse_duration(std::string_view text);

// Splits "a,b[1,2],c" on the commas outside brackets.
std::vector<std::string> split_host_list(std::string_view list);

}  // namespace trex::config

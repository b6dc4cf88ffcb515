#include "trex/client_config.hpp"

#include "config/toml_lite.hpp"
#include "trex/config.hpp"

namespace trex::config {
namespace {

using Kind = TomlValue::Kind;

class Builder {
 public:
  Builder(const std::string& source, const std::string& home, const HostFilter& keep)
      : source_(source), home_(home), keep_(keep) {
    c_.source = source;
    const auto slash = source.rfind('/');
    dir_ = slash == std::string::npos ? "." : source.substr(0, slash == 0 ? 1 : slash);
  }

  Status add(const std::vector<std::string>& t, TomlEntry& e) {
    return t.empty()                           ? top(e)
           : t.size() == 2 && t[0] == "hosts"  ? host(e, t[1])
           : t.size() == 1 && t[0] == "groups" ? group(e)
                                               : unknown_table(e, t);
  }
  ClientConfig take() { return std::move(c_); }

 private:
  Error fail(const TomlEntry& e, const std::string& what) const {
    return make_error(source_ + ":" + std::to_string(e.line) + ": key '" + e.key + "' " + what);
  }

  Status unknown_table(const TomlEntry& e, const std::vector<std::string>& table) const {
    std::string name;
    for (const auto& t : table) name += (name.empty() ? "" : ".") + t;
    return make_error(source_ + ":" + std::to_string(e.line) + ": unknown table [" + name +
                      "] (the tables are [hosts.ALIAS] and [groups])");
  }

  // `build` false: a host this run does not use, checked but not built.
  Status path(const TomlEntry& e, std::string& out, bool build = true) const {
    if (e.value.kind != Kind::kString || e.value.text.empty()) {
      return fail(e, "must be a non-empty string (a file path)");
    }
    const auto& p = e.value.text;
    if (p.rfind("~/", 0) == 0) {
      if (home_.empty()) return fail(e, "uses ~/ but HOME is not set");
      if (build) out = home_ + p.substr(1);
    } else if (!build) {
      return {};
    } else {
      out = p.front() == '/' ? p : dir_ + "/" + p;
    }
    return {};
  }

  template <class T>
  Status number(const TomlEntry& e, std::optional<T>& out, std::int64_t min,
                std::int64_t max) const {
    if (e.value.kind != Kind::kInteger || e.value.integer < min || e.value.integer > max) {
      return fail(e,
                  "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    out = static_cast<T>(e.value.integer);
    return {};
  }

  Status top(TomlEntry& e) {
    if (e.key == "ca") return path(e, c_.ca);
    if (e.key == "cert") return path(e, c_.cert);
    if (e.key == "key") return path(e, c_.key);
    if (e.key == "crl") return path(e, c_.crl);
    if (e.key == "pki_dir") return path(e, c_.pki_dir);
    if (e.key == "port") return number(e, c_.port, 1, 65535);
    if (e.key == "connect_timeout") return number(e, c_.connect_timeout, 1, 30 * 86400);
    if (e.key == "persist") return duration(e, c_.persist);
    return fail(e,
                "is unknown (ca, cert, key, crl, pki_dir, port, connect_timeout, persist, "
                "[hosts.ALIAS], [groups])");
  }

  // An integer of seconds or a string: "60s", "5m", "1h", "off".
  Status duration(const TomlEntry& e, std::optional<std::uint32_t>& out) const {
    if (e.value.kind == Kind::kInteger) return number(e, out, 0, 30 * 86400);
    if (e.value.kind != Kind::kString) return fail(e, "must be seconds or a string like \"60s\"");
    auto d = parse_duration(e.value.text);
    if (!d) return fail(e, d.message());
    out = *d;
    return {};
  }

  static bool plain_name(const std::string& s) {
    if (s.empty() || s.front() == '-') return false;
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= ' ' || c == 0x7f || ch == ',' || ch == '[' || ch == ']' || ch == '@') return false;
    }
    return true;
  }

  Status host(const TomlEntry& e, const std::string& alias) {
    if (host_ == nullptr || alias != alias_) {  // a new [hosts.ALIAS]: one map insertion
      if (!plain_name(alias)) {
        return fail(e, "is in [hosts." + alias +
                           "]: an alias may not start with '-' or hold spaces, ',', '[', ']', '@'");
      }
      alias_ = alias;
      if (!keep_ || keep_(alias)) {
        host_ = &c_.hosts[alias];
      } else {
        scratch_ = HostEntry();
        host_ = &scratch_;
      }
    }
    HostEntry& h = *host_;
    const bool kept = host_ != &scratch_;
    if (e.key == "ca") return path(e, h.ca, kept);
    if (e.key == "cert") return path(e, h.cert, kept);
    if (e.key == "key") return path(e, h.key, kept);
    if (e.key == "crl") return path(e, h.crl, kept);
    if (e.key == "port") {
      if (h.port) return fail(e, "repeats the port given in address");
      return number(e, h.port, 1, 65535);
    }
    if (e.key == "server_name") {
      if (e.value.kind != Kind::kString || !plain_name(e.value.text)) {
        return fail(e, "must be a host name or address");
      }
      h.server_name = e.value.text;
      return {};
    }
    if (e.key == "address") return address(e, h);
    if (e.key == "persist") return duration(e, h.persist);
    return fail(e, "is unknown in [hosts." + alias +
                       "] (address, port, server_name, ca, cert, key, crl, persist)");
  }

  Status address(const TomlEntry& e, HostEntry& h) const {
    if (e.value.kind != Kind::kString)
      return fail(e, "must be a string: HOST, HOST:PORT or [V6]:PORT");
    auto ep = parse_endpoint(e.value.text, 0);
    if (!ep || !plain_name(ep->host)) {
      return fail(e, "is not HOST, HOST:PORT or [V6]:PORT: '" + e.value.text + "'");
    }
    if (ep->port != 0) {
      if (h.port) return fail(e, "gives a port and so does key 'port'");
      h.port = ep->port;
    }
    h.address = ep->host;
    return {};
  }

  Status group(TomlEntry& e) {
    if (!plain_name(e.key)) return fail(e, "is not a usable group name");
    if (e.value.kind != Kind::kArray || e.value.strings.empty()) {
      return fail(e, "must be a non-empty array of hosts, like [\"web1\", \"lab[01-12]\"]");
    }
    for (const auto& word : e.value.strings) {
      if (auto r = count_host_ranges(word); !r) return fail(e, "holds a bad host: " + r.message());
      if (word.empty() || word.front() == '-') return fail(e, "holds a bad host '" + word + "'");
    }
    c_.groups[e.key] = std::move(e.value.strings);
    return {};
  }

  const std::string& source_;
  const std::string& home_;
  std::string dir_;
  ClientConfig c_;
  const HostFilter& keep_;
  std::string alias_;  // the [hosts.ALIAS] of the entries now read
  HostEntry* host_ = nullptr;
  HostEntry scratch_;  // a host that is checked but not kept
};

const char* nonempty(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

Result<std::uint32_t> parse_duration(std::string_view text) {
  if (text == "off") return 0U;
  const std::string_view units = "smh";
  std::uint64_t scale = 1;
  std::string_view digits = text;
  if (!text.empty() && units.find(text.back()) != std::string_view::npos) {
    scale = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : 3600;
    digits.remove_suffix(1);
  }
  std::uint64_t n = 0;
  bool ok = !digits.empty() && digits.size() <= 9;
  for (const char c : digits) {
    ok = ok && c >= '0' && c <= '9';
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || n * scale > 30 * 86400) {
    return make_error(
        "must be a duration such as 90, \"90s\", \"5m\" or \"1h\" (at most 30 "
        "days), or \"off\", not '" +
        std::string(text) + "'");
  }
  return static_cast<std::uint32_t>(n * scale);
}

Result<ClientConfig> parse_client_config(std::string_view text, const std::string& source,
                                         const std::string& home, const HostFilter& keep_host) {
  Builder b(source, home, keep_host);
  auto st = read_toml_lite(text, source, [&](const std::vector<std::string>& table, TomlEntry& e) {
    return b.add(table, e);
  });
  if (!st) return st.error();
  return b.take();
}

std::string config_dir(const EnvLookup& env) {
  if (const char* xdg = nonempty(env, "XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/trex";
  }
  if (const char* home = nonempty(env, "HOME")) return std::string(home) + "/.config/trex";
  return {};
}

ConfigPath config_path(const std::string& flag, const EnvLookup& env) {
  if (!flag.empty()) return {flag, true};
  if (const char* v = nonempty(env, "TREX_CONFIG")) return {v, true};
  const auto dir = config_dir(env);
  return {dir.empty() ? std::string() : dir + "/config.toml", false};
}

CertFiles choose_cert_files(const CertFlags& flags, const EnvLookup& env,
                            const ClientConfig& config, const HostEntry* host,
                            const std::string& default_dir) {
  const std::string in_config = "config " + config.source;
  const auto choose = [&](const std::string& flag, const char* flag_name, const char* env_name,
                          std::string HostEntry::*per_host, const std::string& configured,
                          const std::string& pki_rel, const std::string& default_name) {
    if (!flag.empty()) return FileChoice{flag, flag_name};
    if (const char* v = nonempty(env, env_name)) return FileChoice{v, env_name};
    if (host != nullptr && !(host->*per_host).empty()) {
      return FileChoice{host->*per_host, in_config + " (its host entry)"};
    }
    if (!configured.empty()) return FileChoice{configured, in_config};
    if (!config.pki_dir.empty()) {
      return FileChoice{config.pki_dir + "/" + pki_rel, "pki_dir of " + in_config};
    }
    if (default_dir.empty()) return FileChoice{"", "default (HOME is not set)"};
    return FileChoice{default_dir + "/" + default_name, "default"};
  };
  CertFiles files{
      choose(flags.ca, "--ca", "TREX_CA", &HostEntry::ca, config.ca, "ca.crt", "ca.crt"),
      choose(flags.cert, "--cert", "TREX_CERT", &HostEntry::cert, config.cert, "issued/client.crt",
             "client.crt"),
      choose(flags.key, "--key", "TREX_KEY", &HostEntry::key, config.key, "private/client.key",
             "client.key"),
      {"", "not set: servers are not checked for revocation"}};
  if (!flags.crl.empty()) {
    files.crl = {flags.crl, "--crl"};
  } else if (const char* v = nonempty(env, "TREX_CRL")) {
    files.crl = {v, "TREX_CRL"};
  } else if (host != nullptr && !host->crl.empty()) {
    files.crl = {host->crl, in_config + " (its host entry)"};
  } else if (!config.crl.empty()) {
    files.crl = {config.crl, in_config};
  }
  return files;
}

}  // namespace trex::config

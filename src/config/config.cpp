#include "trex/config.hpp"

#include <toml++/toml.h>
#include <cerrno>
#include <optional>

#include "util/file.hpp"
#include "util/size.hpp"
#include "util/toml.hpp"

namespace trex::config {
namespace {

std::string where(std::string_view source, const toml::node& node, std::string_view key) {
  return std::string(source) + ":" + std::to_string(node.source().begin.line) + ": key '" +
         std::string(key) + "'";
}

template <class T>
Status read_uint(const toml::node& node, std::string_view source, std::string_view key, T& out,
                 std::uint64_t min, std::uint64_t max) {
  // Only a TOML integer: value<int64_t>() would also convert a float, and one
  // out of int64's range (9e99) is undefined behaviour inside toml++.
  const auto* integer = node.as_integer();
  const std::optional<std::int64_t> v =
      integer ? std::optional<std::int64_t>(integer->get()) : std::nullopt;
  if (!v || *v < 0 || static_cast<std::uint64_t>(*v) < min ||
      static_cast<std::uint64_t>(*v) > max) {
    return make_error(where(source, node, key) + " must be an integer from " + std::to_string(min) +
                      " to " + std::to_string(max));
  }
  out = static_cast<T>(*v);
  return {};
}

Status read_size(const toml::node& node, std::string_view source, std::string_view key,
                 std::uint64_t& out) {
  if (node.is_integer()) return read_uint(node, source, key, out, 1, UINT64_MAX >> 1);
  if (node.is_string()) {
    auto r = util::parse_size(*node.value<std::string>());
    if (r && *r > 0) {
      out = *r;
      return {};
    }
  }
  return make_error(where(source, node, key) + " must be a size like 1048576 or \"64M\"");
}

Status read_string(const toml::node& node, std::string_view source, std::string_view key,
                   std::string& out) {
  if (!node.is_string() || node.value<std::string>()->empty()) {
    return make_error(where(source, node, key) + " must be a non-empty string");
  }
  out = *node.value<std::string>();
  return {};
}

Status read_bool(const toml::node& node, std::string_view source, std::string_view key, bool& out) {
  if (!node.is_boolean()) return make_error(where(source, node, key) + " must be true or false");
  out = *node.value<bool>();
  return {};
}

Status apply_key(ServerConfig& c, std::string_view key, const toml::node& n, std::string_view src) {
  constexpr std::uint64_t kDay = 86400;
  if (key == "listen") return read_string(n, src, key, c.listen);
  if (key == "ca") return read_string(n, src, key, c.ca);
  if (key == "cert") return read_string(n, src, key, c.cert);
  if (key == "key") return read_string(n, src, key, c.key);
  if (key == "crl") return read_string(n, src, key, c.crl);
  if (key == "crl_dir") return read_string(n, src, key, c.crl_dir);
  if (key == "policy") return read_string(n, src, key, c.policy);
  if (key == "log_dir") return read_string(n, src, key, c.log_dir);
  if (key == "audit_log") return read_string(n, src, key, c.audit_log);
  if (key == "max_sessions") return read_uint(n, src, key, c.max_sessions, 1, 4096);
  if (key == "command_timeout") return read_uint(n, src, key, c.command_timeout, 1, 30 * kDay);
  if (key == "handshake_timeout") return read_uint(n, src, key, c.handshake_timeout, 1, 300);
  if (key == "idle_timeout") return read_uint(n, src, key, c.idle_timeout, 1, 30 * kDay);
  if (key == "max_output") return read_size(n, src, key, c.max_output);
  if (key == "max_recording") return read_size(n, src, key, c.max_recording);
  if (key == "kill_grace") return read_uint(n, src, key, c.kill_grace, 0, 3600);
  if (key == "audit_fsync") return read_bool(n, src, key, c.audit_fsync);
  if (key == "audit_max_bytes") return read_size(n, src, key, c.audit_max_bytes);
  if (key == "syslog") return read_bool(n, src, key, c.syslog);
  if (key == "audit_syslog") return read_bool(n, src, key, c.audit_syslog);
  if (key == "audit_syslog_socket") return read_string(n, src, key, c.audit_syslog_socket);
  if (key == "audit_head_syslog") return read_string(n, src, key, c.audit_head_syslog);
  if (key == "audit_head_interval") return read_uint(n, src, key, c.audit_head_interval, 0, kDay);
  if (key == "allow_all") return read_bool(n, src, key, c.allow_all);
  if (key == "cgroup") return read_string(n, src, key, c.cgroup);
  return make_error(std::string(src) + ":" + std::to_string(n.source().begin.line) +
                    ": unknown key '" + std::string(key) + "'");
}

}  // namespace

Result<ServerConfig> apply_toml(ServerConfig base, std::string_view text, std::string_view source) {
  const Result<toml::table> table = util::parse_toml(text, source);
  if (!table) return table.error();
  for (const auto& [key, node] : *table) {
    if (auto st = apply_key(base, key.str(), node, source); !st) return st.error();
  }
  return base;
}

Result<ServerConfig> apply_toml_file(ServerConfig base, const std::string& path) {
  const util::FileText file = util::read_file(path, std::size_t{1} << 20);
  if (file.error == EFBIG) return make_error("configuration file " + path + " is over 1 MiB");
  if (!file.ok())
    return make_error("cannot read configuration file " + path + ": " + file.message());
  return apply_toml(std::move(base), file.text, path);
}

Status validate(const ServerConfig& c) {
  if (auto ep = parse_endpoint(c.listen, 7443); !ep) return make_error("listen: " + ep.message());
  if (c.max_sessions == 0) return make_error("max-sessions must be at least 1");
  if (c.command_timeout == 0) return make_error("command-timeout must be at least 1 second");
  if (c.handshake_timeout == 0) return make_error("handshake-timeout must be at least 1 second");
  if (c.idle_timeout == 0) return make_error("idle-timeout must be at least 1 second");
  if (c.max_output == 0) return make_error("max-output must be at least 1 byte");
  if (c.max_recording < 4096) return make_error("max-recording must be at least 4096");
  if (c.audit_max_bytes < 4096) return make_error("audit-max-bytes must be at least 4096");
  if (c.allow_all && !c.policy.empty()) {
    return make_error("--allow-all and --policy exclude each other: give one of them");
  }
  if (c.audit_head_syslog != "none" && c.audit_head_syslog.rfind('/', 0) != 0) {
    return make_error("audit-head-syslog must be an absolute socket path or 'none', not '" +
                      c.audit_head_syslog + "'");
  }
  return {};
}

std::string missing_policy(const ServerConfig& c) {
  if (!c.policy.empty() || c.allow_all) return "";
  return "no policy: without one every certificate the CA signed could run any program as "
         "trexd's user. Give --policy FILE (rules of who may run what; see "
         "policy.example.toml and README section 'The policy'), or --allow-all to allow "
         "exactly that on purpose";
}

}  // namespace trex::config

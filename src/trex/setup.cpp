// The per-user configuration as the program uses it: which file to read,
// what a host word means (alias, range, group), and which certificate files
// make the TLS context for a host.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "common.hpp"
#include "util/file.hpp"

namespace trex::trex_cli {
namespace {

trex::config::ClientConfig g_config;
std::string g_config_note;  // for -v: which config file, or why none
std::mutex g_ctx_mu;
std::map<std::tuple<std::string, std::string, std::string, std::string>,
         std::shared_ptr<trex::tls::Context>>
    g_contexts;

const char* env(const char* name) { return std::getenv(name); }

std::string date_of(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// A key others can read is a key others may hold: say so once per run.
void warn_if_key_exposed(const std::string& key, const trex::client::Args& args) {
  static std::set<std::string> warned;
  struct stat st {};
  if (args.quiet || ::stat(key.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  if (!warned.insert(key).second) return;
  std::fprintf(stderr, "trex: warning: your key %s can be read by %s; run: chmod 600 %s\n",
               key.c_str(), (st.st_mode & 07) != 0 ? "everyone on this machine" : "its group",
               key.c_str());
}

trex::Status check_dates(const std::string& cert) {
  auto info = trex::tls::inspect_certificate(cert);
  if (!info) return {};  // Context::client names the file and the reason
  const auto now = std::chrono::system_clock::now();
  if (info->not_after < now) {
    return trex::make_error("your certificate " + cert + " expired on " + date_of(info->not_after) +
                            "; ask your CA for a new one");
  }
  warn_if_expiring(cert, info->not_after);
  if (info->not_before > now) {
    return trex::make_error("your certificate " + cert + " is not valid before " +
                            date_of(info->not_before) + "; check this machine's clock");
  }
  return {};
}

const trex::config::HostEntry* entry_of(const std::string& word) {
  const auto it = g_config.hosts.find(word);
  return it == g_config.hosts.end() ? nullptr : &it->second;
}

}  // namespace

trex::Status load_config(trex::client::Args& args) {
  const auto where = trex::config::config_path(args.config, env);
  if (where.path.empty()) {
    g_config_note = "no config file (HOME is not set)";
    return {};
  }
  // Read on every run: one read(2) of at most 1 MiB, no stdio.
  const trex::util::FileText text = trex::util::read_file(where.path, std::size_t{1} << 20);
  if (!text.ok()) {
    if (!where.required && text.error == ENOENT) {
      g_config_note = "no config file (" + where.path + " does not exist)";
      return {};
    }
    return trex::make_error("cannot read config file " + where.path + ": " + text.message());
  }
  const char* home = env("HOME");
  // One host (or a -H list) needs only its own entries; groups and hosts
  // files may name any alias.
  std::set<std::string> named;
  bool all = !args.groups.empty() || !args.hosts_file.empty();
  for (const auto& w : args.hosts) {
    auto names = trex::config::expand_host_ranges(w);
    if (!names) all = true;  // host_list reports the error
    if (names) named.insert(names->begin(), names->end());
  }
  trex::config::HostFilter keep;
  if (!all) keep = [&named](const std::string& alias) { return named.count(alias) > 0; };
  auto config = trex::config::parse_client_config(text.text, where.path, home ? home : "", keep);
  if (!config) return config.error();
  g_config = std::move(*config);
  g_config_note = "config file " + where.path;
  if (!args.connect_timeout_given && g_config.connect_timeout) {
    args.connect_timeout = *g_config.connect_timeout;
  }
  return {};
}

const trex::config::ClientConfig& client_config() { return g_config; }

trex::Result<trex::client::Target> target_of(const std::string& word,
                                             const trex::client::Args& args) {
  const auto* entry = entry_of(word);
  const std::uint16_t fallback =
      args.port.value_or(entry && entry->port ? *entry->port : g_config.port.value_or(7443));
  if (entry != nullptr) {
    trex::client::Target t{entry->address.empty() ? word : entry->address, fallback,
                           entry->server_name};
    return t;
  }
  auto ep = trex::config::parse_endpoint(word, fallback);
  if (!ep) return trex::make_error("bad host '" + word + "': " + ep.message());
  return trex::client::Target{ep->host, ep->port, ""};
}

trex::config::CertFiles cert_files_for(const std::string& word, const trex::client::Args& args) {
  return trex::config::choose_cert_files({args.ca, args.cert, args.key, args.crl}, env, g_config,
                                         entry_of(word), trex::config::config_dir(env));
}

std::uint32_t persist_for(const std::string& word, const trex::client::Args& args) {
  if (args.persist) return *args.persist;
  const auto* entry = entry_of(word);
  if (entry != nullptr && entry->persist) return *entry->persist;
  return g_config.persist.value_or(0);
}

trex::Result<std::shared_ptr<trex::tls::Context>> context_for(const std::string& word,
                                                              const trex::client::Args& args) {
  const auto files = cert_files_for(word, args);
  std::lock_guard lock(g_ctx_mu);
  const auto key = std::make_tuple(files.ca.path, files.cert.path, files.key.path, files.crl.path);
  if (auto it = g_contexts.find(key); it != g_contexts.end()) return it->second;
  if (args.verbose) {
    std::fprintf(stderr, "trex: %s\n", g_config_note.c_str());
    for (const auto* f : {&files.ca, &files.cert, &files.key}) {
      std::fprintf(stderr, "trex: %s %s (from %s)\n",
                   f == &files.ca     ? "CA certificate"
                   : f == &files.cert ? "certificate"
                                      : "key",
                   f->path.c_str(), f->from.c_str());
    }
    if (files.crl.path.empty()) {
      std::fprintf(stderr, "trex: CRL %s\n", files.crl.from.c_str());
    } else {
      std::fprintf(stderr, "trex: CRL %s (from %s)\n", files.crl.path.c_str(),
                   files.crl.from.c_str());
    }
  }
  for (const auto* f : {&files.ca, &files.cert, &files.key}) {
    if (f->path.empty()) {
      return trex::make_error("no certificate files: set HOME, or give --ca, --cert and --key");
    }
  }
  if (auto st = check_dates(files.cert.path); !st) return st.error();
  warn_if_key_exposed(files.key.path, args);
  auto ctx =
      trex::tls::Context::client({files.ca.path, files.cert.path, files.key.path, files.crl.path});
  if (!ctx) {
    std::string from;
    for (const auto* f : {&files.ca, &files.cert, &files.key, &files.crl}) {
      if (f->path.empty()) continue;
      if (ctx.message().find(f->path) != std::string::npos) from = f->from;
    }
    return trex::make_error(ctx.message() + (from.empty() ? "" : " (from " + from + ")") +
                            "; trex --help says where trex looks");
  }
  g_contexts.emplace(key, *ctx);
  return ctx;
}

trex::Result<std::vector<std::string>> host_list(const trex::client::Args& args) {
  std::vector<std::string> words = args.hosts;
  for (const auto& g : args.groups) {
    const auto it = g_config.groups.find(g);
    if (it == g_config.groups.end()) {
      std::string known;
      for (const auto& [name, members] : g_config.groups)
        known += (known.empty() ? "" : ", ") + name;
      return trex::make_error("no group '" + g + "' in " +
                              (g_config.source.empty() ? g_config_note : g_config.source) +
                              (known.empty() ? "" : " (groups: " + known + ")"));
    }
    words.insert(words.end(), it->second.begin(), it->second.end());
  }
  if (!args.hosts_file.empty()) {
    auto more = trex::client::read_hosts_file(args.hosts_file);
    if (!more) return more.error();
    words.insert(words.end(), more->begin(), more->end());
  }
  constexpr std::size_t kMaxHosts = 10000;
  std::vector<std::string> hosts;
  std::set<std::string> seen;  // one run per server, however it was named
  for (const auto& w : words) {
    auto expanded = trex::config::expand_host_ranges(w, kMaxHosts);
    if (!expanded) return expanded.error();
    for (auto& h : *expanded) {
      if (h.empty()) continue;
      const auto t = target_of(h, args);
      const std::string key = t ? t->host + "\n" + std::to_string(t->port) : h;
      if (!seen.insert(key).second) continue;
      if (hosts.size() == kMaxHosts) {
        return trex::make_error("more than " + std::to_string(kMaxHosts) + " hosts");
      }
      hosts.push_back(std::move(h));
    }
  }
  if (hosts.empty()) return trex::make_error("no host given (try trex --help)");
  return hosts;
}

namespace {
int g_stdin_copy = -1;  // memfd holding stdin for --stdin-all
}  // namespace

trex::Status prepare_fanout_stdin(const trex::client::Args& args) {
  struct stat st {};
  if (args.no_stdin || ::fstat(STDIN_FILENO, &st) != 0 || S_ISCHR(st.st_mode)) return {};
  // A pipe or a file: wait for its first byte, or its end (an empty or
  // closed stdin is no input to drop).
  char first = 0;
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, &first, 1)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return {};
  if (!args.stdin_all) {
    return trex::make_error(
        "a fan-out does not read stdin: give -n, or --stdin-all to send it to every host");
  }
  g_stdin_copy = ::memfd_create("trex-stdin", MFD_CLOEXEC);
  if (g_stdin_copy < 0)
    return trex::make_error(std::string("memfd_create: ") + std::strerror(errno));
  constexpr std::size_t kMax = 1ULL << 30;
  std::size_t total = 1;
  char buf[65536];
  buf[0] = first;
  std::size_t have = 1;
  for (;;) {
    if (have > 0 && ::write(g_stdin_copy, buf, have) != static_cast<ssize_t>(have)) {
      return trex::make_error(std::string("keeping stdin for --stdin-all: ") +
                              std::strerror(errno));
    }
    n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return trex::make_error(std::string("reading stdin: ") + std::strerror(errno));
    if (n == 0) return {};
    have = static_cast<std::size_t>(n);
    total += have;
    if (total > kMax) return trex::make_error("--stdin-all keeps at most 1 GiB of stdin");
  }
}

int open_fanout_stdin() {
  if (g_stdin_copy < 0) return -1;
  // Each open of /proc/self/fd/N is a description of its own, at offset 0.
  const std::string path = "/proc/self/fd/" + std::to_string(g_stdin_copy);
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

}  // namespace trex::trex_cli

#include "trex/client_args.hpp"

#include <charconv>
#include <fstream>

#include "trex/client_config.hpp"

namespace trex::client {

const char* const kUsage =
    "usage: trex [options] HOST[:PORT] COMMAND [ARG...]      run argv directly (no shell)\n"
    "       trex [options] HOST[:PORT] -c 'SHELL STRING'     run through /bin/sh -c\n"
    "       trex [options] HOST[:PORT]                       a login shell on a terminal if\n"
    "                                                 the policy allows, else one shell line per "
    "prompt\n"
    "       trex [options] -t HOST[:PORT] [COMMAND...]   COMMAND (or a login shell) on a terminal\n"
    "       trex [options] -H HOST[,HOST...] [-H ...] COMMAND [ARG...] | -c '...'   fan-out\n"
    "       trex [options] -g GROUP COMMAND [ARG...] | -c '...'   fan-out to a config group\n"
    "       trex put [options] [-r] [-p] LOCAL... HOST[:PORT]:/REMOTE   copy files to HOST\n"
    "       trex get [options] [-r] [-p] HOST[:PORT]:/REMOTE... LOCAL   copy files from HOST\n"
    "HOST: an alias from the config file, a name, an IPv4 address or an IPv6 address; with\n"
    "  a port, [IPv6]:PORT; a range such as lab[01-12] or 10.0.0.[11-20] names several\n"
    "  hosts (a fan-out)\n"
    "options may also follow HOST, up to the first word that is not one; -- ends them\n"
    "options:\n"
    "  --config FILE           config file (env TREX_CONFIG, default\n"
    "                          $XDG_CONFIG_HOME/trex/config.toml or ~/.config/trex/config.toml)\n"
    "  --ca FILE               CA certificate (env TREX_CA, default ~/.config/trex/ca.crt)\n"
    "  --cert FILE             client certificate (env TREX_CERT, default "
    "~/.config/trex/client.crt)\n"
    "  --key FILE              client key (env TREX_KEY, default ~/.config/trex/client.key)\n"
    "                          order: flag, environment, the host's config entry, the\n"
    "                          config's ca/cert/key, its pki_dir, then ~/.config/trex/\n"
    "  --crl FILE              the CA's CRL (PEM, one per CA): refuse a revoked server;\n"
    "                          a stale CRL stops trex (env TREX_CRL, config key crl;\n"
    "                          default: no revocation check)\n"
    "  --port N                server port when HOST has none (default 7443)\n"
    "  --timeout SECONDS       ask the server for a shorter time limit (default: the server's);\n"
    "                          trex gives up (255) when no result comes 15 s after it\n"
    "  --connect-timeout SECONDS  connection and handshake limit (default 10)\n"
    "  --persist TIME          keep the connection open TIME (90, 90s, 5m, 1h; 0 or off:\n"
    "                          not) after the command, for the next trex to the same\n"
    "                          host with the same certificate (config key persist;\n"
    "                          default off); the socket is in $XDG_RUNTIME_DIR/trex\n"
    "                          or /tmp/trex-UID, which must be yours, mode 0700\n"
    "  -O check|exit           trex -O check HOST: is a connection master running for\n"
    "                          HOST (and these certificate files)? -O exit HOST: end it\n"
    "  -n                      no stdin: the command reads /dev/null\n"
    "  -t                      a terminal on the server (top, vim, sudo): raw keys, window\n"
    "                          size; ~. at a line start disconnects, ~? lists escapes;\n"
    "                          the session is recorded on the server\n"
    "  -T                      never a terminal (trex HOST alone: line mode)\n"
    "  --stdin-all             fan-out: send stdin to every host (else a fan-out refuses\n"
    "                          stdin that is not a terminal or /dev/null; give -n)\n"
    "  -H HOST[,HOST...]       fan-out to these hosts (repeatable; ranges allowed)\n"
    "  -g GROUP[,GROUP...]     fan-out to the groups of the config file (repeatable)\n"
    "  --hosts-file FILE       fan-out to the hosts listed in FILE, one per line\n"
    "  --parallel N            fan-out: hosts at once (default 32)\n"
    "  --host-timeout SECONDS  fan-out: give up on a host (255) after this long\n"
    "                          (default: --timeout + 15 s when --timeout is given)\n"
    "  --json                  one JSON object per host, as each finishes (one host\n"
    "                          too; stdin as in a fan-out)\n"
    "                          (at most 1 MiB of each stream, then \"truncated\": true)\n"
    "  -b                      gather: each set of hosts whose output and status were\n"
    "                          identical is printed once, under a line naming them\n"
    "  --raw                   fan-out: remote control characters as they are (on a\n"
    "                          terminal they are shown escaped, \\xNN)\n"
    "  -v                      say what trex does: config and certificate files, address,\n"
    "                          server certificate and its expiry, cipher, the command's id\n"
    "  -q                      no notes or warnings of trex's own (errors still show);\n"
    "                          put/get: no progress line\n"
    "  -p                      put/get: keep the file's mode and modification time\n"
    "  -r, --recursive         put/get: copy folders and everything in them; symbolic\n"
    "                          links and special files are skipped with a message\n"
    "  --help, --version\n"
    "Ctrl-C is forwarded to the command; a second one makes trex give up at once (130).\n"
    "In a fan-out the first Ctrl-C lists the hosts still running, the second interrupts\n"
    "their commands and starts no more hosts, a third gives up on them.\n"
    "exit status: the command's own; 128+N killed by signal N; 124 timed out;\n"
    "  126 refused by policy; 127 not found; 255 trex's own failure\n";

namespace {

Result<std::uint32_t> number(const std::string& flag, const std::string& v, std::uint32_t min,
                             std::uint32_t max) {
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max) {
    return make_error(flag + " needs a number from " + std::to_string(min) + " to " +
                      std::to_string(max) + ", not '" + v + "'");
  }
  return n;
}

// An option that takes a value.
Status option_with_value(const std::string& arg, const std::string& v, Args& a) {
  if (arg == "--ca") {
    a.ca = v;
  } else if (arg == "--cert") {
    a.cert = v;
  } else if (arg == "--key") {
    a.key = v;
  } else if (arg == "--crl") {
    a.crl = v;
  } else if (arg == "--config") {
    a.config = v;
  } else if (arg == "--hosts-file") {
    a.hosts_file = v;
    a.fan_out = true;
  } else if (arg == "-H" || arg == "-g") {
    for (auto& h : config::split_host_list(v)) (arg == "-H" ? a.hosts : a.groups).push_back(h);
    a.fan_out = true;
  } else if (arg == "--persist") {
    auto d = config::parse_duration(v);
    if (!d) return make_error("--persist " + d.message());
    a.persist = *d;
  } else if (arg == "-O") {
    if (v != "check" && v != "exit") return make_error("-O takes check or exit, not '" + v + "'");
    a.control = v;
  } else if (arg == "--port") {
    auto n = number(arg, v, 1, 65535);
    if (!n) return n.error();
    a.port = static_cast<std::uint16_t>(*n);
  } else if (arg == "--timeout" || arg == "--connect-timeout" || arg == "--parallel" ||
             arg == "--host-timeout") {
    auto n = number(arg, v, 1, arg == "--parallel" ? 1024 : 30 * 86400);
    if (!n) return n.error();
    (arg == "--timeout"        ? a.timeout
     : arg == "--parallel"     ? a.parallel
     : arg == "--host-timeout" ? a.host_timeout
                               : a.connect_timeout) = *n;
    a.connect_timeout_given = a.connect_timeout_given || arg == "--connect-timeout";
  } else {
    return make_error("unknown option '" + arg + "' (try trex --help)");
  }
  return {};
}

// One option at in[i] (i moves past its value).
Status parse_option(const std::vector<std::string>& in, std::size_t& i, Args& a) {
  std::string arg = in[i];
  std::string inline_value;
  if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
    inline_value = arg.substr(arg.find('=') + 1);
    arg = arg.substr(0, arg.find('='));
    if (inline_value.empty()) return make_error(arg + " needs a value");
  }
  if (arg == "-n") {
    a.no_stdin = true;
  } else if (arg == "-t" || arg == "-tt") {
    a.tty = TtyMode::kForce;
  } else if (arg == "-T") {
    a.tty = TtyMode::kNever;
  } else if (arg == "-v" || arg == "--verbose") {
    a.verbose = true;
  } else if (arg == "-q" || arg == "--quiet") {
    a.quiet = true;
  } else if (arg == "--json") {
    a.json = true;
  } else if (arg == "-b") {
    a.gather = true;
  } else if (arg == "--raw") {
    a.raw = true;
  } else if (a.files != FileCommand::kNone && arg.size() > 1 &&
             arg.find_first_not_of("rpq", 1) == std::string::npos) {
    // put/get: -r, -p, -q, alone or together as scp takes them (-rp).
    a.recursive = a.recursive || arg.find('r') != std::string::npos;
    a.preserve = a.preserve || arg.find('p') != std::string::npos;
    a.quiet = a.quiet || arg.find('q') != std::string::npos;
  } else if (a.files != FileCommand::kNone && arg == "--recursive") {
    a.recursive = true;
  } else if (arg == "--stdin-all") {
    a.stdin_all = true;
  } else if (arg == "-h" || arg == "--help") {
    a.help = true;
  } else if (arg == "--version") {
    a.version = true;
  } else if (arg == "-c") {
    if (i + 1 >= in.size()) return make_error("-c needs a shell command");
    if (a.shell) return make_error("-c given twice; quote the whole command as one string");
    a.shell = true;
    a.shell_command = in[++i];
  } else {
    if (inline_value.empty() && i + 1 >= in.size()) return make_error(arg + " needs a value");
    return option_with_value(arg, inline_value.empty() ? in[++i] : inline_value, a);
  }
  return {};
}

// Options from in[i] up to the first word that is not one; "--" ends them
// for good (`ended`).
Status parse_options(const std::vector<std::string>& in, std::size_t& i, Args& a, bool& ended) {
  for (; !ended && i < in.size(); ++i) {
    const std::string& arg = in[i];
    if (arg.empty() || arg[0] != '-' || arg == "-") break;
    if (arg == "--") {
      ended = true;
      ++i;
      break;
    }
    if (auto st = parse_option(in, i, a); !st) return st;
  }
  return {};
}

// trex put|get [options] WORD... : options anywhere before "--".
Result<Args> parse_transfer(const std::vector<std::string>& in) {
  Args a;
  a.files = in[0] == "put" ? FileCommand::kPut : FileCommand::kGet;
  std::vector<std::string> words;
  bool ended = false;
  for (std::size_t i = 1; i < in.size();) {
    if (auto st = parse_options(in, i, a, ended); !st) return st.error();
    if (i < in.size()) words.push_back(in[i++]);
  }
  if (a.help || a.version) return a;
  if (a.shell || a.fan_out || a.no_stdin || a.json || a.gather) {
    return make_error("trex " + in[0] + " takes no -c, -H, -g, --hosts-file, -n, --json or -b");
  }
  const bool put = a.files == FileCommand::kPut;
  if (words.size() < 2) {
    return make_error(put ? "usage: trex put [-r] [-p] LOCAL... HOST:/REMOTE"
                          : "usage: trex get [-r] [-p] HOST:/REMOTE... LOCAL");
  }
  a.destination = words.back();
  words.pop_back();
  const std::string& remote_word = put ? a.destination : words.front();
  auto remote = parse_remote(remote_word);
  if (!remote) return remote.error();
  a.hosts.push_back(remote->host);
  if (put) {
    a.sources = std::move(words);
    a.destination = remote->path;
    return a;
  }
  for (const auto& w : words) {
    auto r = parse_remote(w);
    if (!r) return r.error();
    if (r->host != remote->host) return make_error("trex get copies from one host at a time");
    a.sources.push_back(r->path);
  }
  return a;
}

}  // namespace

Result<RemotePath> parse_remote(const std::string& word) {
  std::size_t colon = std::string::npos;
  if (!word.empty() && word.front() == '[') {
    const auto close = word.find(']');
    if (close != std::string::npos && close + 1 < word.size() && word[close + 1] == ':') {
      colon = close + 1;
    }
  } else {
    colon = word.find(':');
  }
  if (colon == std::string::npos || colon == 0) {
    return make_error("'" + word + "' is not HOST:/PATH");
  }
  // HOST:PORT:/PATH: a path is absolute, so digits after the host are a port.
  if (colon + 1 < word.size() && word[colon + 1] != '/') {
    const auto second = word.find(':', colon + 1);
    const std::string digits = word.substr(colon + 1, second - colon - 1);
    if (second != std::string::npos && !digits.empty() &&
        digits.find_first_not_of("0123456789") == std::string::npos) {
      colon = second;
    }
  }
  RemotePath r{word.substr(0, colon), word.substr(colon + 1)};
  if (r.path.empty() || r.path.front() != '/') {
    return make_error("the remote path in '" + word + "' must be absolute (HOST:/PATH)");
  }
  return r;
}

// Options may come before and after HOST, as ssh takes them, up to the
// first word that is not an option (the command) or "--".
Result<Args> parse_args(const std::vector<std::string>& in) {
  // A host named put or get is written put:7443 (or given by its address).
  if (!in.empty() && (in[0] == "put" || in[0] == "get")) return parse_transfer(in);
  Args a;
  std::size_t i = 0;
  bool ended = false;
  if (auto st = parse_options(in, i, a, ended); !st) return st.error();
  if (!a.fan_out && !a.help && !a.version) {
    if (i >= in.size()) return make_error("no host given (try trex --help)");
    a.hosts.push_back(in[i++]);
    if (auto st = parse_options(in, i, a, ended); !st) return st.error();
  }
  if (a.help || a.version) return a;
  if (a.gather && a.json) return make_error("-b and --json cannot be combined: choose one");
  if (!a.control.empty() && (a.fan_out || a.shell || i < in.size())) {
    return make_error("-O " + a.control + " takes one HOST and no command");
  }
  if (a.shell) {
    if (i < in.size()) return make_error("-c takes one shell string; quote the whole command");
    if (a.shell_command.empty()) return make_error("-c needs a non-empty shell command");
  } else {
    a.argv.assign(in.begin() + static_cast<std::ptrdiff_t>(i), in.end());
  }
  if (a.tty == TtyMode::kForce && (a.fan_out || a.json || a.gather || a.no_stdin)) {
    return make_error("-t is for one host, without --json, -b or -n");
  }
  if (a.fan_out && !a.shell && a.argv.empty()) {
    return make_error("fan-out needs a command (interactive mode is for one host)");
  }
  if (a.fan_out && a.hosts.empty() && a.hosts_file.empty() && a.groups.empty()) {
    return make_error("-H needs a host");
  }
  return a;
}

Result<std::vector<std::string>> read_hosts_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot read hosts file " + path);
  std::vector<std::string> hosts;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    hosts.push_back(line.substr(b, e - b + 1));
  }
  if (hosts.empty()) return make_error("hosts file " + path + " lists no hosts");
  return hosts;
}

}  // namespace trex::client

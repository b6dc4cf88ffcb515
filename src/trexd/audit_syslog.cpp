#include "trexd/audit_syslog.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "trex/audit_events.hpp"

namespace trex::trexd {
namespace {

constexpr int kAuthpriv = 10;                   // RFC 5424 facility 10: security/authorization
constexpr int kNotice = 5, kInformational = 6;  // severities
// 32473 is the enterprise number RFC 5612 sets aside for examples; trex has
// none of its own.
constexpr char kSdId[] = "trex@32473";

// An SD-PARAM value: '"', '\' and ']' escaped (RFC 5424, 6.3.3).
std::string sd_value(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

// A header field: printable US-ASCII without spaces, at most `max`, else "-".
std::string header_field(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return "-";
  for (const char c : s) {
    if (c < 33 || c > 126) return "-";
  }
  return std::string(s);
}

// "ts" and "seq" lead every record line (Chain::seal writes them first).
std::string_view leading_field(std::string_view line, std::string_view key, char end) {
  const std::string prefix = "\"" + std::string(key) + "\":";
  const auto at = line.find(prefix);
  if (at == std::string_view::npos || at > 64) return {};
  auto value = line.substr(at + prefix.size());
  if (end == '"') {
    if (value.empty() || value[0] != '"') return {};
    value.remove_prefix(1);
  }
  return value.substr(0, value.find(end));
}

}  // namespace

AuditSyslog::AuditSyslog(std::string socket, std::shared_ptr<spdlog::logger> log)
    : socket_(std::move(socket)), log_(std::move(log)), pid_(static_cast<long>(::getpid())) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
}

trex::Result<std::unique_ptr<AuditSyslog>> AuditSyslog::open(const std::string& socket,
                                                             std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<AuditSyslog> s(new AuditSyslog(socket, std::move(log)));
  if (auto st = s->connect(); !st) return trex::make_error("--audit-syslog: " + st.message());
  return s;
}

trex::Status AuditSyslog::connect() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.empty() || socket_.size() >= sizeof addr.sun_path) {
    return trex::make_error("bad socket path '" + socket_ + "'");
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_) return trex::make_error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    fd_.reset();
    return trex::make_error("cannot connect to " + socket_ + ": " + std::strerror(e));
  }
  return {};
}

std::string AuditSyslog::message(std::string_view event, std::string_view line,
                                 std::string_view hostname, long pid) {
  const bool notice = event == audit::event::kAuthFail || event == audit::event::kExecDenied;
  std::string m = "<" + std::to_string(kAuthpriv * 8 + (notice ? kNotice : kInformational)) + ">1 ";
  m += header_field(leading_field(line, "ts", '"'), 40) + ' ' + header_field(hostname, 255) +
       " trexd " + std::to_string(pid) + ' ' + header_field(event, 32) + " [" + kSdId;
  m += " seq=\"" + sd_value(leading_field(line, "seq", ',')) + "\" event=\"" + sd_value(event) +
       "\"] ";
  m += line;
  return m;
}

void AuditSyslog::send(std::string_view event, std::string_view line) {
  const std::string m = message(event, line, hostname_, pid_);
  std::string why;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The daemon may have restarted (a new socket at the same path): reconnect once.
    if (!fd_) {
      if (auto st = connect(); !st) {
        why = st.message();
        break;
      }
    }
    if (::send(fd_.get(), m.data(), m.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(m.size())) {
      if (failing_) log_->info("audit-syslog: sending again ({} records not sent)", dropped_);
      failing_ = false;
      return;
    }
    const int error = errno;
    why = std::strerror(error);
    if (error == EAGAIN || error == EMSGSIZE || error == EINTR) break;  // full, or too long
    fd_.reset();
  }
  ++dropped_;
  if (!failing_) {
    log_->warn("audit-syslog: a record was not sent to {} ({}); the audit file has it", socket_,
               why);
  }
  failing_ = true;
}

}  // namespace trex::trexd

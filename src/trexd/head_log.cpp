#include "trexd/head_log.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace trex::trexd {
namespace {

// "<PRI>Mmm dd hh:mm:ss trexd[PID]: ", local time, as glibc's syslog(3).
std::string header() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
  return "<" + std::to_string(LOG_AUTH | LOG_NOTICE) + ">" + stamp + " trexd[" +
         std::to_string(getpid()) + "]: ";
}

}  // namespace

HeadLog::HeadLog(std::string socket_path, std::string trail, std::shared_ptr<spdlog::logger> log)
    : socket_path_(std::move(socket_path)), trail_(std::move(trail)), log_(std::move(log)) {
  if (socket_path_ != "none") fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

std::string HeadLog::text(const audit::Anchor& head, std::string_view when,
                          const std::string& trail) {
  return "audit head " + head.text() + " (" + std::string(when) + ") trail=" + trail;
}

void HeadLog::send(const audit::Anchor& head, std::string_view when) {
  if (socket_path_ == "none") return;
  const std::string msg = header() + text(head, when, trail_);
  std::lock_guard lock(mu_);
  std::string error;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd_) {
    error = std::string("socket: ") + std::strerror(errno);
  } else if (socket_path_.size() >= sizeof(addr.sun_path)) {
    error = "socket path too long";
  } else {
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    // Never block on a stalled syslog daemon: the head is also in the
    // state file, and sessions must not wait for it.
    if (::sendto(fd_.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
      error = std::strerror(errno);
    }
  }
  if (error.empty()) {
    if (failing_) log_->info("audit head: syslog {} takes it again", socket_path_);
    failing_ = false;
    return;
  }
  if (!failing_) {
    log_->warn(
        "audit head: cannot send it to syslog {}: {} (it is still in the state file); "
        "head {} ({})",
        socket_path_, error, head.text(), when);
  }
  failing_ = true;
}

}  // namespace trex::trexd

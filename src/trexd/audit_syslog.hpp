// --audit-syslog: a copy of every audit record, the same JSON line, sent to
// the syslog daemon's datagram socket as an RFC 5424 message (facility
// authpriv; MSGID the event; structured data [trex@32473 seq event]) for a
// lab's rsyslog to forward to a central collector. The file stays the
// record: a copy that cannot be sent (daemon gone, queue full) is counted and
// reported in server.log, and never holds up trexd. Used from the audit
// writer's lock only, so not thread-safe on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::trexd {

class AuditSyslog {
 public:
  // Connects to `socket` (fails naming it: --audit-syslog asked for a copy
  // that would go nowhere).
  static trex::Result<std::unique_ptr<AuditSyslog>> open(const std::string& socket,
                                                         std::shared_ptr<spdlog::logger> log);
  void send(std::string_view event, std::string_view line);
  std::uint64_t dropped() const { return dropped_; }

  // The datagram for one record (pure; public for the unit test).
  static std::string message(std::string_view event, std::string_view line,
                             std::string_view hostname, long pid);

 private:
  AuditSyslog(std::string socket, std::shared_ptr<spdlog::logger> log);
  trex::Status connect();

  std::string socket_;
  std::shared_ptr<spdlog::logger> log_;
  trex::util::UniqueFd fd_;
  std::string hostname_;
  long pid_;
  std::uint64_t dropped_ = 0;
  bool failing_ = false;  // warned about the current run of drops
};

}  // namespace trex::trexd

// Copies of the audit trail's head (SEQ:HASH of its last record) outside the
// trail, so that a trail cut short or rolled back cannot also take the
// evidence with it: syslog datagrams, formatted as syslog(3) sends them
// (RFC 3164, facility auth, severity notice), to a socket of trexd's
// choosing (--audit-head-syslog, /dev/log by default: the machine's syslog
// daemon or the journal). Not authpriv: that facility carries
// --audit-syslog's copies of the records, which a collector may write out
// as a JSONL trail, and a head line there would break its chain.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "trex/audit.hpp"
#include "util/unique_fd.hpp"

namespace trex::trexd {

class HeadLog {
 public:
  // `socket_path` "none": send() does nothing.
  HeadLog(std::string socket_path, std::string trail, std::shared_ptr<spdlog::logger> log);
  // Sends "audit head SEQ:HASH (WHEN) trail=PATH". A failure goes to
  // server.log (once until a send works again) and is otherwise ignored:
  // the state file next to the trail still holds the head.
  void send(const audit::Anchor& head, std::string_view when);
  // The message text, without the syslog header.
  static std::string text(const audit::Anchor& head, std::string_view when,
                          const std::string& trail);

 private:
  std::string socket_path_, trail_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  util::UniqueFd fd_;
  bool failing_ = false;
};

}  // namespace trex::trexd

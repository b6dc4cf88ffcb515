// trexd's operational log (server.log, rotating; stderr in a terminal;
// syslog on request) and the start-up/shut-down wiring of the server.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "trex/audit.hpp"
#include "trex/config.hpp"
#include "trex/result.hpp"
#include "trex/server.hpp"
#include "trexd/audit_syslog.hpp"
#include "trexd/head_log.hpp"

namespace trex::trexd {

trex::Result<std::shared_ptr<spdlog::logger>> make_logger(const trex::config::ServerConfig& c);

struct Running {
  std::unique_ptr<AuditSyslog> audit_syslog;  // outlives the writer that sends to it
  std::unique_ptr<HeadLog> heads;             // before audit: the writer reports rotations to it
  std::unique_ptr<trex::audit::Writer> audit;
  std::unique_ptr<trex::server::Server> server;
};

// Loads certificates, CRL, policy and the audit trail, listens, and records
// server_start. Fails naming the file or address that stopped it.
trex::Result<Running> start(const trex::config::ServerConfig& c,
                            const std::shared_ptr<spdlog::logger>& log);
// Sends the audit trail's head to syslog; `when`: start, interval, ...
void report_head(Running& running, std::string_view when);
// Records server_stop; returns the process exit status.
int finish(Running& running, const std::shared_ptr<spdlog::logger>& log);

}  // namespace trex::trexd

#include "trexd/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>

#include "trex/audit_events.hpp"

namespace trexd {

using trex::make_error;

trex::Result<std::shared_ptr<spdlog::logger>> make_logger(const trex::config::ServerConfig& c) {
  std::error_code ec;
  std::filesystem::create_directories(c.log_dir, ec);
  if (ec) return make_error("cannot create log directory " + c.log_dir + ": " + ec.message());
  std::vector<spdlog::sink_ptr> sinks;
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        c.log_dir + "/server.log", 10 * 1024 * 1024, 5));
  } catch (const spdlog::spdlog_ex& e) {
    return make_error("cannot open " + c.log_dir + "/server.log: " + e.what());
  }
  if (isatty(STDERR_FILENO))
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (c.syslog) {
    sinks.push_back(
        std::make_shared<spdlog::sinks::syslog_sink_mt>("trexd", LOG_PID, LOG_DAEMON, true));
  }
  auto log = std::make_shared<spdlog::logger>("trexd", sinks.begin(), sinks.end());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  log->flush_on(spdlog::level::info);
  return log;
}

trex::Result<Running> start(const trex::config::ServerConfig& c,
                            const std::shared_ptr<spdlog::logger>& log) {
  auto ctx = trex::tls::Context::server({c.ca, c.cert, c.key, c.crl});
  if (!ctx) return ctx.error();
  auto policy = std::make_shared<trex::policy::Policy>(trex::policy::Policy::allow_all());
  if (!c.policy.empty()) {
    auto p = trex::policy::Policy::load_file(c.policy);
    if (!p) return p.error();
    *policy = std::move(*p);
    log->info("policy {}: {} rules", c.policy, policy->rules().size());
  } else {
    log->warn("no policy file: every certificate signed by the CA may run anything");
  }
  const std::string audit_path = c.audit_path();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(audit_path).parent_path(), ec);
  auto writer = trex::audit::Writer::open({audit_path, c.audit_fsync, c.audit_max_bytes});
  if (!writer) return writer.error();
  Running r;
  r.audit = std::move(*writer);
  r.server = std::make_unique<trex::server::Server>(c, *ctx, policy, *r.audit, log);
  if (auto st = r.server->listen(); !st) return st.error();
  const trex::audit::ServerLife rec{TREX_VERSION, r.server->address(), static_cast<long>(getpid()),
                                    r.audit->recovery()};
  if (auto st = r.audit->write(trex::audit::event::kServerStart, rec.to_json()); !st) {
    return make_error("cannot write the audit trail: " + st.message());
  }
  log->info("trexd {} listening on {} (pid {})", TREX_VERSION, r.server->address(), getpid());
  return r;
}

int finish(Running& r, const std::shared_ptr<spdlog::logger>& log) {
  const trex::audit::ServerLife rec{
      TREX_VERSION, r.server->address(), static_cast<long>(getpid()), {}};
  if (auto st = r.audit->write(trex::audit::event::kServerStop, rec.to_json()); !st) {
    log->error("audit: cannot record server_stop: {}", st.message());
  }
  log->info("trexd stopped");
  log->flush();
  return 0;
}

}  // namespace trexd

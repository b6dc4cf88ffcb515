#include "trexd/startup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>

#include "trex/audit_events.hpp"
#include "trex/exec.hpp"
#include "util/unique_fd.hpp"

namespace trex::trexd {

using trex::make_error;

namespace {

// The log files hold names, addresses and serials: folders trexd creates
// are 0750 and files 0640, whatever the umask (mkdir and open only ever
// take bits away from these modes). An existing folder is left as the
// operator made it.
trex::Status make_log_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (auto st = make_log_dir(dir.parent_path()); !st) return st;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return make_error("cannot create log directory " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

// server.log and each file spdlog's rotation starts: created 0640 before
// spdlog opens it (fopen would use 0666 & ~umask), and tightened if an older
// trexd left it readable by others.
spdlog::file_event_handlers private_log_files() {
  spdlog::file_event_handlers h;
  h.before_open = [](const spdlog::filename_t& name) {
    const trex::util::UniqueFd created(::open(name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
  };
  h.after_open = [](const spdlog::filename_t&, std::FILE* f) {
    struct stat st {};
    if (::fstat(fileno(f), &st) == 0 && (st.st_mode & 0137) != 0) {
      ::fchmod(fileno(f), st.st_mode & 0640);
    }
  };
  return h;
}

}  // namespace

trex::Result<std::shared_ptr<spdlog::logger>> make_logger(const trex::config::ServerConfig& c) {
  if (auto st = make_log_dir(c.log_dir); !st) return st.error();
  std::vector<spdlog::sink_ptr> sinks;
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        c.log_dir + "/server.log", 10 * 1024 * 1024, 5, false, private_log_files()));
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

namespace {

// Which fence commands run in, and why not the cgroup where it is not.
void log_fence(const trex::exec::Fence& f, spdlog::logger& log) {
  if (f.cgroup.empty()) {
    log.info("commands are fenced by a reaper each, without a cgroup: {}", f.note);
    return;
  }
  std::string limits;
  if (f.memory) limits += " memory.max";
  if (f.pids) limits += " pids.max";
  log.info("commands are fenced by a cgroup each under {} (cgroup.kill){}; limits per command:{}{}",
           f.cgroup, f.reaper ? " and a reaper (trexd is PID 1)" : "",
           limits.empty() ? " none" : limits, f.note.empty() ? "" : " (" + f.note + ")");
}

}  // namespace

trex::Result<Running> start(const trex::config::ServerConfig& c,
                            const std::shared_ptr<spdlog::logger>& log) {
  auto fence = trex::exec::prepare(c.cgroup);
  if (!fence) return fence.error();
  log_fence(*fence, *log);
  auto ctx = trex::tls::Context::server({c.ca, c.cert, c.key, c.crl, c.crl_dir});
  if (!ctx) return ctx.error();
  auto loaded = trex::server::load_policy(c);
  if (!loaded) return loaded.error();
  auto policy = std::make_shared<trex::policy::Policy>(std::move(*loaded));
  if (policy->is_allow_all()) {
    log->warn("--allow-all: no policy, every certificate signed by the CA may run anything");
  } else {
    log->info("policy {}: {} rules", c.policy, policy->rules().size());
  }
  const std::string audit_path = c.audit_path();
  if (auto st = make_log_dir(std::filesystem::path(audit_path).parent_path()); !st) {
    return st.error();
  }
  Running r;
  r.heads = std::make_unique<HeadLog>(c.audit_head_syslog, audit_path, log);
  trex::audit::Writer::Options options;
  options.path = audit_path;
  options.fsync = c.audit_fsync;
  options.max_bytes = c.audit_max_bytes;
  options.head_path = audit_path + ".head";
  options.accept_shortened = c.accept_shortened_trail;
  options.on_rotate = [heads = r.heads.get()](const trex::audit::Anchor& a) {
    heads->send(a, "rotation");
  };
  if (c.audit_syslog) {
    auto sys = AuditSyslog::open(c.audit_syslog_socket, log);
    if (!sys) return sys.error();
    r.audit_syslog = std::move(*sys);
    options.mirror = [s = r.audit_syslog.get()](std::string_view event, std::string_view line) {
      s->send(event, line);
    };
    log->info("audit records also go to syslog at {}", c.audit_syslog_socket);
  }
  auto writer = trex::audit::Writer::open(options);
  if (!writer) return writer.error();
  r.audit = std::move(*writer);
  if (r.audit->recovery().contains("trail_shortened")) {
    log->warn(
        "--accept-shortened-trail: going on from a trail that does not reach the head in "
        "{}.head: {}",
        audit_path, r.audit->recovery()["trail_shortened"].dump());
  }
  r.server = std::make_unique<trex::server::Server>(c, *ctx, policy, *r.audit, log);
  if (auto st = r.server->listen(); !st) return st.error();
  const trex::audit::ServerLife rec{TREX_VERSION, r.server->address(), static_cast<long>(getpid()),
                                    r.audit->recovery()};
  if (auto st = r.audit->write(trex::audit::event::kServerStart, rec.to_json()); !st) {
    return make_error("cannot write the audit trail: " + st.message());
  }
  log->info("trexd {} listening on {} (pid {})", TREX_VERSION, r.server->address(), getpid());
  report_head(r, "start");
  return r;
}

void report_head(Running& r, std::string_view when) {
  if (const auto head = r.audit->head()) r.heads->send(*head, when);
}

int finish(Running& r, const std::shared_ptr<spdlog::logger>& log) {
  const trex::audit::ServerLife rec{
      TREX_VERSION, r.server->address(), static_cast<long>(getpid()), {}};
  if (auto st = r.audit->write(trex::audit::event::kServerStop, rec.to_json()); !st) {
    log->error("audit: cannot record server_stop: {}", st.message());
  }
  report_head(r, "stop");
  log->info("trexd stopped");
  log->flush();
  return 0;
}

}  // namespace trex::trexd

#include "server/plan.hpp"

#include <algorithm>

namespace trex::server {
namespace {

CommandLimits limits_for(const proto::ExecRequest& req, const policy::Decision& d,
                         const config::ServerConfig& cfg) {
  // The tightest of the server's, the rule's and the client's own limit.
  std::uint32_t timeout = cfg.command_timeout;
  if (d.timeout_s) timeout = std::min(timeout, *d.timeout_s);
  if (req.timeout_s > 0) timeout = std::min(timeout, req.timeout_s);
  CommandLimits lim;
  lim.timeout = std::chrono::seconds(timeout);
  lim.max_output = std::min(cfg.max_output, d.max_output.value_or(cfg.max_output));
  lim.kill_grace = std::chrono::seconds(cfg.kill_grace);
  lim.linger = d.linger;
  return lim;
}

}  // namespace

CommandPlan plan_command(const proto::ExecRequest& req, const policy::Decision& d,
                         const Account& acct, const Requester& who,
                         const config::ServerConfig& cfg) {
  exec::Spec spec;
  if (req.shell) {
    spec.program = "/bin/sh";
    spec.argv = {"sh", "-c", req.command};
  } else {
    spec.argv = req.argv;
    spec.program = req.argv.empty() ? std::string() : req.argv[0];
  }
  spec.cwd = d.cwd.value_or(d.run_as ? acct.home : "/");
  spec.env = {"PATH=" + std::string(exec::kCommandPath),
              "HOME=" + acct.home,
              "USER=" + acct.name,
              "LANG=C.UTF-8",
              "TREX_CLIENT=" + who.cn,
              "TREX_SESSION=" + std::to_string(who.conn)};
  spec.run_as = d.run_as;
  spec.umask = d.umask;
  spec.limits = d.limits;
  spec.stdin_open = req.stdin_open;
  return {std::move(spec), limits_for(req, d, cfg)};
}

audit::CommandText command_text(const proto::ExecRequest& req) {
  return {req.shell, req.shell ? std::vector<std::string>{} : req.argv,
          req.shell ? req.command : std::string()};
}

}  // namespace trex::server

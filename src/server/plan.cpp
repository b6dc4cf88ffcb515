#include "server/plan.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>

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

Account look_up_account(const std::optional<std::string>& run_as) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (run_as) {
    getpwnam_r(run_as->c_str(), &pw, buf, sizeof(buf), &found);
  } else {
    getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found);
  }
  if (found == nullptr) return {run_as.value_or(std::to_string(geteuid())), "/", "/bin/sh"};
  // Accounts like nobody have a home that does not exist (/nonexistent).
  struct stat st {};
  const bool home_ok =
      found->pw_dir != nullptr && ::stat(found->pw_dir, &st) == 0 && S_ISDIR(st.st_mode);
  const bool has_shell = found->pw_shell != nullptr && found->pw_shell[0] == '/';
  return {found->pw_name, home_ok ? found->pw_dir : "/", has_shell ? found->pw_shell : "/bin/sh"};
}

}  // namespace

// The account's name, home and shell for a command's environment, looked up
// at most once a second per account: each lookup reads /etc/passwd (about
// 20 us, on the path of every command). Who the command runs as is looked
// up afresh (exec::resolve_user); only these three values may be a second old.
Account account_for(const std::optional<std::string>& run_as) {
  struct Cached {
    Account account;
    std::chrono::steady_clock::time_point until;
  };
  static std::mutex mu;
  static std::map<std::string, Cached> cache;  // keys: run_as, or "" for trexd's own
  const auto now = std::chrono::steady_clock::now();
  const std::string key = run_as ? "=" + *run_as : "";
  {
    const std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end() && now < it->second.until) {
      return it->second.account;
    }
  }
  Account account = look_up_account(run_as);
  const std::lock_guard lock(mu);
  if (cache.size() >= 64) cache.clear();  // run_as names come from the policy: few
  cache[key] = {account, now + std::chrono::seconds(1)};
  return account;
}

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

CommandPlan plan_terminal(const proto::TerminalRequest& req, const policy::Decision& d,
                          const Account& acct, const Requester& who,
                          const config::ServerConfig& cfg) {
  proto::ExecRequest exec = req.command.value_or(proto::ExecRequest{});
  exec.stdin_open = true;
  CommandPlan plan = plan_command(exec, d, acct, who, cfg);
  if (!req.command) {
    const auto slash = acct.shell.rfind('/');
    plan.spec.program = acct.shell;
    plan.spec.argv = {"-" + acct.shell.substr(slash == std::string::npos ? 0 : slash + 1)};
    plan.spec.cwd = d.cwd.value_or(acct.home);
    plan.spec.env.push_back("SHELL=" + acct.shell);
  }
  plan.spec.env.push_back("TERM=" + (req.term.empty() ? std::string("dumb") : req.term));
  plan.spec.terminal = exec::Terminal{static_cast<unsigned short>(req.size.rows),
                                      static_cast<unsigned short>(req.size.cols)};
  // A client that knows no size (not on a terminal) gets the classic one.
  if (plan.spec.terminal->rows == 0 || plan.spec.terminal->cols == 0) {
    plan.spec.terminal = exec::Terminal{};
  }
  plan.limits.terminal = true;
  plan.limits.record_input = d.record_input;
  return plan;
}

audit::CommandText command_text(const proto::TerminalRequest& req, const Account& acct) {
  if (req.command) return command_text(*req.command);
  return {false, {acct.shell}, {}};
}

audit::Json terminal_audit(const proto::TerminalRequest& req) {
  return audit::Json{{"term", req.term},
                     {"rows", req.size.rows},
                     {"cols", req.size.cols},
                     {"login", !req.command}};
}

std::string recording_name(const std::string& id, std::int64_t now) {
  const std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return "tty-" + std::string(stamp) + "-" + id + ".cast";
}

policy::Request policy_request(const proto::TerminalRequest& req) {
  policy::Request r;
  if (req.command) {
    r.shell = req.command->shell;
    r.argv = req.command->argv;
    r.command = req.command->command;
  }
  r.tty = true;
  r.login = !req.command;
  return r;
}

audit::CommandText command_text(const proto::ExecRequest& req) {
  return {req.shell, req.shell ? std::vector<std::string>{} : req.argv,
          req.shell ? req.command : std::string()};
}

}  // namespace trex::server

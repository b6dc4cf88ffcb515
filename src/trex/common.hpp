// Private to the trex program: what main, interactive mode and fan-out share.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trex/client.hpp"
#include "trex/client_args.hpp"
#include "trex/client_config.hpp"
#include "trex/config.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_cli {

inline constexpr int kOwnFailure = 255;

// Prints "trex: MESSAGE" on stderr and returns 255.
int fail(const std::string& message);

// Reads the per-user config (--config, TREX_CONFIG, XDG, ~/.config/trex/);
// its connect_timeout applies unless the flag was given.
trex::Status load_config(trex::client::Args& args);
const trex::config::ClientConfig& client_config();

// The client context for a host word: flags, then TREX_CA/TREX_CERT/TREX_KEY,
// then the host's config entry, the config's keys, its pki_dir, then
// ~/.config/trex/. Checks the files first so errors name the file (and an
// expired cert's date). Cached per set of files; thread-safe.
trex::Result<std::shared_ptr<trex::tls::Context>> context_for(const std::string& word,
                                                              const trex::client::Args& args);

// The certificate files for a host word (the lookup context_for uses).
trex::config::CertFiles cert_files_for(const std::string& word, const trex::client::Args& args);
// How long to keep a connection to a host word for reuse: --persist, the
// host entry's persist, the config's; 0: not.
std::uint32_t persist_for(const std::string& word, const trex::client::Args& args);

// The hosts to run on: HOST or -H words, -g groups and --hosts-file, with
// ranges expanded and duplicates (the same address and port) removed.
trex::Result<std::vector<std::string>> host_list(const trex::client::Args& args);

// A fan-out reads no stdin unless --stdin-all: stdin that holds data (a
// pipe or file, not a terminal, not -n) is refused, so nothing is silently
// dropped. With --stdin-all it is read once into memory, and each host gets
// its own descriptor on that copy from open_fanout_stdin() (-1: none).
trex::Status prepare_fanout_stdin(const trex::client::Args& args);
int open_fanout_stdin();

// A host word: a config alias, else HOST[:PORT].
trex::Result<trex::client::Target> target_of(const std::string& word,
                                             const trex::client::Args& args);

trex::proto::ExecRequest request_of(const trex::client::Args& args);

// How long past --timeout trex still waits for the server's own kill,
// grace and audit before it gives up by itself.
inline constexpr std::chrono::seconds kResultGrace{15};
// trex's own clock for one command from now: --timeout + kResultGrace, or
// in fan-out --host-timeout; none when neither is given.
trex::client::RunLimits run_limits(const trex::client::Args& args, bool fan_out);

// Interactive mode on one session. Returns trex's exit status.
int interactive(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx);
// The same on a session already open.
int interactive_on(const trex::client::Args& args, trex::client::Session& session);
// A terminal session (trex -t, or trex HOST alone on a terminal: then a
// policy that allows no terminal falls back to interactive mode). Returns
// trex's exit status.
int terminal(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx);
// -v: where trex connected, whom it found there and how.
void describe_session(const trex::client::Session& s);
// trex put / trex get on one session. Returns the largest status.
int transfer(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx);
// Fan-out over several hosts. Returns the largest status.
int fan_out(const trex::client::Args& args, const std::vector<std::string>& hosts);

// Prints what trex says about a command's result (denied, not found, ...)
// and returns trex's exit status for it.
int report_exit(const trex::client::Args& args, const trex::proto::ExitInfo& info);

// Connection reuse (README "Reusing connections"). A plan: where the
// master's socket is and how long a master keeps its connections; none
// when reuse is off or refused (then a warning said why).
struct ReusePlan {
  std::string socket;
  std::chrono::seconds persist{0};
  bool start_master = true;  // no master answered: this run may become one
};
std::optional<ReusePlan> reuse_plan(const trex::client::Args& args,
                                    const trex::client::Target& target);
// trex -O check|exit HOST: is there a master for HOST, or end it. Returns
// trex's exit status (255: none).
int control_master(const trex::client::Args& args);
// Runs the command through the master at plan.socket: trex's exit status,
// or nothing when no master took it (then trex connects by itself).
std::optional<int> run_via_master(const trex::client::Args& args, ReusePlan& plan);

struct MasterSetup {
  std::shared_ptr<trex::tls::Context> ctx;
  trex::client::Target target;
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::seconds persist{0};
  std::string socket;
};
// The listening socket of a new master, bound and renamed to `path`.
trex::Result<trex::util::UniqueFd> listen_for_reuse(const std::string& path);
// Turns this (freshly forked) process into the master: it listens, writes
// a byte to `ready` and serves; never returns.
[[noreturn]] void become_master(const MasterSetup& setup, trex::util::UniqueFd ready,
                                trex::client::Session session);
// After a command: forks a master that keeps `session` (this process must
// not use it afterwards). Says why not with -v when it cannot.
void keep_for_reuse(const trex::client::Args& args, const ReusePlan& plan,
                    std::shared_ptr<trex::tls::Context> ctx, trex::client::Session& session);

// Self-pipe written by the SIGINT handler (one byte per interrupt); -1
// before install.
int interrupt_fd();
void install_interrupt_handler();
void drain_interrupts();
// While set, an interrupt is also remembered as typed at the prompt;
// take_prompt_interrupt() says whether one was, and forgets it.
void set_at_prompt(bool on);
bool take_prompt_interrupt();

// Warns on stderr, at most once a day, when `cert_path` expires within 7 days.
void warn_if_expiring(const std::string& cert_path,
                      std::chrono::system_clock::time_point not_after);

}  // namespace trex::trex_cli

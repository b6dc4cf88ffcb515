// Test harness for integration tests: temporary folders, a PKI made by the
// real tools/pki, the real trexd started on 127.0.0.1 with port 0, and the
// real trex run as a subprocess with its output and exit status captured.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trex::testing {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int status = -1;  // exit status, 128+N when killed by signal N, -1 when timed out
  std::string out, err;
  bool timed_out = false;
};

struct RunOptions {
  std::string stdin_data;
  bool close_stdin = true;  // EOF after stdin_data (else /dev/null when empty)
  // Extra "K=V". The test's environment is kept, except that TREX_CONFIG and
  // XDG_CONFIG_HOME are unset and HOME is a folder that does not exist.
  std::vector<std::string> env;
  std::chrono::milliseconds timeout = 60s;
  std::string cwd;
};

// TREX_TEST_TIME_SCALE (default 1): a factor for the harness's and tests'
// timeouts, set by the sanitizer test presets and tools/test.sh, where
// everything runs several times slower. scaled(d) is d times that factor.
double time_scale();
std::chrono::milliseconds scaled(std::chrono::milliseconds d);

// Polls `cond` every 20 ms until it holds (true) or scaled(timeout) has
// passed (false). For state another process reaches in its own time: an
// audit record written after the client has its answer, a process ending.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s);

// Is this test binary built with ASan or TSan? (The programs under test are
// built with the same flags.)
bool under_asan();
bool under_tsan();

// Fails the current test when `output` (a program's stderr) holds a
// sanitizer report (ASan, LSan, UBSan, TSan). run(), Child::wait() and
// ~Trexd apply it to trex, trex-audit and trexd.
void expect_no_sanitizer_report(const std::string& who, const std::string& output);

// Runs argv to completion, feeding stdin and capturing both outputs.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// A running child process with pipes, for tests that act mid-command.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const RunOptions& opts = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Reads stdout until `needle` appears or the timeout passes.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout = 20s);
  void kill(int sig);
  RunResult wait(std::chrono::milliseconds timeout = 60s);
  const std::string& out() const { return out_; }
  // With close_stdin = false: more input for the child, then EOF.
  bool write_stdin(const std::string& data);
  void close_stdin();

 private:
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  bool reaped_ = false;
  int status_ = -1;
};

// A PKI made by tools/pki in a temporary folder: CA, server "server", client "client".
class Pki {
 public:
  explicit Pki(const std::string& dir, const std::string& algo = "ed25519");
  // `tools/pki init --intermediate`: ca() is the root, the intermediate signs
  // "server" and "client", whose files hold leaf + intermediate; crl() holds
  // both CAs' CRLs, crl_dir() one file each.
  struct TwoLevel {};
  Pki(const std::string& dir, TwoLevel);
  // A copy of `from` (CA, certificates, keys, CRL, index) in `dir`/pki: much
  // faster than making a new PKI, for tests that only need a private one.
  Pki(const std::string& dir, const Pki& from);
  // Runs tools/pki with --dir; fails the test on a non-zero exit unless allowed.
  RunResult pki(std::vector<std::string> args, bool expect_ok = true) const;
  void client(const std::string& name, std::vector<std::string> extra = {}) const;
  std::string dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.crt"; }
  std::string crl() const { return dir_ + "/crl.pem"; }
  std::string crl_dir() const { return dir_ + "/crls"; }
  std::string cert(const std::string& name) const { return dir_ + "/issued/" + name + ".crt"; }
  std::string key(const std::string& name) const { return dir_ + "/private/" + name + ".key"; }

 private:
  std::string dir_;
};

class Trexd {
 public:
  // Starts trexd with the PKI's server files, logs in `dir`/log, and waits
  // until it listens. Extra flags go after the defaults (and win). Without
  // --policy, --allow-all or --config in `extra`, --allow-all is added; the
  // audit head goes to no syslog unless `extra` names a socket.
  Trexd(const Pki& pki, const std::string& dir, std::vector<std::string> extra = {});
  // With add_defaults = false, only `extra` is passed (e.g. --config FILE);
  // the configuration must still put the log in `dir`/log.
  Trexd(const Pki& pki, const std::string& dir, std::vector<std::string> extra, bool add_defaults);
  ~Trexd();
  Trexd(const Trexd&) = delete;
  Trexd& operator=(const Trexd&) = delete;

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  std::string port() const;
  pid_t pid() const { return pid_; }
  std::string log_dir() const { return dir_ + "/log"; }
  std::string audit_path() const { return dir_ + "/log/audit.jsonl"; }
  std::string server_log() const;
  void signal(int sig) const;
  // Waits for exit; returns the exit status or -1 on timeout.
  // Timeouts given to the harness are multiplied by time_scale().
  int wait(std::chrono::milliseconds timeout = 30s);
  bool alive() const;
  // trex as client `name` against this server, `args` after HOST (the command).
  RunResult trex(const std::string& name, const std::vector<std::string>& args,
                 const RunOptions& opts = {}, const std::vector<std::string>& flags = {}) const;
  std::vector<std::string> trex_argv(const std::string& name, const std::vector<std::string>& args,
                                     const std::vector<std::string>& flags = {}) const;
  // Number of the server's descriptors and its RSS in KiB (from /proc).
  int open_fds() const;
  long rss_kib() const;
  // Child processes of trexd right now (pids from /proc).
  std::vector<pid_t> children() const;

 private:
  const Pki& pki_;
  std::string dir_;
  pid_t pid_ = -1;
  int status_ = -1;
  std::string address_;
};

// Audit trail lines parsed as JSON objects, for assertions.
std::vector<nlohmann::json> audit_records(const std::string& path);
// The records whose "event" is `event`.
std::vector<nlohmann::json> audit_records(const std::string& path, const std::string& event);
std::string read_file(const std::string& path);
// A new file is made mode 0600: tests copy keys with it, and trex warns
// about a key that others can read.
void write_file(const std::string& path, const std::string& data);
// Does /proc show a process with this pid (zombies count as present)?
bool process_exists(pid_t pid);
// Runs `trex-audit verify FILE` and returns its status.
int verify_trail(const std::string& audit_path);
// Polls `cond` every 20 ms until it holds (true) or scaled(timeout) passed.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 20s);
// UTC time `offset` from now in tools/pki's --start/--end form YYYYMMDDHHMMSSZ.
std::string pki_time(std::chrono::seconds offset);

}  // namespace trex::testing

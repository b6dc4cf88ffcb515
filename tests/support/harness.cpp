#include "support/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace trex::testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

pid_t spawn(const std::vector<std::string>& argv, const RunOptions& o, int* in_fd, int* out_fd,
            int* err_fd) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) _exit(126);
    // The tester's own ~/.config/trex must not decide what a test sees; a
    // test that wants a config or a HOME sets them in o.env.
    unsetenv("TREX_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", "/nonexistent/trex-test-home", 1);
    for (const auto& kv : o.env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  *in_fd = in[1];
  *out_fd = out[0];
  *err_fd = err[0];
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  return pid;
}

// Moves data between the pipes until both outputs end or the deadline.
bool pump(int& in_fd, std::string_view& in_data, bool close_in, int& out_fd, std::string& out,
          int& err_fd, std::string& err, Clock::time_point deadline) {
  if (in_fd >= 0 && in_data.empty() && close_in) {
    close(in_fd);
    in_fd = -1;
  }
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd p[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    if (poll(p, 3, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      int& fd = i == 0 ? out_fd : err_fd;
      if (fd < 0 || p[i].revents == 0) continue;
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n > 0) {
        (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      } else {
        close(fd);
        fd = -1;
      }
    }
    if (in_fd >= 0 && p[2].revents != 0) {
      const ssize_t n = write(in_fd, in_data.data(), std::min<std::size_t>(in_data.size(), 65536));
      if (n > 0) in_data.remove_prefix(static_cast<std::size_t>(n));
      if (n < 0 && errno != EAGAIN) in_data = {};
      if (in_data.empty() && close_in) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  return true;
}

}  // namespace

double time_scale() {
  static const double scale = [] {
    const char* v = std::getenv("TREX_TEST_TIME_SCALE");
    if (v == nullptr || *v == '\0') return 1.0;
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    return end != v && d >= 1.0 ? d : 1.0;  // only ever lengthens
  }();
  return scale;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds d) {
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(d.count()) * time_scale()));
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

bool under_asan() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

bool under_tsan() {
#if defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return true;
#endif
#endif
  return false;
}

void expect_no_sanitizer_report(const std::string& who, const std::string& output) {
  static constexpr const char* kMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                             "runtime error:", "WARNING: ThreadSanitizer"};
  for (const char* marker : kMarkers) {
    const auto at = output.find(marker);
    if (at == std::string::npos) continue;
    const auto from = output.rfind("\n", at);
    const std::string report = output.substr(from == std::string::npos ? 0 : from + 1, 20000);
    ADD_FAILURE() << who << " reported a sanitizer finding (" << marker << "):\n" << report;
    return;
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/trex-test-XXXXXX";
  const char* p = mkdtemp(tmpl);
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("TREX_KEEP_TMP") == nullptr) fs::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& o) {
  RunResult r;
  int in = -1, out = -1, err = -1;
  const pid_t pid = spawn(argv, o, &in, &out, &err);
  if (pid < 0) return r;
  std::string_view data = o.stdin_data;
  const bool finished =
      pump(in, data, o.close_stdin, out, r.out, err, r.err, Clock::now() + scaled(o.timeout));
  if (in >= 0) close(in);
  if (!finished) {
    ::kill(-pid, SIGKILL);
    r.timed_out = true;
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (out >= 0) close(out);
  if (err >= 0) close(err);
  r.status = finished ? decode_status(st) : -1;
  expect_no_sanitizer_report(fs::path(argv.at(0)).filename().string(), r.err);
  return r;
}

Child::Child(const std::vector<std::string>& argv, const RunOptions& o) {
  int in = -1;
  pid_ = spawn(argv, o, &in, &out_fd_, &err_fd_);
  if (!o.stdin_data.empty()) [[maybe_unused]]
    auto n = write(in, o.stdin_data.data(), o.stdin_data.size());
  if (o.close_stdin) {
    close(in);
  } else {
    in_fd_ = in;
  }
}

bool Child::write_stdin(const std::string& data) {
  std::string_view left = data;
  const auto deadline = Clock::now() + 10s;
  while (!left.empty() && in_fd_ >= 0 && Clock::now() < deadline) {
    const ssize_t n = ::write(in_fd_, left.data(), left.size());
    if (n > 0) {
      left.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return false;
    } else {
      pollfd p{in_fd_, POLLOUT, 0};
      poll(&p, 1, 100);
    }
  }
  return left.empty();
}

void Child::close_stdin() {
  if (in_fd_ >= 0) close(in_fd_);
  in_fd_ = -1;
}

Child::~Child() {
  close_stdin();
  if (!reaped_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Child::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  char buf[65536];
  while (out_.find(needle) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return out_.find(needle) != std::string::npos;
    out_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

void Child::kill(int sig) { ::kill(pid_, sig); }

RunResult Child::wait(std::chrono::milliseconds timeout) {
  RunResult r;
  int in = -1;
  std::string_view none;
  const bool finished =
      pump(in, none, true, out_fd_, out_, err_fd_, err_, Clock::now() + scaled(timeout));
  if (!finished) ::kill(-pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  reaped_ = true;
  r.out = out_;
  r.err = err_;
  r.timed_out = !finished;
  r.status = finished ? decode_status(st) : -1;
  expect_no_sanitizer_report("child " + std::to_string(pid_), err_);
  return r;
}

Pki::Pki(const std::string& dir, const std::string& algo) : dir_(dir + "/pki") {
  pki({"init", "--algo", algo});
  pki({"server", "server", "--loopback"});
  pki({"client", "client", "--ou", "ops"});
}

Pki::Pki(const std::string& dir, TwoLevel) : dir_(dir + "/pki") {
  pki({"init", "--intermediate"});
  pki({"server", "server", "--loopback"});
  pki({"client", "client", "--ou", "ops"});
}

Pki::Pki(const std::string& dir, const Pki& from) : dir_(dir + "/pki") {
  std::error_code ec;
  fs::copy(from.dir_, dir_, fs::copy_options::recursive, ec);
  EXPECT_FALSE(ec) << "cannot copy " << from.dir_ << " to " << dir_ << ": " << ec.message();
}

RunResult Pki::pki(std::vector<std::string> args, bool expect_ok) const {
  std::vector<std::string> argv{"bash", TREX_PKI_SCRIPT, "--dir", dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv);
  if (expect_ok) {
    EXPECT_EQ(r.status, 0) << "tools/pki " << args[0] << " failed: " << r.err;
  }
  return r;
}

void Pki::client(const std::string& name, std::vector<std::string> extra) const {
  std::vector<std::string> args{"client", name};
  args.insert(args.end(), extra.begin(), extra.end());
  pki(args);
}

Trexd::Trexd(const Pki& pki, const std::string& dir, std::vector<std::string> extra)
    : Trexd(pki, dir, std::move(extra), true) {}

Trexd::Trexd(const Pki& pki, const std::string& dir, std::vector<std::string> extra,
             bool add_defaults)
    : pki_(pki), dir_(dir) {
  // trexd refuses a repeated option: a default flag given in `extra` is
  // left out here so that the extra one wins.
  const std::vector<std::pair<std::string, std::string>> defaults{
      {"--listen", "127.0.0.1:0"},
      {"--ca", pki.ca()},
      {"--cert", pki.cert("server")},
      {"--key", pki.key("server")},
      {"--crl", pki.crl()},
      {"--log-dir", log_dir()},
      // Not the machine's syslog: tests that want the heads own a socket.
      {"--audit-head-syslog", "none"}};
  std::vector<std::string> argv{TREXD_BIN};
  for (const auto& [flag, value] : defaults) {
    if (!add_defaults) break;
    if (std::find(extra.begin(), extra.end(), flag) != extra.end()) continue;
    argv.push_back(flag);
    argv.push_back(value);
  }
  // trexd refuses to start without a policy: tests that give none (nor a
  // configuration file, which says for itself) ask for --allow-all openly.
  const auto given = [&](const char* flag) {
    return std::find(extra.begin(), extra.end(), flag) != extra.end();
  };
  if (add_defaults && !given("--policy") && !given("--allow-all") && !given("--config")) {
    argv.push_back("--allow-all");
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  const std::string out = dir_ + "/trexd.stderr";
  // A trexd started before in the same folder left its own "listening on".
  const std::size_t log_from = server_log().size();
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto deadline = Clock::now() + scaled(20s);
  const std::string marker = "listening on ";
  while (Clock::now() < deadline) {
    const std::string log = server_log();
    if (auto at = log.find(marker, log_from); at != std::string::npos) {
      const auto end = log.find_first_of(" \n", at + marker.size());
      address_ = log.substr(at + marker.size(), end - at - marker.size());
      return;
    }
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = decode_status(st);
      pid_ = -1;
      ADD_FAILURE() << "trexd exited with " << status_ << ": " << read_file(out);
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "trexd did not start listening: " << read_file(out);
}

Trexd::~Trexd() {
  if (pid_ > 0) {
    // A clean stop lets LeakSanitizer check trexd at exit. The second
    // SIGTERM kills commands still running; SIGKILL if that is not enough.
    ::kill(pid_, SIGTERM);
    wait(1s);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait(5s);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  expect_no_sanitizer_report("trexd", read_file(dir_ + "/trexd.stderr"));
}

std::string Trexd::port() const { return address_.substr(address_.rfind(':') + 1); }
std::string Trexd::server_log() const { return read_file(log_dir() + "/server.log"); }
void Trexd::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}
bool Trexd::alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

int Trexd::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  while (pid_ > 0 && Clock::now() < deadline) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = decode_status(st);
      pid_ = -1;
      return status_;
    }
    std::this_thread::sleep_for(10ms);
  }
  return pid_ > 0 ? -1 : status_;
}

std::vector<std::string> Trexd::trex_argv(const std::string& name,
                                          const std::vector<std::string>& args,
                                          const std::vector<std::string>& flags) const {
  std::vector<std::string> argv{TREX_BIN,        "--ca",  pki_.ca(),     "--cert",
                                pki_.cert(name), "--key", pki_.key(name)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(address_);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult Trexd::trex(const std::string& name, const std::vector<std::string>& args,
                      const RunOptions& opts, const std::vector<std::string>& flags) const {
  return run(trex_argv(name, args, flags), opts);
}

int Trexd::open_fds() const {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

long Trexd::rss_kib() const {
  std::istringstream in(read_file("/proc/" + std::to_string(pid_) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::vector<pid_t> Trexd::children() const {
  // Commands are forked by the session threads: look at every thread's list.
  std::vector<pid_t> out;
  std::error_code ec;
  const std::string task = "/proc/" + std::to_string(pid_) + "/task";
  for (auto it = fs::directory_iterator(task, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::istringstream in(read_file(it->path().string() + "/children"));
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  return out;
}

std::vector<nlohmann::json> audit_records(const std::string& path) {
  std::vector<nlohmann::json> out;
  const std::string text = read_file(path);
  // A last line without its newline is a record trexd is still writing.
  for (std::size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = text.substr(at, end - at);
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<nlohmann::json> audit_records(const std::string& path, const std::string& event) {
  std::vector<nlohmann::json> out;
  for (auto& j : audit_records(path)) {
    if (j.value("event", "") == event) out.push_back(std::move(j));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << "cannot write " << path << ": " << std::strerror(errno);
  std::string_view rest = data;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_TRUE(rest.empty()) << "short write to " << path;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

int verify_trail(const std::string& audit_path) {
  return run({TREX_AUDIT_BIN, "verify", audit_path}).status;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string pki_time(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

}  // namespace trex::testing

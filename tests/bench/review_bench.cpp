// Benchmark helper for trex-audit's review commands (driven by
// tests/bench/review_bench.sh from tools/bench.sh; not a gtest).
//   review_bench trail N DIR       writes a trail of N records like a lab day's:
//                                  sessions of a few commands, some denials and
//                                  refused handshakes (DIR/audit.jsonl)
//   review_bench follow TREX_AUDIT DIR [K]
//                                  runs `TREX_AUDIT show --follow --format json`
//                                  on DIR, appends K commands (exec_start +
//                                  exec_end) with the Writer, and prints the
//                                  latency from each exec_end's write to its
//                                  line on the follower's stdout: median, p90, max
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "trex/audit.hpp"

namespace {

using trex::audit::Json;
using Clock = std::chrono::steady_clock;

std::unique_ptr<trex::audit::Writer> open_writer(const std::string& dir) {
  trex::audit::Writer::Options options;
  options.path = dir + "/audit.jsonl";
  options.max_bytes = 1ULL << 40;
  auto w = trex::audit::Writer::open(options);
  if (!w) {
    std::fprintf(stderr, "review_bench: %s\n", w.message().c_str());
    std::exit(1);
  }
  return std::move(*w);
}

void put(trex::audit::Writer& w, const char* event, const Json& fields) {
  if (auto s = w.write(event, fields); !s) {
    std::fprintf(stderr, "review_bench: %s\n", s.message().c_str());
    std::exit(1);
  }
}

// One command: exec_start and exec_end; a failure now and then.
void command(trex::audit::Writer& w, long conn, long n, const std::string& cn) {
  static const char* kPrograms[] = {"uptime", "df", "systemctl", "journalctl", "make"};
  const std::string id = std::to_string(conn) + "." + std::to_string(n);
  const char* program = kPrograms[(conn + n) % 5];
  put(w, "exec_start",
      {{"conn", conn},
       {"id", id},
       {"cn", cn},
       {"argv", {program, "status", "unit-" + id}},
       {"cwd", "/srv/lab"},
       {"run_as", "lab"},
       {"rule", conn % 3 ? "ops" : "build"}});
  put(w, "exec_end",
      {{"conn", conn},
       {"id", id},
       {"cn", cn},
       {"exit_code", n % 7 ? 0 : 1},
       {"signal", nullptr},
       {"timed_out", false},
       {"duration_ms", 40 + n},
       {"stdout_bytes", 1200},
       {"stderr_bytes", 0},
       {"stdin_bytes", 0},
       {"stdout_sha256", std::string(64, 'a')},
       {"stderr_sha256", std::string(64, 'b')},
       {"truncated", false}});
}

int write_trail(long n, const std::string& dir) {
  auto w = open_writer(dir);
  long written = 0, conn = 0;
  while (written < n) {
    ++conn;
    const std::string cn = "user" + std::to_string(conn % 40);
    const std::string peer =
        "10.0." + std::to_string(conn % 200) + ".7:41" + std::to_string(conn % 1000);
    if (conn % 25 == 0) {
      put(*w, "auth_fail",
          {{"conn", conn}, {"peer", peer}, {"reason", "unknown CA"}, {"claimed_cn", cn}});
      ++written;
      continue;
    }
    put(*w, "session_open", {{"conn", conn}, {"peer", peer}, {"cn", cn}, {"ou", {"ops"}}});
    for (long i = 1; i <= 4; ++i) command(*w, conn, i, cn);
    put(*w, "exec_denied",
        {{"conn", conn},
         {"cn", cn},
         {"argv", {"rm", "-rf", "/"}},
         {"rule", ""},
         {"reason", "no rule allows program 'rm'"}});
    put(*w, "session_close",
        {{"conn", conn}, {"cn", cn}, {"reason", "client closed"}, {"commands", 4}});
    written += 11;
  }
  std::printf("records %ld\n", written);
  return 0;
}

// Reads the follower's stdout until a line containing `needle` arrives.
bool read_until(int fd, std::string& buf, const std::string& needle) {
  for (;;) {
    if (buf.find(needle) != std::string::npos) return true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

int follow(const std::string& trex_audit, const std::string& dir, int k) {
  auto w = open_writer(dir);
  put(*w, "server_start", {{"version", "bench"}, {"listen", "-"}, {"pid", 1}});
  int out[2];
  if (::pipe(out) != 0) return 1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::execl(trex_audit.c_str(), trex_audit.c_str(), "show", "--follow", "--format", "json",
            "--log-dir", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string buf;
  if (!read_until(out[0], buf, "\"server_start\"")) return 1;
  std::vector<double> ms;
  for (int i = 1; i <= k; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + i % 37));  // off the poll's beat
    command(*w, 1, i, "alice");
    const auto written = Clock::now();
    if (!read_until(out[0], buf, "\"1." + std::to_string(i) + "\"")) return 1;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - written).count());
    buf.clear();
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  std::sort(ms.begin(), ms.end());
  std::printf("follow latency over %d commands: median %.1f ms, p90 %.1f ms, max %.1f ms\n", k,
              ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "trail" && argc == 4) return write_trail(std::atol(argv[2]), argv[3]);
  if (mode == "follow" && (argc == 4 || argc == 5)) {
    return follow(argv[2], argv[3], argc == 5 ? std::atoi(argv[4]) : 200);
  }
  std::fprintf(stderr, "usage: review_bench trail N DIR | follow TREX_AUDIT DIR [K]\n");
  return 2;
}

// The session state machine driven by frame sequences: a real server session
// (policy, audit trail, command runner) over a plain socketpair instead of
// TLS. The policy allows only `echo` and `true`, so whatever the fuzzer
// invents, nothing else runs, and put/get only below its own folder.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include <spdlog/sinks/null_sink.h>

#include "server/state.hpp"
#include "trex/stream.hpp"

namespace {

constexpr const char* kPolicy = R"(
[[rule]]
name = "fuzz"
cn = ["fuzz"]
allow = ["echo", "true"]
)";

std::string files_rule(const std::string& dir) {
  return "[[rule]]\nname = \"files\"\ncn = [\"fuzz\"]\nput = [\"" + dir + "/files/**\"]\n" +
         "get = [\"" + dir + "/files/**\"]\n";
}

struct World {
  std::string dir;
  std::unique_ptr<trex::audit::Writer> audit;
  std::unique_ptr<trex::server::State> state;

  World() {
    char tmpl[] = "/tmp/trex-session-fuzz-XXXXXX";
    dir = mkdtemp(tmpl);
    auto writer = trex::audit::Writer::open({dir + "/audit.jsonl", false, 64ULL << 20});
    if (!writer) std::abort();
    audit = std::move(*writer);
    trex::config::ServerConfig c;
    c.command_timeout = 2;
    c.idle_timeout = 2;
    c.kill_grace = 0;
    c.max_output = 1 << 20;
    auto log =
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    state = std::make_unique<trex::server::State>(c, *audit, log);
    ::mkdir((dir + "/files").c_str(), 0700);
    auto policy = trex::policy::Policy::parse(kPolicy + files_rule(dir), "fuzz.toml");
    if (!policy) std::abort();
    state->set_policy(std::make_shared<const trex::policy::Policy>(std::move(*policy)));
    state->stop_fd.reset(eventfd(0, EFD_CLOEXEC));
    state->hard_stop_fd.reset(eventfd(0, EFD_CLOEXEC));
  }
};

}  // namespace

// As in trexd's main: a write to a pipe or socket whose reader is gone must be
// an error (EPIPE), not a fatal signal.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::signal(SIGPIPE, SIG_IGN);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World* world = new World();
  static std::uint64_t conn = 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  // The client side: send the input, then read and drop whatever comes back.
  std::thread client([&] {
    std::size_t off = 0;
    while (off < size) {
      const ssize_t n = ::send(sv[1], data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(sv[1], SHUT_WR);
    char buf[65536];
    while (::read(sv[1], buf, sizeof(buf)) > 0) {
    }
    ::close(sv[1]);
  });
  trex::tls::PeerIdentity id{
      "fuzz", {"lab"}, "01", std::string(64, 'a'), "2030-01-01T00:00:00.000000Z"};
  trex::server::serve_session(*world->state,
                              trex::Channel(std::make_unique<trex::PlainStream>(sv[0])), id,
                              "fuzz:0", ++conn, nullptr);
  client.join();
  return 0;
}

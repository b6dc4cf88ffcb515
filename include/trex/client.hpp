// The client side of a trex session: connect, run commands over one TLS
// session, deliver their output to an Output as it arrives. A Session is
// owned by one thread. Failures of trex's own (connection, TLS, protocol,
// server busy, audit) come back as Error values whose message is one line
// for the user.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "trex/channel.hpp"
#include "trex/proto.hpp"
#include "trex/result.hpp"
#include "trex/tls.hpp"

namespace trex::client {

class Output {
 public:
  virtual ~Output() = default;
  virtual void write(bool is_stderr, std::string_view data) = 0;
};

// Writes to this process's stdout and stderr.
class StdOutput : public Output {
 public:
  void write(bool is_stderr, std::string_view data) override;
};

struct Target {
  std::string host;
  std::uint16_t port = 7443;
  std::string server_name;  // the server certificate's name; empty: host
  const std::string& expected_name() const { return server_name.empty() ? host : server_name; }
};

class Session {
 public:
  static Result<Session> open(std::shared_ptr<tls::Context> ctx, const Target& target,
                              std::chrono::milliseconds connect_timeout);

  // Runs one command. `stdin_fd` (-1: none) is forwarded until EOF; a byte
  // readable on `interrupt_fd` (-1: none) forwards SIGINT.
  Result<proto::ExitInfo> run(const proto::ExecRequest& request, Output& out, int stdin_fd,
                              int interrupt_fd);
  void close();
  const Target& target() const { return target_; }

 private:
  Session(Channel ch, Target t) : ch_(std::move(ch)), target_(std::move(t)) {}
  Result<std::optional<proto::ExitInfo>> on_frame(const proto::Frame& f, Output& out);
  Channel ch_;
  Target target_;
};

// Connects a TCP socket to host:port within the timeout (each address in
// turn). The error names the host and the reason.
Result<int> tcp_connect(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout);

}  // namespace trex::client

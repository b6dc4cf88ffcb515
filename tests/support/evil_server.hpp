// A compromised lab machine for client tests: a TLS server in the test
// process, with a real certificate from the test PKI, that speaks the
// documented frames however its script likes (silence, floods, forged
// messages, frames out of order). One connection at a time, each handed to
// the script on the server's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "support/harness.hpp"
#include "trex/channel.hpp"
#include "trex/proto.hpp"

namespace trex::testing {

class EvilServer {
 public:
  using Script = std::function<void(EvilServer&, Channel&)>;
  // Serves with the PKI's certificate `name` (default the harness's server).
  EvilServer(const Pki& pki, Script script, const std::string& name = "server");
  ~EvilServer();
  EvilServer(const EvilServer&) = delete;
  EvilServer& operator=(const EvilServer&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool ok() const { return listen_fd_ >= 0 && error_.empty(); }
  const std::string& error() const { return error_; }

  // Script helpers. Each returns false once the client is gone or the test ends.
  // Reads until a frame of `type` comes (others are kept in `seen`).
  bool wait_for(Channel& ch, proto::FrameType type, proto::Frame* out = nullptr);
  bool send(Channel& ch, proto::FrameType type, std::string_view payload);
  // Waits until the client closes the connection or the test ends.
  void hold(Channel& ch);
  bool stopping() const { return stop_; }

  std::atomic<int> execs{0};    // exec frames seen
  std::atomic<int> signals{0};  // signal frames seen

 private:
  void serve();
  bool read_some(Channel& ch, int timeout_ms);
  const Pki& pki_;
  Script script_;
  std::string name_;
  std::string error_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Frames a script sends.
std::string exit_payload(int code, bool truncated = false, const std::string& message = "");

}  // namespace trex::testing

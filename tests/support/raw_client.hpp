// An authenticated client made of the project's own classes, able to send
// any bytes inside the TLS session: for tests of what a hostile certificate
// holder can do at the protocol level (it_hostile, it_tty_limits).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/harness.hpp"
#include "trex/channel.hpp"
#include "trex/proto.hpp"

namespace trex::testing {

std::uint16_t port_of(const Trexd& server);

// A frame header of any type and length, then `payload` (which may be
// shorter or longer than `len`: a broken frame on purpose).
std::string raw_frame(std::uint8_t type, std::uint32_t len, std::string_view payload);

class RawClient {
 public:
  RawClient(const Trexd& server, const Pki& pki, const std::string& name = "client");
  bool ok() const { return ch_.has_value(); }
  const std::string& error() const { return error_; }

  // Writes raw bytes into the TLS stream; false when the server is gone.
  bool send_raw(std::string_view data);
  bool send(proto::FrameType type, std::string_view payload);

  struct Outcome {
    std::vector<proto::Frame> frames;
    bool ended = false;  // the server closed the session (or sent an error frame)
    std::optional<proto::ErrorInfo> error;
  };
  // Reads frames until an error frame, the end of the stream, `until` says
  // stop, or the timeout.
  Outcome read(std::chrono::milliseconds timeout,
               const std::function<bool(const proto::Frame&)>& until = nullptr);
  void close_notify() { ch_->shutdown(); }

 private:
  std::optional<Channel> ch_;
  std::string error_;
};

}  // namespace trex::testing

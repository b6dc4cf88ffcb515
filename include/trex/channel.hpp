// A framed, non-blocking channel over one Stream (TLS in the programs): an
// outbound buffer of encoded frames and an incremental decoder for inbound
// ones. Used by the server's session loop and by the client; owned by one
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "trex/proto.hpp"
#include "trex/stream.hpp"
#include "trex/tls.hpp"

namespace trex {

class Channel {
 public:
  explicit Channel(std::unique_ptr<Stream> stream) : stream_(std::move(stream)) {}
  explicit Channel(tls::Connection conn)
      : stream_(std::make_unique<tls::Connection>(std::move(conn))) {}

  int fd() const { return stream_->fd(); }
  Stream& stream() { return *stream_; }

  void send(proto::FrameType type, std::string_view payload) {
    proto::append_frame(out_, type, payload);
  }
  // Reads up to `max` bytes from `fd` into a frame of `type`. Returns what
  // read(2) returned (0: EOF, -1: errno); `data` points at the bytes until
  // this thread's next call.
  ssize_t send_from_fd(int fd, proto::FrameType type, std::size_t max, std::string_view* data);

  // Drops everything queued (the peer is gone). A half-sent write is lost too.
  void discard_output() {
    out_.clear();
    out_off_ = 0;
    write_len_ = 0;
    stream_->discard_unsent();
  }

  // Bytes not yet handed to the kernel: frames, and records the stream holds.
  std::size_t queued() const { return out_.size() - out_off_ + stream_->unsent(); }
  // Writes what it can without blocking. kOk: all sent; kWouldBlock: more left.
  IoResult flush();
  // Whether poll() should wait for POLLOUT (else POLLIN) before flushing again.
  bool flush_wants_write() const { return wants_write_; }
  // Flushes everything, waiting up to `timeout`. False on failure or timeout.
  bool flush_all(std::chrono::milliseconds timeout);

  // Reads what is available (up to `max` bytes) into the decoder.
  IoResult receive(std::size_t max);
  proto::Decoder::State next(proto::Frame& frame) { return decoder_.next(frame); }
  const std::string& decode_error() const { return decoder_.error(); }
  bool has_pending() const { return stream_->has_pending(); }

  void shutdown() { stream_->shutdown(); }

 private:
  std::unique_ptr<Stream> stream_;
  proto::Decoder decoder_;
  std::string out_;
  std::size_t out_off_ = 0;
  std::size_t write_len_ = 0;  // length of a write wolfSSL asked us to retry
  bool wants_write_ = false;
};

}  // namespace trex

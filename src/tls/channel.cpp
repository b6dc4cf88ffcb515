#include "trex/channel.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace trex {
namespace {
// Big writes let wolfSSL fill whole 16 KiB records.
constexpr std::size_t kWriteChunk = 256 * 1024;
}  // namespace

ssize_t Channel::send_from_fd(int fd, proto::FrameType type, std::size_t max,
                              std::string_view* data) {
  // Read into a buffer that is never zero-filled: growing out_ by 64 KiB for
  // every read would clear 64 KiB each time (and fault in 16 fresh pages in a
  // short-lived client) for what is often a few bytes. One per thread, reused
  // by every session the thread serves: no 64 KiB allocation per session.
  thread_local std::unique_ptr<char[]> scratch;
  if (!scratch) scratch.reset(new char[proto::kMaxPayload]);
  const std::size_t len = std::min(max, proto::kMaxPayload);
  ssize_t n;
  do {
    n = ::read(fd, scratch.get(), len);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  const std::string_view payload(scratch.get(), static_cast<std::size_t>(n));
  proto::append_frame(out_, type, payload);
  if (data != nullptr) *data = payload;
  return n;
}

IoResult Channel::flush() {
  for (;;) {
    if (stream_->unsent() > 0) {
      auto r = stream_->flush_unsent();
      if (r.status != IoStatus::kOk) {
        wants_write_ = r.wants_write;
        return r;
      }
    }
    const std::size_t frames = out_.size() - out_off_;
    if (frames == 0) break;
    // wolfSSL needs a retried write to carry the same bytes: keep its length.
    const std::size_t len = write_len_ ? write_len_ : std::min(frames, kWriteChunk);
    auto r = stream_->write(out_.data() + out_off_, len);
    if (r.status == IoStatus::kWouldBlock) {
      write_len_ = len;
      wants_write_ = r.wants_write;
      return r;
    }
    write_len_ = 0;
    wants_write_ = false;
    if (r.status != IoStatus::kOk) return r;
    out_off_ += r.bytes;
    // A stream that never drains completely must not grow the buffer forever.
    if (out_off_ >= (1U << 20)) {
      out_.erase(0, out_off_);
      out_off_ = 0;
    }
  }
  out_.clear();
  out_off_ = 0;
  wants_write_ = false;
  return {};
}

bool Channel::flush_all(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = flush();
    if (r.status == IoStatus::kOk) return true;
    if (r.status != IoStatus::kWouldBlock) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{fd(), static_cast<short>(wants_write_ ? POLLOUT : POLLIN), 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

IoResult Channel::receive(std::size_t max) {
  char buf[64 * 1024];
  std::size_t total = 0;
  while (total < max) {
    auto r = stream_->read(buf, sizeof(buf));
    if (r.status != IoStatus::kOk) {
      if (r.status == IoStatus::kWouldBlock && total > 0) return {IoStatus::kOk, total, {}, false};
      return r;
    }
    decoder_.feed(std::string_view(buf, r.bytes));
    total += r.bytes;
  }
  return {IoStatus::kOk, total, {}, false};
}

}  // namespace trex

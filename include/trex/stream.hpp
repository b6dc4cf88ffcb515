// A non-blocking byte stream that frames travel over: TLS in the programs
// (tls::Connection), a plain socket in tests and fuzz targets (PlainStream).
// Owned and used by one thread.
#pragma once

#include <cstddef>
#include <string>

#include "util/unique_fd.hpp"

namespace trex {

enum class IoStatus { kOk, kWouldBlock, kClosed, kError };

// What a kError means to a caller that branches on it.
enum class IoCause {
  kOther,
  kPeerAlert,  // the peer ended the connection with a TLS alert (e.g. refused our certificate)
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  std::size_t bytes = 0;
  std::string error;         // for kClosed/kError: what happened
  bool wants_write = false;  // kWouldBlock: wait for POLLOUT rather than POLLIN
  IoCause cause = IoCause::kOther;
};

class Stream {
 public:
  virtual ~Stream() = default;
  virtual int fd() const = 0;
  virtual IoResult read(char* buf, std::size_t len) = 0;
  // After kWouldBlock the caller must retry with the same bytes.
  virtual IoResult write(const char* buf, std::size_t len) = 0;
  // Bytes already read from the socket and buffered (poll() cannot see them).
  virtual bool has_pending() const = 0;
  // Bytes a write accepted but the kernel has not taken yet (TLS records
  // made by one write are sent together). flush_unsent() sends what it can:
  // kWouldBlock (wants_write) while some remain.
  virtual std::size_t unsent() const { return 0; }
  virtual IoResult flush_unsent() { return {}; }
  virtual void discard_unsent() {}
  virtual void shutdown() = 0;
};

// A stream over a plain socket or pipe: no encryption. For tests and fuzz
// targets that drive the session logic without TLS. Owns `fd`.
class PlainStream : public Stream {
 public:
  explicit PlainStream(int fd);
  int fd() const override { return fd_.get(); }
  IoResult read(char* buf, std::size_t len) override;
  IoResult write(const char* buf, std::size_t len) override;
  bool has_pending() const override { return false; }
  void shutdown() override;

 private:
  util::UniqueFd fd_;
};

}  // namespace trex

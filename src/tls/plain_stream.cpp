#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "trex/stream.hpp"

namespace trex {

PlainStream::PlainStream(int fd) : fd_(fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

IoResult PlainStream::read(char* buf, std::size_t len) {
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, len);
    if (n > 0) return {IoStatus::kOk, static_cast<std::size_t>(n), {}, false};
    if (n == 0) return {IoStatus::kClosed, 0, "closed", false};
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return {IoStatus::kWouldBlock, 0, {}, false};
    return {IoStatus::kClosed, 0, std::strerror(errno), false};
  }
}

IoResult PlainStream::write(const char* buf, std::size_t len) {
  for (;;) {
    const ssize_t n = ::send(fd_.get(), buf, len, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::kOk, static_cast<std::size_t>(n), {}, false};
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return {IoStatus::kWouldBlock, 0, {}, true};
    return {IoStatus::kClosed, 0, std::strerror(errno), false};
  }
}

void PlainStream::shutdown() { ::shutdown(fd_.get(), SHUT_WR); }

}  // namespace trex

// The client side of trex put and trex get: frames in the order README's
// "A file transfer" gives; anything else from the server is a protocol error.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "trex/client.hpp"
#include "trex/client_text.hpp"
#include "util/file_sink.hpp"

namespace trex::client {
namespace {

// Data queued for the server beyond this waits for the socket.
constexpr std::size_t kOutHighWater = 1U << 20;

bool same_file_state(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

Status Session::flush_some(bool wait) {
  for (;;) {
    auto r = ch_.flush();
    if (r.status == tls::IoStatus::kOk) return Status::success();
    if (r.status != tls::IoStatus::kWouldBlock) {
      broken_ = true;
      if (r.cause == tls::IoCause::kPeerAlert) return make_error(r.error);
      return make_error("connection to " + target_.host + " lost: " + r.error);
    }
    if (!wait) return Status::success();
    pollfd p{ch_.fd(), static_cast<short>(ch_.flush_wants_write() ? POLLOUT : POLLIN), 0};
    ::poll(&p, 1, 1000);
  }
}

Result<std::optional<proto::Frame>> Session::transfer_frame(bool wait) {
  bool closed = false;  // frames read before the close still count
  for (;;) {
    proto::Frame f;
    const auto st = ch_.next(f);
    if (st == proto::Decoder::State::kError) return protocol_error(ch_.decode_error());
    if (st == proto::Decoder::State::kFrame) {
      if (f.type != proto::FrameType::kError) return std::optional<proto::Frame>(std::move(f));
      broken_ = true;
      auto e = proto::decode_error(f.payload);
      if (!e) return protocol_error(e.message());
      // An error before `started` to a put or get: a trexd older than file
      // transfers knows neither frame (README "Wire protocol").
      if (!started_ && e->code == proto::ErrorCode::kProtocol) {
        return make_error(target_.host +
                          " refused the transfer as a protocol error; its trexd may predate "
                          "trex put/get (it said: " +
                          escape_controls(e->message) + ")");
      }
      return make_error(escape_controls(e->message));
    }
    if (closed) return closed_error(started_);
    pollfd p{ch_.fd(), POLLIN, 0};
    if (!ch_.has_pending() && ::poll(&p, 1, wait ? -1 : 0) <= 0) {
      return std::optional<proto::Frame>();
    }
    auto r = ch_.receive(1U << 20);
    if (r.status == tls::IoStatus::kError) {
      broken_ = true;
      return make_error(r.error);
    }
    closed = r.status == tls::IoStatus::kClosed;
  }
}

Result<proto::Frame> Session::next_transfer_frame() {
  for (;;) {
    auto f = transfer_frame(true);
    if (!f) return f.error();
    if (f->has_value()) return std::move(**f);
  }
}

Status Session::send_get(const proto::GetRequest& req) {
  if (auto s = check_between_commands(); !s) return s;
  started_ = false;
  ch_.send(proto::FrameType::kGet, proto::encode(req));
  return flush_some(true);
}

Result<std::optional<proto::ExitInfo>> Session::transfer_exit(const proto::Frame& f) {
  if (f.type != proto::FrameType::kExit) return std::optional<proto::ExitInfo>();
  auto info = proto::decode_exit(f.payload);
  if (!info) return protocol_error(info.message());
  if (info->kind == proto::ExitKind::kSignaled) return protocol_error("a signal ended a transfer");
  info->message = escape_controls(info->message);
  return std::optional<proto::ExitInfo>(*info);
}

Result<proto::ExitInfo> Session::put(const proto::PutRequest& req, int fd,
                                     const Progress& progress) {
  if (auto s = check_between_commands(); !s) return s.error();
  struct stat before {};
  if (!req.folder && ::fstat(fd, &before) != 0)
    return make_error(std::string("fstat: ") + std::strerror(errno));
  started_ = false;
  ch_.send(proto::FrameType::kPut, proto::encode(req));
  std::uint64_t sent = 0;
  bool ended = req.folder;  // the empty data frame is queued (a folder has none)
  for (;;) {
    // Before waiting for the server, everything queued must reach it.
    if (auto s = flush_some(!started_ || ended); !s) return s.error();
    auto f = transfer_frame(!started_ || ended);
    if (!f) return f.error();
    if (f->has_value()) {
      auto done = transfer_exit(**f);
      if (!done) return done.error();
      if (done->has_value()) return **done;  // finished, or refused midway
      if ((*f)->type != proto::FrameType::kStarted || started_) {
        return protocol_error("a " + std::string(proto::type_name((*f)->type)) +
                              " frame during a put");
      }
      started_ = true;
      continue;
    }
    if (!started_ || ended) continue;
    if (ch_.queued() >= kOutHighWater) {
      if (auto s = flush_some(true); !s) return s.error();
      continue;
    }
    const ssize_t n =
        sent < req.size ? ch_.send_from_fd(
                              fd, proto::FrameType::kData,
                              std::min<std::uint64_t>(proto::kMaxPayload, req.size - sent), nullptr)
                        : 0;
    if (n < 0) return make_error(std::string("cannot read the file: ") + std::strerror(errno));
    sent += static_cast<std::uint64_t>(n);
    if (progress) progress(sent, req.size);
    if (n > 0) continue;
    struct stat after {};
    char probe;
    if (sent != req.size || ::read(fd, &probe, 1) > 0 || ::fstat(fd, &after) != 0 ||
        !same_file_state(before, after)) {
      // Never end a put whose bytes are not the file's: the server keeps the old one.
      broken_ = true;
      return make_error("the file changed while it was read; nothing was put");
    }
    ch_.send(proto::FrameType::kData, "");
    ended = true;
  }
}

Result<proto::ExitInfo> Session::get(const proto::GetRequest& req, int fd, proto::FileInfo& info,
                                     const Progress& progress) {
  if (auto s = send_get(req); !s) return s.error();
  bool have_info = false, ended = false;
  std::uint64_t got = 0;
  util::FileSink sink(fd);  // the caller fsyncs before its rename
  for (;;) {
    auto f = next_transfer_frame();
    if (!f) return f.error();
    const proto::Frame& frame = *f;
    auto done = transfer_exit(frame);
    if (!done) return done.error();
    if (done->has_value()) {
      const bool ok = (*done)->kind == proto::ExitKind::kExited && (*done)->code == 0;
      if (ok && (!ended || got != info.size)) return protocol_error("a get ended short");
      return **done;
    }
    if (frame.type == proto::FrameType::kStarted && !started_) {
      started_ = true;
    } else if (frame.type == proto::FrameType::kFile && started_ && !have_info) {
      auto i = proto::decode_file(frame.payload);
      if (!i) return protocol_error(i.message());
      info = *i;
      have_info = true;
    } else if (frame.type == proto::FrameType::kData && have_info && !ended) {
      if (frame.payload.empty()) {
        ended = true;
        continue;
      }
      if (frame.payload.size() > info.size - got) return protocol_error("a get sent too much");
      if (!sink.write(frame.payload)) {
        broken_ = true;
        return make_error(std::string("cannot write the file: ") + std::strerror(errno));
      }
      got += frame.payload.size();
      if (progress) progress(got, info.size);
    } else {
      return protocol_error("a " + std::string(proto::type_name(frame.type)) +
                            " frame out of order in a get");
    }
  }
}

Result<proto::ExitInfo> Session::list(const proto::GetRequest& req, const Listing& take) {
  if (auto s = send_get(req); !s) return s.error();
  for (;;) {
    auto f = next_transfer_frame();
    if (!f) return f.error();
    const proto::Frame& frame = *f;
    auto done = transfer_exit(frame);
    if (!done) return done.error();
    if (done->has_value()) return **done;
    if (frame.type == proto::FrameType::kStarted && !started_) {
      started_ = true;
    } else if (frame.type == proto::FrameType::kEntry && started_) {
      auto e = proto::decode_entry(frame.payload);
      if (!e) return protocol_error(e.message());
      e->note = escape_controls(e->note);
      take(*e);
    } else {
      return protocol_error("a " + std::string(proto::type_name(frame.type)) +
                            " frame out of order in a listing");
    }
  }
}

}  // namespace trex::client

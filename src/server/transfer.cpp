#include "server/transfer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "server/fileio.hpp"
#include "server/listing.hpp"
#include "trex/audit_events.hpp"
#include "util/file_sink.hpp"
#include "util/sha256.hpp"
#include "util/sha256_pipe.hpp"

namespace trex::server {
namespace {

using Clock = std::chrono::steady_clock;
using Result_ = audit::FileTransfer::Result;

constexpr const char* kAuditFailure = "the server cannot write its audit trail";
// Data queued for a slow client beyond this waits for the socket.
constexpr std::size_t kOutHighWater = 512 * 1024;
// Files from this size on are hashed on a thread of their own (Sha256Pipe).
constexpr std::uint64_t kHashThreadFrom = 1U << 20;

// How a transfer ended, for the audit record and the exit frame.
struct Outcome {
  bool ok = false;
  std::string error;  // what went wrong, for people
  proto::ExitKind kind = proto::ExitKind::kExited;
  std::optional<SessionEnd> session_end;  // the session cannot go on
};

Outcome failed(std::string error, proto::ExitKind kind = proto::ExitKind::kExited) {
  return {false, std::move(error), kind, std::nullopt};
}

Outcome session_over(SessionEnd end) {
  Outcome o{false, end.text(), proto::ExitKind::kExited, end};
  return o;
}

class Transfer {
 public:
  Transfer(TransferContext& ctx, policy::FileOp op, std::string path)
      : ctx_(ctx), op_(op), start_(Clock::now()) {
    rec_.conn = ctx.conn;
    rec_.cn = ctx.who.cn;
    rec_.path = std::move(path);
  }
  std::optional<SessionEnd> put(const proto::PutRequest& req);
  std::optional<SessionEnd> get();
  std::optional<SessionEnd> put_folder(const proto::PutRequest& req);
  std::optional<SessionEnd> list();

 private:
  // Policy and account; false when refused (answered and recorded).
  bool decide();
  bool record();
  void send_exit(const proto::ExitInfo& info) {
    ctx_.channel.send(proto::FrameType::kExit, proto::encode(info));
  }
  void announce();
  std::optional<SessionEnd> finish(const Outcome& o);
  Outcome receive_into(int fd, std::uint64_t size, util::Sha256Pipe& sha);
  Outcome send_from(int fd, const struct stat& before, util::Sha256Pipe& sha);
  std::optional<Outcome> wait_socket(short events);
  std::optional<Outcome> drain();
  std::optional<std::string> refuse_folder(const std::string& rel) const;

  TransferContext& ctx_;
  policy::FileOp op_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  policy::Decision decision_;
  fileio::FsUser user_;
  audit::FileTransfer rec_;
};

bool Transfer::record() {
  rec_.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
  Status s = op_ == policy::FileOp::kPut
                 ? ctx_.state.audit.record(static_cast<const audit::FilePut&>(rec_))
                 : ctx_.state.audit.record(static_cast<const audit::FileGet&>(rec_));
  if (!s) ctx_.state.log->error("audit: cannot record a file transfer: {}", s.message());
  return s.ok();
}

bool Transfer::decide() {
  const auto policy = ctx_.state.policy();
  decision_ = policy->decide_file(ctx_.who, {op_, rec_.path});
  rec_.rule = decision_.rule;
  std::optional<std::string> refusal;
  if (!decision_.allowed) {
    refusal = decision_.reason;
  } else if (auto u = fileio::fs_user(decision_.run_as); !u) {
    refusal = "rule '" + decision_.rule + "': " + u.message();
  } else {
    user_ = std::move(*u);
    rec_.run_as = user_.name;
  }
  if (!refusal) {
    std::uint32_t timeout = ctx_.state.config.command_timeout;
    if (decision_.timeout_s) timeout = std::min(timeout, *decision_.timeout_s);
    deadline_ = start_ + std::chrono::seconds(timeout);
    return true;
  }
  rec_.result = Result_::kDenied;
  rec_.error = *refusal;
  if (record()) {
    send_exit({proto::ExitKind::kDenied, 0, 0, false, *refusal});
  } else {
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
  }
  return false;
}

void Transfer::announce() {
  rec_.id = std::to_string(ctx_.conn) + "." + std::to_string(++ctx_.requests);
  ctx_.channel.send(proto::FrameType::kStarted, rec_.id);
  ctx_.channel.flush();
}

// Records the end and answers; a failure of the record fails the transfer.
std::optional<SessionEnd> Transfer::finish(const Outcome& o) {
  if (!o.ok) {
    rec_.result = Result_::kFailed;
    rec_.error = o.error;
  }
  const bool recorded = record();
  if (o.session_end) return o.session_end;  // nobody to answer
  if (!recorded) {
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
  } else if (o.ok) {
    send_exit({proto::ExitKind::kExited, 0, 0, false, {}});
  } else {
    const bool timed_out = o.kind == proto::ExitKind::kTimedOut;
    send_exit({o.kind, timed_out ? 0 : 1, 0, false, o.error});
  }
  return std::nullopt;
}

// Waits for the socket (and the hard stop, and the deadline); an outcome
// when the transfer cannot go on.
std::optional<Outcome> Transfer::wait_socket(short events) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
  if (left <= 0) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(deadline_ - start_);
    return failed("timed out after " + std::to_string(secs.count()) + " s",
                  proto::ExitKind::kTimedOut);
  }
  pollfd fds[2] = {{ctx_.channel.fd(), events, 0}, {ctx_.state.hard_stop_fd.get(), POLLIN, 0}};
  if (::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000))) < 0 && errno != EINTR) {
    return session_over({EndKind::kConnectionError, std::strerror(errno)});
  }
  if (fds[1].revents != 0) return session_over({EndKind::kServerStopping, {}});
  return std::nullopt;
}

// Keeps what is queued for the client below the high-water mark.
std::optional<Outcome> Transfer::drain() {
  auto& ch = ctx_.channel;
  while (ch.queued() >= kOutHighWater) {
    auto r = ch.flush();
    if (r.status == tls::IoStatus::kClosed || r.status == tls::IoStatus::kError) {
      return session_over({EndKind::kClientDisconnected, r.error});
    }
    if (r.status == tls::IoStatus::kWouldBlock) {
      if (auto stop = wait_socket(ch.flush_wants_write() ? POLLOUT : POLLIN)) return *stop;
    }
  }
  return std::nullopt;
}

// Writes the data frames of a put to `fd` until the empty one.
Outcome Transfer::receive_into(int fd, std::uint64_t size, util::Sha256Pipe& sha) {
  auto& ch = ctx_.channel;
  util::FileSink sink(fd);
  for (;;) {
    proto::Frame f;
    proto::Decoder::State st;
    while ((st = ch.next(f)) == proto::Decoder::State::kFrame) {
      if (f.type != proto::FrameType::kData) {
        const std::string what =
            "unexpected " + std::string(proto::type_name(f.type)) + " frame during a put";
        ch.send(proto::FrameType::kError,
                proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, what}));
        return session_over({EndKind::kProtocolError, what});
      }
      if (f.payload.empty()) {
        if (rec_.size == size) return {true, {}, proto::ExitKind::kExited, std::nullopt};
        return failed("the client sent " + std::to_string(rec_.size) + " of " +
                      std::to_string(size) + " bytes");
      }
      if (f.payload.size() > size - rec_.size) {
        const std::string what =
            "a put sent more than the " + std::to_string(size) + " bytes it announced";
        ch.send(proto::FrameType::kError,
                proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, what}));
        return session_over({EndKind::kProtocolError, what});
      }
      if (!sink.write(f.payload)) {
        return failed("cannot write " + rec_.path + ": " + std::strerror(errno));
      }
      rec_.size += f.payload.size();
      sha.update(std::move(f.payload));
      f.payload = sha.spare();
    }
    if (st == proto::Decoder::State::kError) {
      ch.send(proto::FrameType::kError,
              proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, ch.decode_error()}));
      return session_over({EndKind::kProtocolError, ch.decode_error()});
    }
    if (!ch.has_pending()) {
      if (auto stop = wait_socket(POLLIN)) return *stop;
    }
    auto r = ch.receive(256 * 1024);
    if (r.status == tls::IoStatus::kClosed || r.status == tls::IoStatus::kError) {
      return session_over({EndKind::kClientDisconnected, r.error});
    }
  }
}

std::optional<SessionEnd> Transfer::put(const proto::PutRequest& req) {
  if (!decide()) return std::nullopt;
  auto target = fileio::create_temp(user_, decision_.tree, decision_.beneath);
  if (!target) return finish(failed(target.message()));
  announce();
  util::Sha256Pipe sha(req.size >= kHashThreadFrom);
  Outcome o = receive_into(target->file.get(), req.size, sha);
  rec_.sha256 = sha.hex_digest();
  // Without -p the file gets the local mode less the rule's umask (022 by default).
  rec_.mode = req.preserve ? req.mode : req.mode & ~decision_.umask.value_or(022) & 0777;
  if (!o.ok) {
    fileio::abandon(user_, *target);
    return finish(o);
  }
  // Record, then rename: a put the trail cannot hold never replaces a file.
  if (!record()) {
    fileio::abandon(user_, *target);
    send_exit({proto::ExitKind::kFailed, 0, 0, false, kAuditFailure});
    return std::nullopt;
  }
  std::optional<timespec> times;
  if (req.preserve) times = timespec{req.mtime_s, static_cast<long>(req.mtime_ns)};
  if (auto s = fileio::commit(user_, *target, rec_.mode, times); !s) {
    fileio::abandon(user_, *target);
    return finish(failed(s.message()));  // a second record: it failed after all
  }
  send_exit({proto::ExitKind::kExited, 0, 0, false, {}});
  ctx_.channel.flush();  // the answer goes before the replaced file is freed
  return std::nullopt;
}

// Sends the file's bytes; says so when the file changed while it was read.
Outcome Transfer::send_from(int fd, const struct stat& before, util::Sha256Pipe& sha) {
  auto& ch = ctx_.channel;
  const auto size = static_cast<std::uint64_t>(before.st_size);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // a larger read-ahead
  while (rec_.size < size) {
    if (auto stop = drain()) return *stop;
    // Read into a string the hash thread can own once the frame holds a copy.
    std::string chunk = sha.spare();
    chunk.resize(std::min<std::uint64_t>(proto::kMaxPayload, size - rec_.size));
    ssize_t n;
    do {
      n = ::read(fd, chunk.data(), chunk.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return failed("cannot read " + rec_.path + ": " + std::strerror(errno));
    if (n == 0) break;  // shorter than it was: checked below
    chunk.resize(static_cast<std::size_t>(n));
    ch.send(proto::FrameType::kData, chunk);
    rec_.size += static_cast<std::uint64_t>(n);
    sha.update(std::move(chunk));
  }
  struct stat after {};
  char probe;
  const bool grew = ::read(fd, &probe, 1) > 0;
  const bool changed = grew || rec_.size != size || ::fstat(fd, &after) != 0 ||
                       after.st_size != before.st_size ||
                       after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
                       after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
                       after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
                       after.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
  ch.send(proto::FrameType::kData, "");
  if (changed) return failed(rec_.path + " changed while it was read");
  return {true, {}, proto::ExitKind::kExited, std::nullopt};
}

std::optional<SessionEnd> Transfer::get() {
  if (!decide()) return std::nullopt;
  struct stat st {};
  auto fd = fileio::open_for_get(user_, decision_.tree, decision_.beneath, st);
  if (!fd) return finish(failed(fd.message()));
  rec_.mode = st.st_mode & 07777;
  announce();
  ctx_.channel.send(proto::FrameType::kFile,
                    proto::encode(proto::FileInfo{static_cast<std::uint64_t>(st.st_size), rec_.mode,
                                                  st.st_mtim.tv_sec,
                                                  static_cast<std::uint32_t>(st.st_mtim.tv_nsec)}));
  util::Sha256Pipe sha(static_cast<std::uint64_t>(st.st_size) >= kHashThreadFrom);
  const Outcome o = send_from(fd->get(), st, sha);
  rec_.sha256 = sha.hex_digest();
  return finish(o);
}

// -r: makes the folder (mode | 0700 less the umask, so its files can be
// written), or with -p sets an existing one's mode and times exactly.
std::optional<SessionEnd> Transfer::put_folder(const proto::PutRequest& req) {
  rec_.folder = true;
  if (!decide()) return std::nullopt;
  const unsigned mode =
      req.preserve ? req.mode : ((req.mode & ~decision_.umask.value_or(022) & 0777) | 0700);
  std::optional<timespec> times;
  if (req.preserve) times = timespec{req.mtime_s, static_cast<long>(req.mtime_ns)};
  struct stat st {};
  announce();
  auto s = fileio::make_folder(user_, decision_.tree, decision_.beneath, mode, times, st);
  if (!s) return finish(failed(s.message()));
  rec_.mode = st.st_mode & 07777;
  return finish({true, {}, proto::ExitKind::kExited, std::nullopt});
}

std::optional<std::string> Transfer::refuse_folder(const std::string& rel) const {
  const std::string path = (rec_.path == "/" ? "" : rec_.path) + "/" + rel;
  const auto d = ctx_.state.policy()->decide_file(ctx_.who, {policy::FileOp::kGet, path});
  if (d.allowed) return std::nullopt;
  return "not allowed by the server's policy: " + d.reason;
}

// -r: the folder's tree as entry frames; `size` counts them, `sha256` digests them.
std::optional<SessionEnd> Transfer::list() {
  rec_.folder = true;
  if (!decide()) return std::nullopt;
  auto dir = fileio::open_folder(user_, decision_.tree, decision_.beneath);
  if (!dir) return finish(failed(dir.message()));
  struct stat st {};
  if (::fstat(dir->get(), &st) == 0) rec_.mode = st.st_mode & 07777;
  announce();
  util::Sha256 sha;
  std::optional<Outcome> stop;
  const ListingHooks hooks{[this](const std::string& rel) { return refuse_folder(rel); },
                           [&](const proto::TreeEntry& e) {
                             const std::string payload = proto::encode(e);
                             sha.update(payload);
                             ++rec_.size;
                             ctx_.channel.send(proto::FrameType::kEntry, payload);
                             stop = drain();
                             return !stop;
                           }};
  const Status s = list_tree(user_, dir->get(), hooks);
  rec_.sha256 = sha.hex_digest();
  if (stop) return finish(*stop);
  if (!s) return finish(failed(s.message()));
  return finish({true, {}, proto::ExitKind::kExited, std::nullopt});
}

}  // namespace

std::optional<SessionEnd> serve_transfer(TransferContext& ctx, const proto::Frame& request) {
  auto protocol_error = [&](const std::string& what) {
    ctx.channel.send(proto::FrameType::kError,
                     proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, what}));
    return SessionEnd{EndKind::kProtocolError, what};
  };
  if (request.type == proto::FrameType::kPut) {
    auto req = proto::decode_put(request.payload);
    if (!req) return protocol_error(req.message());
    Transfer t(ctx, policy::FileOp::kPut, req->path);
    return req->folder ? t.put_folder(*req) : t.put(*req);
  }
  auto req = proto::decode_get(request.payload);
  if (!req) return protocol_error(req.message());
  Transfer t(ctx, policy::FileOp::kGet, req->path);
  return req->list ? t.list() : t.get();
}

}  // namespace trex::server

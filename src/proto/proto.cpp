#include "trex/proto.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "proto/wire.hpp"

namespace trex::proto {
namespace {

using detail::get_u32;
using detail::put_u32;
using detail::Reader;

constexpr std::uint8_t kFlagShell = 1;
constexpr std::uint8_t kFlagStdin = 2;

}  // namespace

bool is_known_type(std::uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kExec:
    case FrameType::kStdin:
    case FrameType::kSignal:
    case FrameType::kPut:
    case FrameType::kGet:
    case FrameType::kData:
    case FrameType::kTerminal:
    case FrameType::kWindow:
    case FrameType::kTty:
    case FrameType::kFile:
    case FrameType::kEntry:
    case FrameType::kStarted:
    case FrameType::kStdout:
    case FrameType::kStderr:
    case FrameType::kExit:
    case FrameType::kError:
      return true;
  }
  return false;
}

std::string_view type_name(FrameType type) {
  switch (type) {
    case FrameType::kExec:
      return "exec";
    case FrameType::kStdin:
      return "stdin";
    case FrameType::kSignal:
      return "signal";
    case FrameType::kPut:
      return "put";
    case FrameType::kGet:
      return "get";
    case FrameType::kData:
      return "data";
    case FrameType::kFile:
      return "file";
    case FrameType::kEntry:
      return "entry";
    case FrameType::kTerminal:
      return "terminal";
    case FrameType::kWindow:
      return "window";
    case FrameType::kTty:
      return "tty";
    case FrameType::kStarted:
      return "started";
    case FrameType::kStdout:
      return "stdout";
    case FrameType::kStderr:
      return "stderr";
    case FrameType::kExit:
      return "exit";
    case FrameType::kError:
      return "error";
  }
  return "unknown";
}

void append_frame(std::string& out, FrameType type, std::string_view payload) {
  if (payload.size() > kMaxPayload) std::abort();  // callers split their data
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out.append(payload);
}

std::string encode_frame(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  append_frame(out, type, payload);
  return out;
}

void Decoder::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  // Compact lazily so a long stream of small frames is not quadratic.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Decoder::State Decoder::next(Frame& out) {
  if (!error_.empty()) return State::kError;
  const std::size_t avail = buf_.size() - pos_;
  if (avail < kHeaderSize) return State::kNeedMore;
  const char* p = buf_.data() + pos_;
  const auto type = static_cast<std::uint8_t>(p[0]);
  const std::uint32_t len = get_u32(p + 1);
  if (!is_known_type(type)) {
    error_ = "unknown frame type " + std::to_string(type);
    return State::kError;
  }
  if (len > kMaxPayload) {
    error_ = "frame of " + std::to_string(len) + " bytes exceeds the limit of " +
             std::to_string(kMaxPayload);
    return State::kError;
  }
  if (avail < kHeaderSize + len) return State::kNeedMore;
  out.type = static_cast<FrameType>(type);
  out.payload.assign(p + kHeaderSize, len);
  pos_ += kHeaderSize + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return State::kFrame;
}

Result<std::string> encode(const ExecRequest& request) {
  std::string out;
  std::uint8_t flags = 0;
  if (request.shell) flags |= kFlagShell;
  if (request.stdin_open) flags |= kFlagStdin;
  out.push_back(static_cast<char>(flags));
  put_u32(out, request.timeout_s);
  if (request.shell) {
    put_u32(out, 1);
    put_u32(out, static_cast<std::uint32_t>(request.command.size()));
    out.append(request.command);
  } else {
    if (request.argv.size() > kMaxArgs) return make_error("too many arguments");
    put_u32(out, static_cast<std::uint32_t>(request.argv.size()));
    for (const auto& a : request.argv) {
      if (a.size() > kMaxPayload) {
        return make_error("the command line is longer than " + std::to_string(kMaxPayload) +
                          " bytes");
      }
      put_u32(out, static_cast<std::uint32_t>(a.size()));
      out.append(a);
    }
  }
  if (out.size() > kMaxPayload) {
    return make_error("the command line is longer than " + std::to_string(kMaxPayload) + " bytes");
  }
  return out;
}

Result<ExecRequest> decode_exec(std::string_view payload) {
  Reader r(payload);
  ExecRequest req;
  std::uint8_t flags = 0;
  std::uint32_t count = 0;
  if (!r.u8(flags) || !r.u32(req.timeout_s) || !r.u32(count)) {
    return make_error("exec request is truncated");
  }
  if ((flags & ~(kFlagShell | kFlagStdin)) != 0)
    return make_error("exec request has unknown flags");
  req.shell = (flags & kFlagShell) != 0;
  req.stdin_open = (flags & kFlagStdin) != 0;
  if (count == 0) return make_error("exec request has an empty command");
  if (count > kMaxArgs) return make_error("exec request has too many arguments");
  if (req.shell && count != 1) return make_error("shell request must carry exactly one string");
  std::vector<std::string> args;
  args.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string a;
    if (!r.bytes(a)) return make_error("exec request is truncated");
    if (a.find('\0') != std::string::npos) {
      return make_error("exec request argument " + std::to_string(i) + " contains a NUL byte");
    }
    args.push_back(std::move(a));
  }
  if (!r.empty()) return make_error("exec request has trailing bytes");
  if (req.shell) {
    req.command = std::move(args[0]);
    if (req.command.empty()) return make_error("exec request has an empty command");
  } else {
    if (args[0].empty()) return make_error("exec request has an empty program name");
    req.argv = std::move(args);
  }
  return req;
}

std::string encode(const ExitInfo& info) {
  std::string out;
  out.push_back(static_cast<char>(info.kind));
  put_u32(out, static_cast<std::uint32_t>(info.code));
  out.push_back(static_cast<char>(info.signal));
  out.push_back(static_cast<char>(info.truncated ? 1 : 0));
  const std::size_t room = kMaxPayload - out.size();
  out.append(info.message.substr(0, room));
  return out;
}

Result<ExitInfo> decode_exit(std::string_view payload) {
  Reader r(payload);
  ExitInfo info;
  std::uint8_t kind = 0, sig = 0, flags = 0;
  std::uint32_t code = 0;
  if (!r.u8(kind) || !r.u32(code) || !r.u8(sig) || !r.u8(flags)) {
    return make_error("exit message is truncated");
  }
  if (kind > static_cast<std::uint8_t>(ExitKind::kFailed)) return make_error("unknown exit kind");
  if (flags > 1) return make_error("exit message has unknown flags");
  info.kind = static_cast<ExitKind>(kind);
  info.code = static_cast<std::int32_t>(code);
  info.signal = sig;
  info.truncated = flags == 1;
  info.message = std::string(r.rest());
  if (info.kind == ExitKind::kExited && (info.code < 0 || info.code > 255)) {
    return make_error("exit code out of range");
  }
  if (info.kind == ExitKind::kSignaled && (info.signal < 1 || info.signal > 64)) {
    return make_error("signal number out of range");
  }
  return info;
}

int client_exit_status(const ExitInfo& info) {
  switch (info.kind) {
    case ExitKind::kExited:
      return info.code;
    case ExitKind::kSignaled:
      return 128 + info.signal;
    case ExitKind::kTimedOut:
      return 124;
    case ExitKind::kDenied:
      return 126;
    case ExitKind::kNotFound:
      return 127;
    case ExitKind::kFailed:
      return 255;
  }
  return 255;
}

std::string encode(const ErrorInfo& info) {
  std::string out;
  out.push_back(static_cast<char>(info.code));
  out.append(info.message.substr(0, kMaxPayload - 1));
  return out;
}

Result<ErrorInfo> decode_error(std::string_view payload) {
  if (payload.empty()) return make_error("error message is empty");
  const auto code = static_cast<std::uint8_t>(payload[0]);
  if (code < 1 || code > static_cast<std::uint8_t>(ErrorCode::kCertificate)) {
    return make_error("unknown error code " + std::to_string(code));
  }
  return ErrorInfo{static_cast<ErrorCode>(code), std::string(payload.substr(1))};
}

bool is_forwardable_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
    case SIGQUIT:
    case SIGKILL:
    case SIGUSR1:
    case SIGUSR2:
      return true;
    default:
      return false;
  }
}

std::string encode_signal(int signo) { return std::string(1, static_cast<char>(signo)); }

Result<int> decode_signal(std::string_view payload) {
  if (payload.size() != 1) return make_error("signal message must be one byte");
  const int signo = static_cast<unsigned char>(payload[0]);
  if (!is_forwardable_signal(signo)) {
    return make_error("signal " + std::to_string(signo) + " may not be forwarded");
  }
  return signo;
}

}  // namespace trex::proto

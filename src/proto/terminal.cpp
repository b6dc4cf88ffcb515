// Messages of terminal sessions (trex -t): the request and a window size.
#include <string>

#include "proto/wire.hpp"
#include "trex/proto.hpp"

namespace trex::proto {
namespace {

using detail::put_u32;
using detail::Reader;

constexpr std::uint8_t kFlagCommand = 1;

bool read_size(Reader& r, WindowSize& size) {
  return r.u32(size.rows) && r.u32(size.cols) && size.rows <= kMaxWindow && size.cols <= kMaxWindow;
}

// TERM reaches the command's environment and the recording's header: only
// printable ASCII, like every terminfo name.
bool term_ok(std::string_view term) {
  if (term.size() > kMaxTerm) return false;
  for (const char c : term) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::string encode(const WindowSize& size) {
  std::string out;
  put_u32(out, size.rows);
  put_u32(out, size.cols);
  return out;
}

Result<WindowSize> decode_window(std::string_view payload) {
  Reader r(payload);
  WindowSize size;
  if (!read_size(r, size)) {
    return make_error("window size is truncated or above " + std::to_string(kMaxWindow));
  }
  if (!r.empty()) return make_error("window size has trailing bytes");
  return size;
}

Result<std::string> encode(const TerminalRequest& request) {
  if (!term_ok(request.term)) return make_error("TERM is not a terminal name");
  std::string out;
  out.push_back(static_cast<char>(request.command ? kFlagCommand : 0));
  put_u32(out, static_cast<std::uint32_t>(request.term.size()));
  out.append(request.term);
  out.append(encode(request.size));
  if (request.command) {
    auto exec = encode(*request.command);
    if (!exec) return exec.error();
    if (out.size() + exec->size() > kMaxPayload) {
      return make_error("the command line is longer than " + std::to_string(kMaxPayload) +
                        " bytes");
    }
    out.append(*exec);
  }
  return out;
}

Result<TerminalRequest> decode_terminal(std::string_view payload) {
  Reader r(payload);
  TerminalRequest req;
  std::uint8_t flags = 0;
  if (!r.u8(flags) || !r.bytes(req.term) || !read_size(r, req.size)) {
    return make_error("terminal request is truncated or its size above " +
                      std::to_string(kMaxWindow));
  }
  if ((flags & ~kFlagCommand) != 0) return make_error("terminal request has unknown flags");
  if (!term_ok(req.term)) return make_error("terminal request has a TERM that is not a name");
  if ((flags & kFlagCommand) == 0) {
    if (!r.empty()) return make_error("terminal request has trailing bytes");
    return req;
  }
  auto exec = decode_exec(r.rest());
  if (!exec) return make_error("terminal request: " + exec.message());
  req.command = std::move(*exec);
  return req;
}

}  // namespace trex::proto

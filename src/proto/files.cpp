// Messages of the file transfers: put, get and the file a get sends.
#include <string>

#include "proto/wire.hpp"
#include "trex/proto.hpp"

namespace trex::proto {
namespace {

using detail::put_u32;
using detail::put_u64;
using detail::Reader;

constexpr std::uint8_t kFlagPreserve = 1;
constexpr std::uint32_t kMaxNanos = 999'999'999;

// A path the server could be asked about: absolute, no NUL, bounded. Whether
// it is normalised and granted is the policy's business.
Status check_path(std::string_view what, std::string_view path) {
  if (path.empty()) return make_error(std::string(what) + " has an empty path");
  if (path.size() > kMaxPath) {
    return make_error(std::string(what) + " has a path longer than " + std::to_string(kMaxPath) +
                      " bytes");
  }
  if (path.find('\0') != std::string_view::npos) {
    return make_error(std::string(what) + " path contains a NUL byte");
  }
  if (path.front() != '/') return make_error(std::string(what) + " path is not absolute");
  return Status::success();
}

void put_time(std::string& out, std::int64_t s, std::uint32_t ns) {
  put_u64(out, static_cast<std::uint64_t>(s));
  put_u32(out, ns);
}

bool get_time(Reader& r, std::int64_t& s, std::uint32_t& ns) {
  std::uint64_t raw = 0;
  if (!r.u64(raw) || !r.u32(ns)) return false;
  s = static_cast<std::int64_t>(raw);
  return true;
}

}  // namespace

std::string encode(const PutRequest& req) {
  std::string out;
  out.push_back(static_cast<char>(req.preserve ? kFlagPreserve : 0));
  put_u32(out, req.mode);
  put_u64(out, req.size);
  put_time(out, req.mtime_s, req.mtime_ns);
  out.append(req.path.substr(0, kMaxPath));
  return out;
}

Result<PutRequest> decode_put(std::string_view payload) {
  Reader r(payload);
  PutRequest req;
  std::uint8_t flags = 0;
  if (!r.u8(flags) || !r.u32(req.mode) || !r.u64(req.size) ||
      !get_time(r, req.mtime_s, req.mtime_ns)) {
    return make_error("put request is truncated");
  }
  if ((flags & ~kFlagPreserve) != 0) return make_error("put request has unknown flags");
  if (req.mode > kMaxFileMode) return make_error("put request has an invalid mode");
  if (req.mtime_ns > kMaxNanos) return make_error("put request has an invalid time");
  req.preserve = (flags & kFlagPreserve) != 0;
  req.path = std::string(r.rest());
  if (auto s = check_path("put request", req.path); !s) return s.error();
  return req;
}

std::string encode(const GetRequest& req) {
  std::string out(1, '\0');  // flags: none yet
  out.append(req.path.substr(0, kMaxPath));
  return out;
}

Result<GetRequest> decode_get(std::string_view payload) {
  Reader r(payload);
  std::uint8_t flags = 0;
  if (!r.u8(flags)) return make_error("get request is truncated");
  if (flags != 0) return make_error("get request has unknown flags");
  GetRequest req{std::string(r.rest())};
  if (auto s = check_path("get request", req.path); !s) return s.error();
  return req;
}

std::string encode(const FileInfo& info) {
  std::string out;
  put_u64(out, info.size);
  put_u32(out, info.mode);
  put_time(out, info.mtime_s, info.mtime_ns);
  return out;
}

Result<FileInfo> decode_file(std::string_view payload) {
  Reader r(payload);
  FileInfo info;
  if (!r.u64(info.size) || !r.u32(info.mode) || !get_time(r, info.mtime_s, info.mtime_ns)) {
    return make_error("file message is truncated");
  }
  if (!r.empty()) return make_error("file message has trailing bytes");
  if (info.mode > kMaxFileMode) return make_error("file message has an invalid mode");
  if (info.mtime_ns > kMaxNanos) return make_error("file message has an invalid time");
  return info;
}

}  // namespace trex::proto

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
constexpr std::uint8_t kFlagFolder = 2;
constexpr std::uint8_t kFlagList = 1;  // of a get
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

// A relative path that stays below the folder it is joined to.
bool is_clean_relative(std::string_view path) {
  if (path.empty() || path.size() > kMaxPath || path.find('\0') != std::string_view::npos) {
    return false;
  }
  for (std::size_t start = 0;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

}  // namespace

std::string encode(const PutRequest& req) {
  std::string out;
  out.push_back(
      static_cast<char>((req.preserve ? kFlagPreserve : 0) | (req.folder ? kFlagFolder : 0)));
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
  if ((flags & ~(kFlagPreserve | kFlagFolder)) != 0) {
    return make_error("put request has unknown flags");
  }
  if (req.mode > kMaxFileMode) return make_error("put request has an invalid mode");
  if (req.mtime_ns > kMaxNanos) return make_error("put request has an invalid time");
  req.preserve = (flags & kFlagPreserve) != 0;
  req.folder = (flags & kFlagFolder) != 0;
  if (req.folder && req.size != 0) return make_error("put request of a folder has a size");
  req.path = std::string(r.rest());
  if (auto s = check_path("put request", req.path); !s) return s.error();
  return req;
}

std::string encode(const GetRequest& req) {
  std::string out(1, static_cast<char>(req.list ? kFlagList : 0));
  out.append(req.path.substr(0, kMaxPath));
  return out;
}

Result<GetRequest> decode_get(std::string_view payload) {
  Reader r(payload);
  std::uint8_t flags = 0;
  if (!r.u8(flags)) return make_error("get request is truncated");
  if ((flags & ~kFlagList) != 0) return make_error("get request has unknown flags");
  GetRequest req{std::string(r.rest()), (flags & kFlagList) != 0};
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

std::string encode(const TreeEntry& e) {
  std::string out(1, static_cast<char>(e.kind));
  put_u64(out, e.size);
  put_u32(out, e.mode);
  put_time(out, e.mtime_s, e.mtime_ns);
  const std::string_view path = std::string_view(e.path).substr(0, kMaxPath);
  put_u32(out, static_cast<std::uint32_t>(path.size()));
  out.append(path);
  out.append(e.note.substr(0, kMaxPayload - kMaxPath - 64));
  return out;
}

Result<TreeEntry> decode_entry(std::string_view payload) {
  Reader r(payload);
  TreeEntry e;
  std::uint8_t kind = 0;
  if (!r.u8(kind) || !r.u64(e.size) || !r.u32(e.mode) || !get_time(r, e.mtime_s, e.mtime_ns) ||
      !r.bytes(e.path)) {
    return make_error("entry message is truncated");
  }
  if (kind > static_cast<std::uint8_t>(TreeEntry::Kind::kSkipped)) {
    return make_error("entry message has an unknown kind");
  }
  e.kind = static_cast<TreeEntry::Kind>(kind);
  if (e.mode > kMaxFileMode) return make_error("entry message has an invalid mode");
  if (e.mtime_ns > kMaxNanos) return make_error("entry message has an invalid time");
  // "." is the listed folder itself, always the first entry.
  const bool self = e.path == "." && e.kind == TreeEntry::Kind::kFolder;
  if (!self && !is_clean_relative(e.path)) {
    return make_error("entry message has a path that is not a clean relative path");
  }
  e.note = std::string(r.rest());
  return e;
}

}  // namespace trex::proto

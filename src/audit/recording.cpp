// asciicast v2 recordings of terminal sessions (see include/trex/recording.hpp).
#include "trex/recording.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "audit/fields.hpp"
#include "util/sha256.hpp"
#include "util/unique_fd.hpp"

namespace trex::audit {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void append_escaped(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7F) {
    out += "\\u00";
    out += kHex[u >> 4];
    out += kHex[u & 15];
  } else {
    out += c;
  }
}

std::string format_seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", seconds < 0 ? 0.0 : seconds);
  return buf;
}

std::string line(double seconds, char kind, const std::string& body) {
  return "[" + format_seconds(seconds) + ", \"" + std::string(1, kind) + "\", \"" + body + "\"]\n";
}

}  // namespace

std::size_t append_json_text(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const int len = utf8_sequence_length(bytes, i);
    if (len == 0) return i;  // cut: the rest comes with the next read
    if (len < 0) {
      out += kReplacement;
      ++i;
    } else if (len == 1) {
      append_escaped(out, bytes[i++]);
    } else {
      out.append(bytes.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    }
  }
  return i;
}

std::string CastEncoder::header(const CastHeader& h) {
  Json j{{"version", 2}, {"width", h.width}, {"height", h.height}, {"timestamp", h.timestamp}};
  j["env"] = Json{{"TERM", h.term}};
  return j.dump() + "\n";
}

std::string CastEncoder::event(double seconds, char kind, std::string_view bytes) {
  std::string& held = kind == 'i' ? held_in_ : held_out_;
  std::string data = held + std::string(bytes);
  std::string body;
  const std::size_t used = append_json_text(body, data);
  // A cut sequence longer than any UTF-8 one can never complete.
  if (data.size() - used >= 4) {
    body += kReplacement;
    held.assign(data, used + 1);
  } else {
    held.assign(data, used);
  }
  if (body.empty()) return {};
  return line(seconds, kind, body);
}

std::string CastEncoder::flush(double seconds, char kind) {
  std::string& held = kind == 'i' ? held_in_ : held_out_;
  if (held.empty()) return {};
  held.clear();
  return line(seconds, kind, std::string(kReplacement));
}

std::string CastEncoder::resize(double seconds, unsigned cols, unsigned rows) {
  return "[" + format_seconds(seconds) + ", \"r\", \"" + std::to_string(cols) + "x" +
         std::to_string(rows) + "\"]\n";
}

struct Recording::Impl {
  util::UniqueFd fd;
  std::string path, name;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  CastEncoder encoder;
  util::Sha256 sha;  // of the whole lines in the file
  std::uint64_t bytes = 0;
  RecordingLimits limits;
  bool full = false;            // a write would have passed max_bytes
  bool failed = false;          // a write failed (full, or the file system said no)
  bool torn = false;            // ... and left part of a line that could not be cut off
  unsigned cols = 0, rows = 0;  // the window size last written (the header's at first)
  struct Size {
    unsigned cols, rows;
    double seconds;
  };
  std::optional<Size> held_size;      // not written yet (see RecordingLimits)
  std::optional<double> last_resize;  // when the size last written came

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // Writes one whole line or, failing, none: a line cut by the file system
  // (a full disk) is cut off again, so that the file stays asciicast and its
  // digest and size describe it. `torn` when even that failed.
  Status write(std::string_view line) {
    if (failed && !full) return make_error("cannot write " + path + ": an earlier write failed");
    if (full || line.size() > limits.max_bytes - bytes) {
      full = failed = true;
      return make_error(path + " reached its size limit of " + std::to_string(limits.max_bytes) +
                        " bytes");
    }
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? std::strerror(errno) : "nothing written";
        failed = true;
        torn = done > 0 && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0;
        return make_error("cannot write " + path + ": " + why);
      }
      done += static_cast<std::size_t>(n);
    }
    sha.update(line);
    bytes += line.size();
    return Status::success();
  }
  Status write_held_size() {
    if (!held_size) return Status::success();
    const Size s = *held_size;
    held_size.reset();
    if (s.cols == cols && s.rows == rows) return Status::success();
    cols = s.cols, rows = s.rows, last_resize = s.seconds;
    return write(CastEncoder::resize(s.seconds, s.cols, s.rows));
  }
};

Recording::Recording(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Recording::Recording(Recording&&) noexcept = default;
Recording& Recording::operator=(Recording&&) noexcept = default;
Recording::~Recording() = default;

const std::string& Recording::path() const { return impl_->path; }
bool Recording::full() const { return impl_->full; }

Result<Recording> Recording::create(const std::string& dir, const std::string& name,
                                    const CastHeader& header, const RecordingLimits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->path = dir + "/" + name;
  impl->name = name;
  impl->limits = limits;
  impl->cols = header.width, impl->rows = header.height;
  impl->fd.reset(::open(impl->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!impl->fd.valid()) {
    return make_error("cannot create the recording " + impl->path + ": " + std::strerror(errno));
  }
  // The umask may have taken more, never given more; make it exactly 0640.
  if (::fchmod(impl->fd.get(), 0640) != 0) {
    return make_error("cannot set the mode of " + impl->path + ": " + std::strerror(errno));
  }
  if (auto s = impl->write(CastEncoder::header(header)); !s) return s.error();
  return Recording(std::move(impl));
}

Status Recording::event(char kind, std::string_view bytes) {
  // A size held back comes first: these bytes were drawn for it.
  if (auto s = impl_->write_held_size(); !s) return s;
  const std::string text = impl_->encoder.event(impl_->seconds(), kind, bytes);
  return text.empty() ? Status::success() : impl_->write(text);
}

Status Recording::resize(unsigned cols, unsigned rows) {
  const double now = impl_->seconds();
  impl_->held_size = Impl::Size{cols, rows, now};
  const double interval = std::chrono::duration<double>(impl_->limits.resize_interval).count();
  if (impl_->last_resize && now - *impl_->last_resize < interval) return Status::success();
  return impl_->write_held_size();
}

Result<RecordingInfo> Recording::finish() {
  // What is held: the last window size, and a cut sequence that never
  // completed (shown as such). Once a write failed, the file stays as it is:
  // the summary describes what reached it.
  bool ok = !impl_->failed && impl_->write_held_size().ok();
  for (const char kind : {'o', 'i'}) {
    const std::string rest = impl_->encoder.flush(impl_->seconds(), kind);
    if (ok && !rest.empty()) ok = impl_->write(rest).ok();
  }
  if (impl_->torn) {
    return make_error("cannot cut a partly written line off " + impl_->path +
                      ": it no longer matches what was recorded");
  }
  RecordingInfo info;
  info.duration_ms = static_cast<std::int64_t>(impl_->seconds() * 1000);
  if (::fdatasync(impl_->fd.get()) != 0) {
    return make_error("cannot sync " + impl_->path + ": " + std::strerror(errno));
  }
  impl_->fd.reset();
  info.file = impl_->name;
  info.sha256 = impl_->sha.hex_digest();
  info.bytes = impl_->bytes;
  return info;
}

}  // namespace trex::audit

namespace trex::audit {

bool is_recording_name(std::string_view name) {
  constexpr std::string_view kPrefix = "tty-", kSuffix = ".cast";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, 4) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return false;
  }
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
             std::string_view::npos &&
         name.find("..") == std::string_view::npos;
}

Status check_recording(const std::string& dir, const Json& exec_end) {
  const auto it = exec_end.find("recording");
  if (it == exec_end.end()) return Status::success();
  // The record is untrusted: a field of another type is a mismatch, not a throw.
  std::string id = text_of(exec_end, "id");
  if (id.empty()) id = "?";
  if (!it->is_string() || !is_recording_name(it->get_ref<const std::string&>())) {
    return make_error("command " + id + ": the recording's name is not one trexd gives");
  }
  const std::string path = dir + "/" + it->get<std::string>();
  // O_NONBLOCK: a FIFO in its place must not hang the review (nor a device
  // such as /dev/zero feed it forever): only a regular file is read.
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    return make_error(path + ": recording of command " + id + " " +
                      (errno == ENOENT ? std::string("is missing") : std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(path + ": recording of command " + id + " is not a regular file");
  }
  util::Sha256 sha;
  std::uint64_t bytes = 0;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(path + ": cannot read: " + std::strerror(errno));
    sha.update(std::string_view(buf, static_cast<std::size_t>(n)));
    bytes += static_cast<std::uint64_t>(n);
  }
  const std::string digest = sha.hex_digest();
  const auto want_sha = exec_end.find("recording_sha256");
  const bool sha_ok = want_sha != exec_end.end() && want_sha->is_string() && *want_sha == digest;
  const auto want_bytes = int_of(exec_end, "recording_bytes");
  if (!sha_ok || !want_bytes || *want_bytes < 0 ||
      static_cast<std::uint64_t>(*want_bytes) != bytes) {
    const std::string said = text_of(exec_end, "recording_sha256");
    return make_error(path + ": recording of command " + id + " was changed: its SHA-256 is " +
                      digest + " (" + std::to_string(bytes) + " bytes), the audit trail says " +
                      (said.empty() ? std::string("none") : said));
  }
  return Status::success();
}

Result<CastEvent> parse_cast_event(std::string_view line) {
  const Json j = Json::parse(line, nullptr, false);
  if (!j.is_array() || j.size() < 3 || !j[0].is_number() || !j[1].is_string() ||
      !j[2].is_string()) {
    return make_error("not an asciicast v2 event");
  }
  return CastEvent{j[0].get<double>(), j[1].get<std::string>(), j[2].get<std::string>()};
}

}  // namespace trex::audit

#include "audit/head.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/files.hpp"
#include "audit/scan.hpp"

namespace trex::audit {
namespace {

// Some record of `file` is `a`: true/false once known, nothing when every
// record of the file is newer than `a` (look in the next older file).
Result<std::optional<bool>> file_holds(const std::string& file, const Anchor& a) {
  const util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  // A rotated file removed (retention) holds nothing: look further back.
  if (!fd && errno == ENOENT) return std::optional<bool>();
  if (!fd) return make_error("cannot open " + file + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error("cannot stat " + file);
  std::uint64_t end = static_cast<std::uint64_t>(st.st_size);
  // A torn last line (no newline) is no record: skip to the last newline.
  if (end > 0) {
    auto nl = rfind_newline(fd.get(), end, kMaxTailBytes);
    if (!nl) return make_error(file + ": " + nl.message());
    end = *nl ? **nl + 1 : 0;
  }
  while (end > 0) {
    auto line = line_ending_at(fd.get(), end);
    if (!line) return make_error(file + ": " + line.message());
    end = line->start;
    auto rec = scan_record(line->text);
    if (!rec) continue;  // not a record: verify names it; it is not `a`
    if (rec->seq == a.seq) return std::optional<bool>(sha256_hex(line->text) == a.hash);
    if (rec->seq < a.seq) return std::optional<bool>(false);
  }
  return std::optional<bool>();
}

}  // namespace

Result<bool> trail_holds(const std::string& path, const Anchor& a) {
  auto files = trail_files(path);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    auto held = file_holds(*it, a);
    if (!held) return held.error();
    if (*held) return **held;
  }
  return false;
}

Result<HeadFile> HeadFile::open(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd) return make_error("cannot open audit head file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("audit head file " + path + " is not a regular file");
  }
  if ((st.st_mode & 0137) != 0) ::fchmod(fd.get(), st.st_mode & 0640);
  HeadFile h(std::move(fd), path);
  // "SEQ:HASH\n" is at most 20 + 1 + 64 + 1 bytes; read a little more so
  // that anything longer is seen as not a head.
  if (st.st_size > 0) {
    auto text = pread_exact(h.fd_.get(), 0, std::min<std::uint64_t>(st.st_size, 256));
    if (!text) return make_error("cannot read audit head file " + path + ": " + text.message());
    h.stored_ = std::move(*text);
    h.size_ = static_cast<std::size_t>(st.st_size);
  }
  return h;
}

Status HeadFile::store(const Anchor& a, bool sync) {
  const std::string text = a.text() + "\n";
  // seq only grows, so the text never gets shorter except after a
  // recovery: overwrite in place (one pwrite) and cut what is left.
  ssize_t n;
  do {
    n = ::pwrite(fd_.get(), text.data(), text.size(), 0);
  } while (n < 0 && errno == EINTR);
  bool ok = n == static_cast<ssize_t>(text.size());
  if (ok && size_ > text.size()) ok = ::ftruncate(fd_.get(), static_cast<off_t>(text.size())) == 0;
  if (ok && sync) ok = ::fdatasync(fd_.get()) == 0;
  if (!ok) return make_error("cannot write audit head file " + path_ + ": " + std::strerror(errno));
  size_ = text.size();
  return {};
}

}  // namespace trex::audit

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "audit/files.hpp"
#include "audit/head.hpp"
#include "trex/audit.hpp"

namespace trex::audit {

namespace {

// Audit file blocks reserved ahead of the records (see Writer::reserve).
constexpr std::uint64_t kReserveAhead = 16 << 10;

std::string errno_text(int err) { return std::strerror(err); }

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(errno_text(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// With fsync on, a new or renamed file must also survive a crash: sync its directory.
Status sync_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const util::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return make_error("cannot open directory " + dir + ": " + errno_text(errno));
  const int rc = ::fsync(fd.get());
  const int err = errno;
  if (rc != 0) return make_error("cannot fsync directory " + dir + ": " + errno_text(err));
  return {};
}

// The chain after the newest rotated file, for a fresh or empty current file.
Result<Chain> chain_from_rotated(const std::string& path) {
  const auto numbers = rotated_numbers(path);
  for (auto it = numbers.rbegin(); it != numbers.rend(); ++it) {
    const std::string file = path + "." + std::to_string(*it);
    const util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return make_error("cannot open rotated audit file " + file + ": " + errno_text(errno));
    struct stat st {};
    Result<TailLine> line = make_error("cannot stat: " + errno_text(errno));
    if (::fstat(fd.get(), &st) == 0 && st.st_size == 0) continue;
    if (st.st_size > 0) line = line_ending_at(fd.get(), static_cast<std::uint64_t>(st.st_size));
    if (!line) return make_error("rotated audit file " + file + ": " + line.message());
    auto chain = Chain::after_line(line->text);
    if (!chain)
      return make_error("last line of rotated audit file " + file + ": " + chain.message());
    return chain;
  }
  return Chain();
}

}  // namespace

Writer::Writer(Options options) : options_(std::move(options)) {}

// Blocks reserved past the last record go back (truncating to the same size
// frees them); a crash leaves at most kReserveAhead of them.
void Writer::release_reserve() {
  if (fd_ && reserved_ > size_) (void)::ftruncate(fd_.get(), static_cast<off_t>(size_));
  reserved_ = size_;
}

Writer::~Writer() { release_reserve(); }

Result<std::unique_ptr<Writer>> Writer::open(const Options& options) {
  std::unique_ptr<Writer> writer(new Writer(options));
  if (auto s = writer->open_current(); !s) return s.error();
  if (auto s = writer->resume(); !s) return s.error();
  if (!options.head_path.empty()) {
    if (auto s = writer->check_head(); !s) return s.error();
  }
  return writer;
}

std::optional<Anchor> Writer::last_record() const {
  if (chain_.next_seq() <= 1) return std::nullopt;
  return Anchor{chain_.next_seq() - 1, chain_.prev()};
}

std::optional<Anchor> Writer::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_record();
}

// The trail must still reach the head trexd last recorded; a trail that
// does not was cut short, rolled back or replaced while trexd was not
// looking, and going on would hide that.
Status Writer::check_head() {
  auto file = HeadFile::open(options_.head_path);
  if (!file) return file.error();
  head_ = std::make_unique<HeadFile>(std::move(*file));
  const auto last = last_record();
  if (const auto& stored = head_->stored()) {
    std::string problem;
    auto expected = parse_anchor(*stored);
    if (!expected) {
      problem = "holds no head (" + expected.message() + ")";
    } else {
      auto held = trail_holds(options_.path, *expected);
      if (!held)
        return make_error("cannot check audit trail " + options_.path + ": " + held.message());
      if (!*held) problem = "says it reached record " + expected->text();
    }
    if (!problem.empty()) {
      const std::string found = last ? "ends at record " + last->text() : "is empty";
      if (!options_.accept_shortened) {
        return make_error("audit trail " + options_.path + " " + found + ", but " +
                          options_.head_path + " " + problem +
                          ": the trail was cut short, rolled back or replaced since trexd last "
                          "wrote it. Keep the files for investigation; to go on from the trail "
                          "as it is, start trexd once with --accept-shortened-trail");
      }
      if (!recovery_.is_object()) recovery_ = Json::object();
      recovery_["trail_shortened"] = {{"expected", expected ? Json(expected->text()) : Json()},
                                      {"found", last ? Json(last->text()) : Json()}};
    }
  } else if (last) {
    if (!recovery_.is_object()) recovery_ = Json::object();
    recovery_["head_missing"] = true;  // first start with one, or it was removed
  }
  return last ? head_->store(*last, options_.fsync) : Status();
}

Status Writer::open_current() {
  fd_.reset(::open(options_.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return make_error("cannot open audit file " + options_.path + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) {
    const int err = errno;
    fd_.reset();
    return make_error("cannot stat audit file " + options_.path + ": " + errno_text(err));
  }
  size_ = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  reserved_ = size_;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  // Names, addresses and serials: never for others, even in a file an older
  // trexd made 0644.
  if (S_ISREG(st.st_mode) && (st.st_mode & 0137) != 0) ::fchmod(fd_.get(), st.st_mode & 0640);
  return options_.fsync && S_ISREG(st.st_mode) ? sync_dir(options_.path) : Status();
}

// Finds the last record of the current file; whatever follows it (a torn
// write, and at most one complete line that is not a record) is set aside.
Status Writer::resume() {
  const std::string& path = options_.path;
  std::uint64_t end = size_;
  bool skipped_junk_line = false;
  while (end > 0) {
    auto nl = rfind_newline(fd_.get(), end, kMaxTailBytes);
    if (!nl) return make_error("cannot read the end of audit file " + path + ": " + nl.message());
    if (!*nl) {
      end = 0;
      break;
    }
    if (**nl + 1 != end) {
      end = **nl + 1;  // bytes after the last newline: a torn write
      continue;
    }
    auto line = line_ending_at(fd_.get(), end);
    if (!line)
      return make_error("cannot read the end of audit file " + path + ": " + line.message());
    auto chain = Chain::after_line(line->text);
    if (chain) {
      chain_ = std::move(*chain);
      break;
    }
    if (skipped_junk_line) {
      return make_error("audit file " + path + " does not end with a record (" + chain.message() +
                        "); check it with trex-audit verify and move it aside");
    }
    skipped_junk_line = true;
    end = line->start;
  }
  if (end == 0) {
    auto chain = chain_from_rotated(path);
    if (!chain) return chain.error();
    chain_ = std::move(*chain);
  }
  return end == size_ ? Status() : set_aside(end);
}

Status Writer::set_aside(std::uint64_t good_end) {
  const std::string torn_path = options_.path + ".torn";
  const std::uint64_t torn = size_ - good_end;
  if (torn > kMaxTailBytes) {
    return make_error("audit file " + options_.path + " ends with " + std::to_string(torn) +
                      " bytes that are not records; check it with trex-audit verify");
  }
  auto bytes = pread_exact(fd_.get(), good_end, torn);
  if (!bytes) return make_error("cannot read audit file " + options_.path + ": " + bytes.message());
  if (bytes->back() != '\n') bytes->push_back('\n');
  util::UniqueFd out(::open(torn_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!out) return make_error("cannot open " + torn_path + ": " + errno_text(errno));
  Status saved = write_all(out.get(), *bytes);
  if (saved && ::fdatasync(out.get()) != 0) saved = make_error(errno_text(errno));
  out.reset();
  if (!saved)
    return make_error("cannot save torn audit bytes to " + torn_path + ": " + saved.message());
  if (::ftruncate(fd_.get(), static_cast<off_t>(good_end)) != 0) {
    return make_error("cannot truncate audit file " + options_.path + ": " + errno_text(errno));
  }
  size_ = good_end;
  reserved_ = good_end;  // the truncation freed any blocks past it
  recovery_ = Json::object();
  recovery_["recovered"] = {{"torn_bytes", torn}, {"saved_to", torn_path}};
  return {};
}

Status Writer::write(std::string_view event, const Json& fields) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto s = ensure_current(); !s) return s;
  std::string record = chain_.seal(event, fields, std::chrono::system_clock::now());
  const std::size_t line_size = record.size();
  record.push_back('\n');
  if (size_ > 0 && size_ + record.size() > options_.max_bytes) {
    if (auto s = rotate(); !s) return s;
    if (const auto rotated = last_record(); rotated && options_.on_rotate) {
      options_.on_rotate(*rotated);
    }
  }
  if (auto s = append(record); !s) return s;
  const std::string_view line = std::string_view(record).substr(0, line_size);
  chain_.advance(line);
  // Best effort: a head left behind only makes the next start check an
  // older record, which the trail still holds.
  if (head_) (void)head_->store(*last_record(), options_.fsync);
  if (options_.mirror) options_.mirror(event, line);
  return {};
}

// Fail closed when the path no longer names our file (deleted, or replaced by
// rotation we did not do): the record would go nowhere anyone looks. One
// stat of the path is enough: while fd_ is open its inode number cannot be
// reused, so a path that resolves to it names our file.
Status Writer::ensure_current() {
  if (!fd_) return open_current();
  struct stat by_path {};
  if (::stat(options_.path.c_str(), &by_path) == 0 && by_path.st_ino == ino_ &&
      by_path.st_dev == dev_) {
    return {};
  }
  const Status reopened = open_current();
  return make_error(
      "audit file " + options_.path + " was removed or replaced" +
      (reopened ? "; a new file was opened for the next record" : "; " + reopened.message()));
}

// Reserves the record's blocks before it is written: on a full file system
// this fails before a single byte lands, so no reader ever sees a torn record
// (a short write is truncated, but a reader could catch it in between).
// Blocks are reserved kReserveAhead at a time, one fallocate per few dozen
// records; where that much does not fit, the record alone is tried. File
// systems without fallocate go on to the write.
Status Writer::reserve(std::size_t bytes) {
  if (size_ + bytes <= reserved_) return {};
  const auto start = static_cast<off_t>(size_);
  const std::uint64_t ahead = std::max<std::uint64_t>(bytes, kReserveAhead);
  if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, start, static_cast<off_t>(ahead)) == 0) {
    reserved_ = size_ + ahead;
    return {};
  }
  const auto no_room = [] { return errno == ENOSPC || errno == EDQUOT || errno == EFBIG; };
  if (!no_room()) return {};  // no fallocate here (one failed call per record, as ever)
  if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, start, static_cast<off_t>(bytes)) == 0) {
    reserved_ = size_ + bytes;
    return {};
  }
  if (no_room()) {
    return make_error("cannot write audit record to " + options_.path + ": " + errno_text(errno));
  }
  return {};
}

Status Writer::append(std::string_view record) {
  if (auto s = reserve(record.size()); !s) return s;
  ssize_t n;
  do {
    n = ::write(fd_.get(), record.data(), record.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  std::string failure;
  if (n < 0) {
    failure = errno_text(err);
  } else if (static_cast<std::size_t>(n) != record.size()) {
    failure =
        "short write (" + std::to_string(n) + " of " + std::to_string(record.size()) + " bytes)";
  } else if (options_.fsync && ::fdatasync(fd_.get()) != 0) {
    failure = "fdatasync: " + errno_text(errno);
  }
  if (failure.empty()) {
    size_ += record.size();
    return {};
  }
  // Take back any part of the record so the next one keeps seq contiguous.
  // The truncation also frees the blocks reserved past it.
  if (n > 0) {
    (void)::ftruncate(fd_.get(), static_cast<off_t>(size_));
    reserved_ = size_;
  }
  return make_error("cannot write audit record to " + options_.path + ": " + failure);
}

Status Writer::rotate() {
  release_reserve();
  const auto numbers = rotated_numbers(options_.path);
  const std::string target =
      options_.path + "." + std::to_string(numbers.empty() ? 1 : numbers.back() + 1);
  // RENAME_NOREPLACE: rotation must never overwrite an older file.
  int rc = ::renameat2(AT_FDCWD, options_.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && errno == EINVAL) {  // a file system without RENAME_NOREPLACE
    struct stat st {};
    rc = ::lstat(target.c_str(), &st) == 0 ? (errno = EEXIST, -1)
                                           : ::rename(options_.path.c_str(), target.c_str());
  }
  if (rc != 0) {
    return make_error("cannot rotate audit file " + options_.path + " to " + target + ": " +
                      errno_text(errno));
  }
  if (auto s = open_current(); !s) return s;
  return {};
}

}  // namespace trex::audit

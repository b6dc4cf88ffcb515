#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "audit/files.hpp"
#include "audit/scan.hpp"
#include "trex/audit.hpp"
#include "trex/audit_review.hpp"
#include "util/unique_fd.hpp"

namespace trex::audit {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

// Untrusted text going into a one-line message: short and printable.
std::string brief(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 12)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 12) out += "\xe2\x80\xa6";  // …
  return out;
}

}  // namespace

std::optional<std::string> Verifier::check(std::string_view line) {
  auto head = scan_record(line);
  if (!head) {
    fault_ = VerifyFault::kRecord;
    return head.message();
  }
  if (head->seq != next_seq_) {
    fault_ = VerifyFault::kSeq;
    const char* why = head->seq > next_seq_ ? "records are missing" : "repeated or out of order";
    return "seq is " + std::to_string(head->seq) + ", expected " + std::to_string(next_seq_) +
           " (" + why + ")";
  }
  if (head->prev != prev_) {
    fault_ = VerifyFault::kPrev;
    return "prev does not match the previous line (expected " + brief(prev_) + ", found " +
           brief(head->prev) + ")";
  }
  prev_ = sha256_hex(line);
  names_recording_ = head->recording;
  ++next_seq_;
  ++records_;
  return std::nullopt;
}

Status for_each_line(const std::string& file, const LineFn& fn) {
  const util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return make_error(errno == ENOENT ? "missing file" : std::strerror(errno));
  std::string buf;
  std::size_t start = 0;  // first byte of the current (unfinished) line in buf
  std::uint64_t number = 0;
  for (;;) {
    if (start > 0) {
      buf.erase(0, start);
      start = 0;
    }
    const std::size_t old = buf.size();
    buf.resize(old + kReadChunk);
    ssize_t n;
    do {
      n = ::read(fd.get(), buf.data() + old, kReadChunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(std::strerror(errno));
    buf.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
    std::size_t scan = old;
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): a search, not a copy
    while (const void* nl = std::memchr(buf.data() + scan, '\n', buf.size() - scan)) {
      const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      if (!fn(std::string_view(buf.data() + start, end - start), ++number, true)) return {};
      start = scan = end + 1;
    }
  }
  if (start < buf.size()) fn(std::string_view(buf).substr(start), ++number, false);
  return {};
}

Result<Anchor> parse_anchor(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string_view s =
      first == std::string_view::npos ? std::string_view() : text.substr(first, last - first + 1);
  const auto colon = s.find(':');
  Anchor a;
  const std::string_view seq = s.substr(0, colon);
  const auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), a.seq);
  const bool seq_ok = colon != std::string_view::npos && !seq.empty() && ec == std::errc() &&
                      end == seq.data() + seq.size() && a.seq > 0;
  if (seq_ok) a.hash = std::string(s.substr(colon + 1));
  const bool hash_ok = a.hash.size() == 64 && std::all_of(a.hash.begin(), a.hash.end(), [](char c) {
                         return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                       });
  if (!seq_ok || !hash_ok) {
    return make_error(
        "expected SEQ:HASH (a record number and the 64-digit lowercase SHA-256 of "
        "its line, as trex-audit verify prints), not '" +
        brief(s) + "'");
  }
  return a;
}

VerifyReport verify_files(const std::vector<std::string>& files,
                          const std::optional<Anchor>& expect,
                          const RecordingLineFn& on_recording) {
  VerifyReport report;
  Verifier verifier;
  bool reached = false;
  for (const auto& file : files) {
    std::optional<VerifyFailure> failure;
    auto status = for_each_line(file, [&](std::string_view line, std::uint64_t n, bool complete) {
      if (!complete) {
        failure = VerifyFailure{file, n, "incomplete last line (no newline at the end)",
                                VerifyFault::kIncomplete};
        return false;
      }
      if (auto reason = verifier.check(line)) {
        failure = VerifyFailure{file, n, std::move(*reason), verifier.fault()};
        return false;
      }
      if (on_recording && verifier.names_recording()) on_recording(file, n, line);
      if (expect && verifier.head()->seq == expect->seq) {
        reached = true;
        if (verifier.head()->hash != expect->hash) {
          failure = VerifyFailure{file, n,
                                  "record " + std::to_string(expect->seq) +
                                      " is not the expected one (its hash is " +
                                      verifier.head()->hash + ", expected " + expect->hash + ")",
                                  VerifyFault::kNotExpected};
        }
      }
      return !failure;
    });
    if (!status) failure = VerifyFailure{file, 0, status.message(), VerifyFault::kUnreadable};
    if (failure) {
      report.failure = std::move(failure);
      break;
    }
  }
  report.records = verifier.records();
  report.head = verifier.head();
  if (!report.failure && expect && !reached) {
    const std::uint64_t last = report.head ? report.head->seq : 0;
    report.failure = VerifyFailure{
        files.empty() ? std::string() : files.back(), 0,
        "the trail ends at record " + std::to_string(last) + ", before the expected record " +
            std::to_string(expect->seq) + ": records at its end are missing (cut off?)",
        VerifyFault::kCutOff};
  }
  return report;
}

std::vector<std::uint64_t> rotated_numbers(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".";
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    // "audit.jsonl.01" is not one of ours: only canonical numbers count.
    if (digits.size() > 18 || digits[0] == '0' ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    out.push_back(std::stoull(std::string(digits)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> trail_files(const std::string& path) {
  constexpr int kMaxGapsListed = 100;
  std::vector<std::string> files;
  std::uint64_t expected = 1;
  int gaps = 0;
  // Gaps stay in the list so that verify reports the missing file.
  for (std::uint64_t n : rotated_numbers(path)) {
    for (; expected < n && gaps < kMaxGapsListed; ++expected, ++gaps) {
      files.push_back(path + "." + std::to_string(expected));
    }
    files.push_back(path + "." + std::to_string(n));
    expected = n + 1;
  }
  std::error_code ec;
  if (files.empty() || std::filesystem::exists(path, ec)) files.push_back(path);
  return files;
}

}  // namespace trex::audit

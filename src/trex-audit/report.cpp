// trex-audit report: the trail's window as one self-contained HTML page.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

#include "trex-audit/commands.hpp"
#include "trex/audit_report.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_audit {

using namespace trex::audit;  // this program is the audit module's front end

namespace {

ChainSummary summary_of(const VerifyReport& v, std::size_t files) {
  ChainSummary c;
  c.ok = v.ok();
  c.records = v.records;
  c.files = files;
  c.head = v.head ? v.head->text() : "none";
  if (v.failure) {
    c.failure = v.failure->file + (v.failure->line ? ":" + std::to_string(v.failure->line) : "") +
                ": " + v.failure->reason;
  }
  return c;
}

// The report holds client names and commands: readable as the trail is (0640).
Status write_file(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? Status::success() : make_error("cannot write to stdout");
  }
  util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return make_error("cannot write " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  // close(2) can report a failed write-back (NFS, quota): checked, not left to the owner.
  if (::close(fd.release()) != 0) {
    return make_error("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::success();
}

}  // namespace

int run_report(const Trail& trail, const Query& query, const std::string& html) {
  const auto now = std::chrono::system_clock::now();
  const VerifyReport verified = verify_files(trail.files);
  Report report(query.since.value_or(now - std::chrono::hours(24 * 7)), query.until.value_or(now));
  CommandView view;
  std::vector<Entry> entries;
  const bool clean = for_each_record(trail.files, [&](const Json& record, std::string_view) {
    view.add(record, entries);
    for (const auto& e : entries) {
      if (matches(e, query)) report.add(e);
    }
    entries.clear();
  });
  for (const auto& e : view.open_commands()) {
    if (matches(e, query)) report.add(e);
  }
  std::ostringstream page;
  report.write_html(page, summary_of(verified, trail.files.size()),
                    display_time(rfc3339_utc(now), false) + " UTC");
  if (auto s = write_file(html, page.str()); !s) {
    std::cerr << "trex-audit: " << s.message() << '\n';
    return 1;
  }
  if (!verified.ok()) std::cerr << "trex-audit: the chain is broken (see the report's top)\n";
  return clean && verified.ok() ? 0 : 1;
}

}  // namespace trex::trex_audit

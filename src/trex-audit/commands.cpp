#include "trex-audit/commands.hpp"

#include <iostream>
#include <optional>

namespace trex::audit::cli {
namespace {

// Feeds every well-formed record of the trail to `fn`; reports the rest on
// stderr. Returns false when anything was skipped or unreadable.
template <class Fn>
bool for_each_record(const std::vector<std::string>& files, Fn&& fn) {
  bool clean = true;
  for (const auto& file : files) {
    auto status = for_each_line(file, [&](std::string_view line, std::uint64_t n, bool complete) {
      auto record =
          complete ? parse_record(line) : Result<Json>(make_error("incomplete last line"));
      if (!record) {
        std::cerr << file << ':' << n << ": skipped: " << record.message() << '\n';
        clean = false;
        return true;
      }
      fn(*record, line);
      return true;
    });
    if (!status) {
      std::cerr << "trex-audit: " << file << ": " << status.message() << '\n';
      clean = false;
    }
  }
  return clean;
}

}  // namespace

int run_verify(const std::vector<std::string>& files, const std::optional<Anchor>& expect) {
  const VerifyReport report = verify_files(files, expect);
  if (report.ok()) {
    std::cout << "ok: " << report.records << (report.records == 1 ? " record" : " records")
              << " in " << files.size() << (files.size() == 1 ? " file" : " files")
              << ", chain intact\n";
    // The head to keep elsewhere: a later verify --expect proves the end
    // was not cut off (the chain alone cannot tell).
    std::cout << "head: " << (report.head ? report.head->text() : std::string("none")) << '\n';
    if (expect) std::cout << "reaches the expected record " << expect->text() << '\n';
    return 0;
  }
  const VerifyFailure& f = *report.failure;
  std::cerr << f.file;
  if (f.line > 0) std::cerr << ':' << f.line;
  std::cerr << ": " << f.reason << '\n';
  if (f.file == files.front() && f.line == 1 && f.reason.rfind("seq is", 0) == 0) {
    std::cerr << "(a rotated trail is verified from its oldest file: give all of its files, "
                 "oldest first)\n";
  }
  std::cerr << "chain broken after " << report.records << " good records\n";
  return 1;
}

int run_show(const std::vector<std::string>& files, const Filter& filter, bool json) {
  Describer describer;
  std::optional<TableWriter> table;
  if (!json) table.emplace(std::cout);
  const bool clean = for_each_record(files, [&](const Json& record, std::string_view line) {
    if (json) {
      if (matches(record, filter)) std::cout << line << '\n';
      return;
    }
    Row row = describer.describe(record);  // every record: exec_end joins its exec_start
    if (matches(record, filter)) table->add(std::move(row));
  });
  if (table) table->flush();
  std::cout.flush();
  return clean ? 0 : 1;
}

int run_stats(const std::vector<std::string>& files) {
  Stats stats;
  const bool clean =
      for_each_record(files, [&](const Json& record, std::string_view) { stats.add(record); });
  stats.print(std::cout);
  std::cout.flush();
  return clean ? 0 : 1;
}

}  // namespace trex::audit::cli

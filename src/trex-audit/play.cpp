// trex-audit play: replays a terminal session's recording at its pace, and
// verify's check of every recording the trail names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "trex-audit/commands.hpp"
#include "trex/recording.hpp"
#include "util/unique_fd.hpp"
#include "util/unique_file.hpp"

namespace trex::trex_audit {
namespace {

// The lines of a stream, without their '\n', through one getline buffer.
class Lines {
 public:
  explicit Lines(std::FILE* in) : in_(in) {}
  ~Lines() { std::free(buf_); }
  Lines(const Lines&) = delete;
  Lines& operator=(const Lines&) = delete;
  // False at the end.
  bool next(std::string& line) {
    const ssize_t n = ::getline(&buf_, &cap_, in_);
    if (n < 0) return false;
    line.assign(buf_, static_cast<std::size_t>(n));
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return true;
  }

 private:
  std::FILE* in_;
  char* buf_ = nullptr;
  std::size_t cap_ = 0;
};

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A string field, else "": the trail is untrusted, and Json::value throws
// on a field of another type.
std::string string_field(const Json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The exec_end of command `id` (the last one: ids restart with trexd) or the
// one naming recording `id`, and the folder of its trail file.
std::optional<std::pair<Json, std::string>> find_end(const Trail& trail, const std::string& id) {
  std::optional<std::pair<Json, std::string>> found;
  for (const auto& file : trail.files) {
    for_each_record({file}, [&](const Json& r, std::string_view) {
      if (string_field(r, "event") != "exec_end" || !r.contains("recording")) return;
      if (string_field(r, "id") == id || string_field(r, "recording") == id) {
        found = std::make_pair(r, folder_of(file));
      }
    });
  }
  return found;
}

void write_out(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void RecordingCheck::check(const std::string& file, const Json& record) {
  if (string_field(record, "event") != "exec_end" || !record.contains("recording")) return;
  ++checked_;
  if (auto s = audit::check_recording(folder_of(file), record); !s) {
    std::cerr << printable_text(s.message()) << '\n';
    ++bad_;
  }
}

void RecordingCheck::line(const std::string& file, std::uint64_t number, std::string_view line) {
  last_file_ = file;
  last_number_ = number;
  if (auto record = audit::parse_record(line)) check(file, *record);
}

void RecordingCheck::rest(const std::vector<std::string>& files,
                          const audit::VerifyFailure& failure) {
  auto file = std::find(files.begin(), files.end(), failure.file);
  // A missing or unreadable file (line 0): the chain's report names it.
  if (file != files.end() && failure.line == 0) ++file;
  for (; file != files.end(); ++file) {
    const bool broken = *file == failure.file;
    const bool seen = *file == last_file_;
    // Lines that are no records were reported with the chain; skip them.
    (void)audit::for_each_line(*file, [&](std::string_view line, std::uint64_t n, bool complete) {
      if (!complete || (broken && n < failure.line) || (seen && n <= last_number_)) return true;
      if (auto record = audit::parse_record(line)) check(*file, *record);
      return true;
    });
  }
}

int RecordingCheck::finish() const {
  if (checked_ > 0 && bad_ == 0) {
    std::cout << "ok: " << checked_ << (checked_ == 1 ? " recording" : " recordings")
              << " match their digests\n";
  }
  return bad_ == 0 ? 0 : 1;
}

int run_play(const Trail& trail, const PlayOptions& options) {
  const auto end = find_end(trail, options.id);
  if (!end) {
    std::cerr << "trex-audit: no recording of command " << printable_text(options.id)
              << " in the trail\n";
    return 1;
  }
  const auto& [record, dir] = *end;
  // A name trexd never gives (not a string, "../x") could make play read a
  // file outside the trail's folder: refuse it, where a changed recording
  // is still played with a warning.
  const std::string name = string_field(record, "recording");
  if (!audit::is_recording_name(name)) {
    std::cerr << "trex-audit: command " << printable_text(string_field(record, "id"))
              << ": the recording's name is not one trexd gives\n";
    return 1;
  }
  int status = 0;
  if (auto s = audit::check_recording(dir, record); !s) {
    std::cerr << "trex-audit: warning: " << printable_text(s.message()) << '\n';
    status = 1;
  }
  const std::string path = dir + "/" + name;
  // Opened once and checked through the descriptor: a FIFO (also one put in
  // the file's place after a check by name) would hang the replay.
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (fd && ::fstat(fd.get(), &st) == 0 && !S_ISREG(st.st_mode)) {
    std::cerr << "trex-audit: " << printable_text(path) << " is not a regular file\n";
    return 1;
  }
  const util::UniqueFile in(fd ? ::fdopen(fd.get(), "r") : nullptr);
  if (in) fd.release();  // the FILE owns it now
  std::string line;
  std::optional<Lines> lines;
  if (in) lines.emplace(in.get());
  if (!lines || !lines->next(line)) {
    std::cerr << "trex-audit: cannot read " << printable_text(path) << '\n';
    return 1;
  }
  double last = 0;
  while (lines->next(line)) {
    auto event = audit::parse_cast_event(line);
    if (!event || event->kind != "o") continue;
    double pause = std::max(0.0, event->seconds - last) / options.speed;
    if (options.idle_limit > 0) pause = std::min(pause, options.idle_limit);
    last = event->seconds;
    if (pause > 0) std::this_thread::sleep_for(std::chrono::duration<double>(pause));
    write_out(event->data);
  }
  return status;
}

}  // namespace trex::trex_audit

// trex-audit play: replays a terminal session's recording at its pace, and
// verify's check of every recording the trail names.
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <thread>

#include "trex-audit/commands.hpp"
#include "trex/recording.hpp"

namespace trex::trex_audit {
namespace {

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The exec_end of command `id` (the last one: ids restart with trexd) or the
// one naming recording `id`, and the folder of its trail file.
std::optional<std::pair<Json, std::string>> find_end(const Trail& trail, const std::string& id) {
  std::optional<std::pair<Json, std::string>> found;
  for (const auto& file : trail.files) {
    for_each_record({file}, [&](const Json& r, std::string_view) {
      if (r.value("event", "") != "exec_end" || !r.contains("recording")) return;
      if (r.value("id", "") == id || r.value("recording", "") == id) {
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

int check_recordings(const Trail& trail) {
  int bad = 0;
  std::size_t checked = 0;
  for (const auto& file : trail.files) {
    for_each_record({file}, [&](const Json& r, std::string_view) {
      if (r.value("event", "") != "exec_end" || !r.contains("recording")) return;
      ++checked;
      if (auto s = audit::check_recording(folder_of(file), r); !s) {
        std::cerr << printable_text(s.message()) << '\n';
        ++bad;
      }
    });
  }
  if (checked > 0 && bad == 0) {
    std::cout << "ok: " << checked << (checked == 1 ? " recording" : " recordings")
              << " match their digests\n";
  }
  return bad == 0 ? 0 : 1;
}

int run_play(const Trail& trail, const PlayOptions& options) {
  const auto end = find_end(trail, options.id);
  if (!end) {
    std::cerr << "trex-audit: no recording of command " << printable_text(options.id)
              << " in the trail\n";
    return 1;
  }
  const auto& [record, dir] = *end;
  int status = 0;
  if (auto s = audit::check_recording(dir, record); !s) {
    std::cerr << "trex-audit: warning: " << printable_text(s.message()) << '\n';
    status = 1;
  }
  const std::string path = dir + "/" + record.value("recording", "");
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) {
    std::cerr << "trex-audit: cannot read " << printable_text(path) << '\n';
    return 1;
  }
  double last = 0;
  while (std::getline(in, line)) {
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

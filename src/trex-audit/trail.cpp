#include <cstdlib>
#include <filesystem>

#include "trex-audit/commands.hpp"

namespace trex::trex_audit {

using namespace trex::audit;  // this program is the audit module's front end

namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

}  // namespace

Result<Trail> find_trail(const std::vector<std::string>& files, const std::string& log_dir) {
  Trail trail;
  if (!files.empty()) {
    for (const auto& f : files) {
      if (!exists(f)) return make_error("no trail at " + f);
    }
    trail.files = files;
    trail.current = files.back();
    return trail;
  }
  std::vector<std::string> dirs;
  const char* env = std::getenv("TREX_LOG_DIR");
  if (!log_dir.empty()) {
    dirs = {log_dir};  // said explicitly: look nowhere else
  } else if (env && *env) {
    dirs = {env};
  } else {
    dirs = {"log", "/var/log/trex"};
  }
  for (const auto& dir : dirs) {
    const std::string path = (fs::path(dir) / "audit.jsonl").string();
    auto list = trail_files(path);
    const bool any = std::any_of(list.begin(), list.end(), exists);
    if (!any) continue;
    trail.files = std::move(list);
    trail.current = path;
    return trail;
  }
  std::string msg = "no trail at " + (fs::path(dirs.front()) / "audit.jsonl").string();
  if (dirs.size() > 1) msg += " or " + (fs::path(dirs.back()) / "audit.jsonl").string();
  if (log_dir.empty() && !(env && *env)) msg += " (give --log-dir DIR or set TREX_LOG_DIR)";
  return make_error(msg);
}

}  // namespace trex::trex_audit

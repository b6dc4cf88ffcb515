// Tells a person, at most once a day, that their certificate expires soon:
// an expired certificate locks them out, and renewal takes a human step.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common.hpp"

namespace trex::trex_cli {
namespace {

std::filesystem::path stamp_for(const std::string& cert_path) {
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    base = std::filesystem::path(home) / ".cache";
  } else {
    return {};
  }
  const auto key = std::hash<std::string>{}(std::filesystem::absolute(cert_path).string());
  return base / "trex" / ("expiry-warned-" + std::to_string(key));
}

}  // namespace

void warn_if_expiring(const std::string& cert_path,
                      std::chrono::system_clock::time_point not_after) {
  using namespace std::chrono;
  const auto left = not_after - system_clock::now();
  if (left > hours(24 * 7) || left < hours(0)) return;
  const auto stamp = stamp_for(cert_path);
  std::error_code ec;
  if (!stamp.empty()) {
    const auto last = std::filesystem::last_write_time(stamp, ec);
    if (!ec && std::filesystem::file_time_type::clock::now() - last < hours(24)) return;
  }
  const std::time_t t = system_clock::to_time_t(not_after);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
  std::fprintf(stderr,
               "trex: warning: your certificate %s expires on %s (in %ld days); "
               "ask your CA for a new one\n",
               cert_path.c_str(), date, static_cast<long>(duration_cast<hours>(left).count() / 24));
  if (stamp.empty()) return;
  std::filesystem::create_directories(stamp.parent_path(), ec);
  std::ofstream(stamp).put('\n');
}

}  // namespace trex::trex_cli

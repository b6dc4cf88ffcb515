// Writes N typical exec_end records (~370 bytes) with the Writer, then times
// verify_files over them. Usage: audit_bench [N] [DIR]. Not a gtest.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "trex/audit.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using trex::audit::Json;
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  std::string dir =
      argc > 2 ? argv[2] : (std::filesystem::temp_directory_path() / "trex-bench-XXXXXX").string();
  if (argc <= 2 && ::mkdtemp(dir.data()) == nullptr) return 1;
  trex::audit::Writer::Options options;
  options.path = dir + "/audit.jsonl";
  options.max_bytes = 1ULL << 40;
  auto writer = trex::audit::Writer::open(options);
  if (!writer) {
    std::fprintf(stderr, "%s\n", writer.message().c_str());
    return 1;
  }
  const std::string hash = trex::audit::sha256_hex("output");
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    Json f;
    f["conn"] = i / 10;
    f["id"] = i % 10;
    f["cn"] = "alice.example";
    f["exit_code"] = 0;
    f["signal"] = nullptr;
    f["timed_out"] = false;
    f["duration_ms"] = 1234;
    f["stdout_bytes"] = 5678;
    f["stderr_bytes"] = 0;
    f["stdin_bytes"] = 0;
    f["stdout_sha256"] = hash;
    f["stderr_sha256"] = hash;
    f["truncated"] = false;
    if (auto s = (*writer)->write("exec_end", f); !s) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
  }
  const double write_s = seconds_since(start);
  const auto bytes = std::filesystem::file_size(options.path);
  start = std::chrono::steady_clock::now();
  const auto report = trex::audit::verify_files({options.path});
  const double verify_s = seconds_since(start);
  std::printf(
      "records %ld, %.0f bytes/record\nwrite  %.2f s (%.1f us/record)\nverify %.2f s (%s)\n", n,
      static_cast<double>(bytes) / static_cast<double>(n), write_s,
      write_s * 1e6 / static_cast<double>(n), verify_s,
      report.ok() ? "ok" : report.failure->reason.c_str());
  if (argc <= 2) std::filesystem::remove_all(dir);
  return report.ok() ? 0 : 1;
}

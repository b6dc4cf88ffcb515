// Reads a client config file (as trex does: the whole file, then the parser)
// N times and prints "parse_us MICROSECONDS" of CPU time per read (CPU time:
// the machine may be busy). With ALIAS, only that host's entry is kept, as
// `trex ALIAS ...` does; without, every host is (as -g does).
// Usage: config_bench FILE [N [ALIAS]]. tools/bench.sh row (1d). Not a gtest.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "trex/client_config.hpp"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const long n = argc > 2 ? std::atol(argv[2]) : 2000;
  trex::config::HostFilter keep;
  if (argc > 3) keep = [alias = std::string(argv[3])](const std::string& a) { return a == alias; };
  std::size_t hosts = 0;
  const auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  const double start = cpu_us();
  for (long i = 0; i < n; ++i) {
    std::string text;
    if (FILE* f = std::fopen(argv[1], "rb")) {
      char buf[16384];
      for (std::size_t got; (got = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, got);
      std::fclose(f);
    }
    auto c = trex::config::parse_client_config(text, argv[1], "/home/bench", keep);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.message().c_str());
      return 1;
    }
    hosts = c->hosts.size();
  }
  const double us = cpu_us() - start;
  std::printf("hosts %zu\nparse_us %.1f\n", hosts, us / static_cast<double>(n));
}

// Runs trex-audit as a program for the unit tests of the review commands.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace trex::audit {

struct CliRun {
  int code = -1;
  std::string out;
};

// Runs `env... trex-audit ARGS` (already shell-quoted) in `cwd`; stderr joins stdout.
inline CliRun trex_audit(const std::string& args, const std::string& cwd = ".",
                         const std::string& env = "") {
  const std::string cmd =
      "cd '" + cwd + "' && env " + env + " '" + TREX_AUDIT_BIN + "' " + args + " 2>&1";
  CliRun run;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return run;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) run.out.append(buf, n);
  const int status = ::pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace trex::audit

#include "line_reader.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <editline/readline.h>

namespace trexcli {

LineReader::LineReader(std::string prompt)
    : prompt_(std::move(prompt)), tty_(isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0) {
  if (tty_) using_history();
}

LineReader::~LineReader() = default;

std::optional<std::string> LineReader::next() {
  if (!tty_) {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
  }
  char* raw = readline(prompt_.c_str());
  if (raw == nullptr) {
    std::cout << "\n";
    return std::nullopt;
  }
  std::string line(raw);
  std::free(raw);
  if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
  return line;
}

}  // namespace trexcli

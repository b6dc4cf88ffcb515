// A reader for the small part of TOML that the client's config file uses:
// comments, [table.headers], key = "string" | 'literal' | integer | bool |
// ["array", "of", "strings"]. Pure (text in, entries out) and fast: the
// client reads its config on every run, and toml++ would bring a shared C++
// runtime and more start-up time than the whole budget (0.3 ms for 200 hosts).
// Anything outside that subset is an error naming the line, never a guess.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/result.hpp"

namespace trex::config {

struct TomlValue {
  enum class Kind { kString, kInteger, kBool, kArray };
  Kind kind = Kind::kString;
  std::string text;                  // kString
  std::int64_t integer = 0;          // kInteger
  bool boolean = false;              // kBool
  std::vector<std::string> strings;  // kArray (of strings only)
};

struct TomlEntry {
  std::string key;
  TomlValue value;
  int line = 0;
};

// Calls `on_entry` with each entry, in file order, and the path of the table
// header above it (empty for the top level); an error it returns stops the
// reading. Nothing is kept: a config of hundreds of hosts costs no more
// memory than one entry (start-up time is mostly page faults).
// A duplicate key or table, or a syntax the subset lacks, fails with
// "SOURCE:LINE: what".
using TomlVisitor = std::function<Status(const std::vector<std::string>& table, TomlEntry& entry)>;
Status read_toml_lite(std::string_view text, std::string_view source, const TomlVisitor& on_entry);

}  // namespace trex::config

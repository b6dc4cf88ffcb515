// Defensive field access for review: a record is untrusted input, so every
// accessor tolerates a missing field or one of the wrong type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "trex/audit.hpp"

namespace trex::audit {

// A string field as is, a number or boolean as JSON text, else "".
std::string text_of(const Json& record, const char* key);
// An integer field (also a whole-number float), else nothing.
std::optional<std::int64_t> int_of(const Json& record, const char* key);
bool true_of(const Json& record, const char* key);

// Text safe for one terminal line: control characters escaped (\n, \t, \xNN).
std::string printable(std::string_view s);
// Columns `s` takes on a terminal (UTF-8 code points).
std::size_t display_width(std::string_view s);

}  // namespace trex::audit

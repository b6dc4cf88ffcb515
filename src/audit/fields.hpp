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
// Length of the strict UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF) starting at s[i]: > 0 when whole and
// valid, 0 when cut off by the end of `s` (so far valid), -1 when invalid.
int utf8_sequence_length(std::string_view s, std::size_t i);
// Columns `s` takes on a terminal (UTF-8 code points).
std::size_t display_width(std::string_view s);

}  // namespace trex::audit

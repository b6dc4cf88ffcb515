// Defensive field access for review: a record is untrusted input, so every
// accessor tolerates a missing field or one of the wrong type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "trex/audit.hpp"

namespace trex::audit {

// A string field as is, a number or boolean as JSON text, else "".
std::string text_of(const Json& record, const char* key);
// An integer field (also a whole-number float), else nothing.
std::optional<std::int64_t> int_of(const Json& record, const char* key);
bool true_of(const Json& record, const char* key);

}  // namespace trex::audit

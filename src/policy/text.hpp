// Small pure helpers of the policy module: umask parsing, size formatting, and
// quoting untrusted text (argv from the network) for one-line reasons that
// end up in audit records and on the client's terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trex::policy::detail {

// "0027", "027", "27": one to four octal digits, at most 0777.
std::optional<unsigned> parse_umask(std::string_view text);

// The exact size, with the largest suffix that divides it: "512M", "1000".
std::string format_size(std::uint64_t bytes);
// Four octal digits: "0027".
std::string format_umask(unsigned umask);

// `text` made printable on one line: control bytes, '\'', '\\' and bytes that
// are not valid UTF-8 become escapes; longer than `max_bytes` is cut and "..."
// appended (never inside a UTF-8 sequence).
std::string escape(std::string_view text, std::size_t max_bytes = 200);
// escape() between single quotes.
std::string quote(std::string_view text, std::size_t max_bytes = 200);
// "[a,b]" (each element escaped).
std::string list(const std::vector<std::string>& items);

}  // namespace trex::policy::detail

// The one grammar for sizes in trexd's options, its config file and the
// policy: a decimal integer, optionally followed by K, M, G or T (powers of
// 1024, either case) and then an optional B: "1048576", "512K", "64M",
// "64MB", "1g". "0" is a size; each key sets its own least value. Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "trex/result.hpp"

namespace trex::util {

// Fails naming the text: "not a size: 'x' (use K, M, G or T)", or "size too
// large: ..." past 2^64-1 bytes.
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace trex::util

// Time as trex writes it: RFC 3339 in UTC with microseconds. Pure.
#pragma once

#include <chrono>
#include <string>

namespace trex::util {

// "2026-11-23T17:49:07.123456Z"
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

}  // namespace trex::util

// Time as trex writes it: RFC 3339 in UTC with microseconds. Pure.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace trex::util {

// "2026-11-23T17:49:07.123456Z"
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// The UTC calendar time `tm` (tm_year since 1900, tm_mon 0-11, tm_mday 1-31;
// fields out of range carry over) as a time point: what timegm(3) gives, without
// its first-call time zone set-up (a read of /etc/localtime) and iterative
// search, which cost a new trex process more than the rest of reading its
// certificate.
std::chrono::system_clock::time_point from_utc(const std::tm& tm);

}  // namespace trex::util

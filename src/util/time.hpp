// Time as trex writes it: RFC 3339 in UTC with microseconds. Pure.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace trex::util {

// "2026-11-23T17:49:07.123456Z"
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// Seconds since 1970 of the UTC calendar time `tm` (tm_year since 1900,
// tm_mon 0-11, tm_mday 1-31; fields out of range carry over): what timegm(3)
// gives, without its first-call time zone set-up (a read of /etc/localtime)
// and iterative search, which cost a new trex process more than the rest of
// reading its certificate.
long long utc_seconds(const std::tm& tm);

// The same as a time point. system_clock counts nanoseconds in 64 bits, years
// 1678 to 2262: a later date (tools/pki --days 99999 reaches 2300, RFC 5280's
// "no expiry" is 9999-12-31) is time_point::max(), an earlier one min(), so
// that it compares as the far future or past instead of wrapping round.
std::chrono::system_clock::time_point from_utc(const std::tm& tm);

// "9999-12-31T23:59:59.000000Z": rfc3339_utc of seconds since 1970, for dates
// beyond a time point's range.
std::string rfc3339_utc_seconds(long long unix_seconds);

}  // namespace trex::util

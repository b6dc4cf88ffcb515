#include "util/time.hpp"

#include <cstdio>
#include <ctime>

namespace trex::util {

namespace {

std::string format(long long secs, long long micros) {
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];  // sized for any int fields, to keep -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

}  // namespace

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto secs = us / 1'000'000;
  auto frac = us % 1'000'000;
  if (frac < 0) {  // before 1970: floor, not truncate
    frac += 1'000'000;
    secs -= 1;
  }
  return format(secs, frac);
}

std::string rfc3339_utc_seconds(long long unix_seconds) { return format(unix_seconds, 0); }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil): eras of 400 years, March-based years.
long long utc_seconds(const std::tm& tm) {
  // Out-of-range fields carry over as timegm's do (a certificate's date
  // digits are not range-checked: month 00 or 99 parse): months into years
  // here, days, hours, minutes and seconds by adding up below.
  const long long mon = tm.tm_mon;
  const long long carry = mon >= 0 ? mon / 12 : -((11 - mon) / 12);
  const long long m = mon - carry * 12 + 1;
  const long long y = static_cast<long long>(tm.tm_year) + 1900 + carry - (m <= 2 ? 1 : 0);
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm.tm_mday - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = era * 146097 + doe - 719468;
  return days * 86400 + tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec;
}

std::chrono::system_clock::time_point from_utc(const std::tm& tm) {
  using namespace std::chrono;
  using Point = system_clock::time_point;
  constexpr long long kMax = duration_cast<seconds>(Point::duration::max()).count();
  constexpr long long kMin = duration_cast<seconds>(Point::duration::min()).count();
  const long long secs = utc_seconds(tm);
  if (secs >= kMax) return Point::max();
  if (secs <= kMin) return Point::min();
  return Point(seconds(secs));
}

}  // namespace trex::util

#include "audit/scan.hpp"
#include "trex/audit.hpp"
#include "util/sha256.hpp"
#include "util/time.hpp"

namespace trex::audit {
namespace {

constexpr std::string_view kReserved[] = {"ts", "seq", "event", "prev"};

bool is_reserved(std::string_view key) {
  for (auto r : kReserved) {
    if (key == r) return true;
  }
  return false;
}

}  // namespace

std::string rfc3339_utc(std::chrono::system_clock::time_point t) { return util::rfc3339_utc(t); }

std::string sha256_hex(std::string_view data) { return util::sha256_hex(data); }

Result<Chain> Chain::after_line(std::string_view last_line) {
  auto fields = scan_record(last_line);
  if (!fields) return make_error(fields.message());
  return Chain(fields->seq + 1, sha256_hex(last_line));
}

std::string Chain::seal(std::string_view event, const Json& fields,
                        std::chrono::system_clock::time_point now) const {
  Json j;
  j["ts"] = rfc3339_utc(now);
  j["seq"] = next_seq_;
  j["event"] = event;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      // A caller's field must never overwrite the chain's own keys.
      j[is_reserved(key) ? "_" + key : key] = value;
    }
  } else if (!fields.is_null()) {
    j["data"] = fields;
  }
  j["prev"] = prev_;
  // Hostile argv may hold invalid UTF-8: replace it rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void Chain::advance(std::string_view written_line) {
  ++next_seq_;
  prev_ = sha256_hex(written_line);
}

}  // namespace trex::audit

// Reads one record line without building nlohmann's DOM of all of it: the
// chain fields for the verifier, or the fields a review reads for show and
// stats. Both run on every line of the trail. Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trex/audit.hpp"
#include "trex/result.hpp"

namespace trex::audit {

struct RecordHead {
  std::uint64_t seq = 0;
  std::string prev;
  bool recording = false;  // a top-level "recording" field (a terminal session's exec_end)
};

// Fails with a reason when `line` is not valid JSON, not an object, or lacks
// a well-typed ts/seq/event/prev (or repeats one of them).
Result<RecordHead> scan_record(std::string_view line);

// The line's top-level fields, except those named in `skip`, as a JSON
// object equal to nlohmann's parse of them (duplicate keys: the last wins).
// The whole line is checked as strictly as scan_record checks it; skipped
// values are neither decoded nor stored.
Result<Json> scan_fields(std::string_view line, const std::vector<std::string_view>& skip);

}  // namespace trex::audit

// Reads the chain fields of one record line without building a DOM: the
// verifier runs this on every line of the trail. Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "trex/result.hpp"

namespace trex::audit {

struct RecordHead {
  std::uint64_t seq = 0;
  std::string prev;
};

// Fails with a reason when `line` is not valid JSON, not an object, or lacks
// a well-typed ts/seq/event/prev (or repeats one of them).
Result<RecordHead> scan_record(std::string_view line);

}  // namespace trex::audit

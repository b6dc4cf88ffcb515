// The three trex-audit commands. Each returns the process exit status:
// 0 fine, 1 a broken chain / unreadable file / skipped lines.
#pragma once

#include <string>
#include <vector>

#include "trex/audit_review.hpp"

namespace trex::audit::cli {

// With `expect`, the trail must reach that record with that hash.
int run_verify(const std::vector<std::string>& files, const std::optional<Anchor>& expect);
int run_show(const std::vector<std::string>& files, const Filter& filter, bool json);
int run_stats(const std::vector<std::string>& files);

}  // namespace trex::audit::cli

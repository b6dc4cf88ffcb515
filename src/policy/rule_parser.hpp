// One [[rule]] table -> one validated Rule (private to the policy module).
#pragma once

#include <toml++/toml.h>
#include <cstddef>
#include <string_view>

#include "trex/policy.hpp"
#include "trex/result.hpp"

namespace trex::policy::detail {

// `index` is the rule's 1-based position, used to name a rule whose name is
// missing or invalid. Errors read "SOURCE:LINE: rule 'NAME': ...". May look
// up run_as users (getpwnam_r); otherwise pure.
Result<Rule> parse_rule(const toml::table& table, std::size_t index, std::string_view source);

}  // namespace trex::policy::detail

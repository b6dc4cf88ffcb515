// toml++'s parse with its error as a value: "FILE:LINE:COLUMN: what". The
// one formatter of TOML syntax errors for trexd's config and the policy.
// Header-only: included only by modules that link toml++ (config, policy).
#pragma once

#include <toml++/toml.h>
#include <string>
#include <string_view>

#include "trex/result.hpp"

namespace trex::util {

inline Result<toml::table> parse_toml(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(std::string(source) + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
}

}  // namespace trex::util

// trexd --check-config: every file readable and consistent, expiry dates,
// policy summary and lint. One line per finding; exit 0 when nothing is
// an error, 1 otherwise.
#pragma once

#include <ostream>

#include "trex/config.hpp"

namespace trexd {

int check_config(const trex::config::ServerConfig& config, std::ostream& out);

}  // namespace trexd

// trexd --check-config: every file readable and consistent, expiry dates,
// policy summary and lint. One line per finding; exit 0 when nothing is
// an error, 1 otherwise.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "trex/config.hpp"

namespace trex::trexd {

int check_config(const trex::config::ServerConfig& config, std::ostream& out);

// Warnings for the CA, server certificate and CRL that expire within 7 days
// or have expired: written to the log at start-up and once a day.
std::vector<std::string> expiry_warnings(const trex::config::ServerConfig& config);

}  // namespace trex::trexd

// trexd's configuration file parser on arbitrary text: must return a value
// or an error, never crash, and whatever it accepts must validate or fail cleanly.
#include <cstdint>
#include <string_view>

#include "trex/config.hpp"
#include "util/size.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = trex::config::apply_toml(trex::config::ServerConfig{}, text, "fuzz.toml");
  if (c.ok()) (void)trex::config::validate(*c);
  (void)trex::config::parse_endpoint(text, 7443);
  (void)trex::util::parse_size(text);  // the one size grammar (config and policy)
  return 0;
}

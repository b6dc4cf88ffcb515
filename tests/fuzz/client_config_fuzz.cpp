// The per-user client config (~/.config/trex/config.toml), read on every
// run: any text gives a config or one error naming the file and line, never
// a crash; keeping one host's entry (as `trex HOST` does) fails exactly when
// keeping all of them does; host-range folding reads back as what it folded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trex/client_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto all = trex::config::parse_client_config(text, "/f/config.toml", "/home/u");
  const auto one = trex::config::parse_client_config(
      text, "/f/config.toml", "/home/u", [](const std::string& a) { return a == "web1"; });
  if (all.ok() != one.ok()) std::abort();
  if (!all.ok()) {
    if (all.message().rfind("/f/config.toml:", 0) != 0) std::abort();
    return 0;
  }
  for (const auto& [name, words] : all->groups) {
    for (const auto& w : words) {
      if (w.find(',') != std::string::npos) continue;  // no host name holds one
      auto hosts = trex::config::expand_host_ranges(w, 1000);
      if (!hosts.ok()) continue;
      std::size_t back = 0;
      for (const auto& part :
           trex::config::split_host_list(trex::config::fold_host_ranges(*hosts))) {
        auto again = trex::config::expand_host_ranges(part, 1000);
        if (!again.ok()) std::abort();
        back += again->size();
      }
      if (back > hosts->size()) std::abort();  // duplicates fold into one
    }
  }
  return 0;
}

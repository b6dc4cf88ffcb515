// Inline SVG bar charts for the HTML report: stacked bars over time and
// labelled horizontal bars. Labels must be escaped by the caller's
// html_escape (they are written as given). Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace trex::audit::svg {

struct Series {
  std::string name;                   // escaped
  std::string color;                  // "#rrggbb"
  std::vector<std::uint64_t> values;  // one per bucket
};

// Stacked bars, one per bucket; `labels` names each bucket (escaped), of
// which a few are printed under the axis. Each bar part has a tooltip.
void time_bars(std::ostream& out, const std::string& id, const std::vector<Series>& series,
               const std::vector<std::string>& labels);

struct Bar {
  std::string label;  // escaped
  std::uint64_t value = 0;
  std::string note;  // escaped; printed after the value
};

// One horizontal bar per row, longest first as given.
void horizontal_bars(std::ostream& out, const std::string& id, const std::vector<Bar>& bars,
                     const std::string& color);

}  // namespace trex::audit::svg

#include "audit/svg.hpp"

#include <algorithm>
#include <cstdio>

namespace trex::audit::svg {
namespace {

constexpr int kWidth = 960;
constexpr int kLeft = 56, kRight = 12, kTop = 12, kBottom = 36;
constexpr int kPlotHeight = 200;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Gridlines and labels at 0, half and the top of the y axis.
void y_axis(std::ostream& out, std::uint64_t top) {
  for (int i = 0; i <= 2; ++i) {
    const double y = kTop + kPlotHeight - kPlotHeight * i / 2.0;
    out << "<line class=\"grid\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\""
        << num(y) << "\" y2=\"" << num(y) << "\"/>";
    out << "<text class=\"axis\" x=\"" << kLeft - 6 << "\" y=\"" << num(y + 4)
        << "\" text-anchor=\"end\">" << top * static_cast<std::uint64_t>(i) / 2 << "</text>";
  }
}

}  // namespace

void time_bars(std::ostream& out, const std::string& id, const std::vector<Series>& series,
               const std::vector<std::string>& labels) {
  const std::size_t n = labels.size();
  std::vector<std::uint64_t> totals(n, 0);
  for (const auto& s : series) {
    for (std::size_t i = 0; i < n && i < s.values.size(); ++i) totals[i] += s.values[i];
  }
  std::uint64_t top = 2;  // the axis halves it: at least 0, 1, 2
  for (const auto t : totals) top = std::max(top, t);
  top += top % 2;  // even, so that the middle gridline's label is exact
  const double step = n ? double(kWidth - kLeft - kRight) / double(n) : 0;
  out << "<svg id=\"" << id << "\" role=\"img\" viewBox=\"0 0 " << kWidth << ' '
      << kTop + kPlotHeight + kBottom << "\" width=\"" << kWidth << "\" height=\""
      << kTop + kPlotHeight + kBottom << "\">";
  y_axis(out, top);
  std::vector<double> base(n, 0);
  for (const auto& s : series) {
    for (std::size_t i = 0; i < n && i < s.values.size(); ++i) {
      if (s.values[i] == 0) continue;
      const double h = double(kPlotHeight) * double(s.values[i]) / double(top);
      base[i] += h;
      out << "<rect x=\"" << num(kLeft + step * double(i) + step * 0.1) << "\" y=\""
          << num(kTop + kPlotHeight - base[i]) << "\" width=\"" << num(std::max(step * 0.8, 1.0))
          << "\" height=\"" << num(h) << "\" fill=\"" << s.color << "\"><title>" << labels[i] << ' '
          << s.name << ": " << s.values[i] << "</title></rect>";
    }
  }
  const std::size_t every = std::max<std::size_t>(1, (n + 7) / 8);
  for (std::size_t i = 0; i < n; i += every) {
    out << "<text class=\"axis\" x=\"" << num(kLeft + step * double(i)) << "\" y=\""
        << kTop + kPlotHeight + 18 << "\">" << labels[i] << "</text>";
  }
  out << "</svg>\n";
}

void horizontal_bars(std::ostream& out, const std::string& id, const std::vector<Bar>& bars,
                     const std::string& color) {
  constexpr int kRow = 24, kLabel = 300, kBarMax = 480;
  std::uint64_t top = 1;
  for (const auto& b : bars) top = std::max(top, b.value);
  const int height = kTop + kRow * static_cast<int>(bars.size()) + 8;
  out << "<svg id=\"" << id << "\" role=\"img\" viewBox=\"0 0 " << kWidth << ' ' << height
      << "\" width=\"" << kWidth << "\" height=\"" << height << "\">";
  int y = kTop;
  for (const auto& b : bars) {
    const double w = std::max(1.0, double(kBarMax) * double(b.value) / double(top));
    out << "<text class=\"label\" x=\"" << kLabel - 8 << "\" y=\"" << y + 16
        << "\" text-anchor=\"end\">" << b.label << "</text>";
    out << "<rect x=\"" << kLabel << "\" y=\"" << y + 3 << "\" width=\"" << num(w) << "\" height=\""
        << kRow - 6 << "\" fill=\"" << color << "\"><title>" << b.label << ": " << b.value
        << "</title></rect>";
    out << "<text class=\"value\" x=\"" << num(kLabel + w + 6) << "\" y=\"" << y + 16 << "\">"
        << b.value << (b.note.empty() ? "" : "  ") << b.note << "</text>";
    y += kRow;
  }
  out << "</svg>\n";
}

}  // namespace trex::audit::svg

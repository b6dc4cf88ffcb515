#include "policy/paths.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <vector>

namespace trex::policy::detail {
namespace {

// More `**` per glob adds nothing a reader can follow; the cap also keeps
// the matcher's table small.
constexpr int kMaxDoubleStars = 4;
constexpr std::size_t kMaxGlobBytes = 1024;

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool has_wildcard(std::string_view part) {
  return part.find_first_of("*?[\\") != std::string_view::npos;
}

}  // namespace

bool is_clean_absolute(std::string_view p) {
  if (p.size() < 2 || p.front() != '/' || p.back() == '/') return false;
  const auto parts = components(p);
  return std::none_of(parts.begin(), parts.end(),
                      [](const std::string& c) { return c.empty() || c == "." || c == ".."; });
}

std::optional<std::string> check_glob(std::string_view glob) {
  if (glob.size() > kMaxGlobBytes) {
    return "is longer than " + std::to_string(kMaxGlobBytes) + " bytes";
  }
  if (!is_clean_absolute(glob)) {
    return "must be a normalised absolute path (no '//', '.', '..' or trailing '/')";
  }
  int stars = 0;
  for (const auto& part : components(glob)) {
    if (part == "**") {
      ++stars;
    } else if (part.find("**") != std::string::npos) {
      return "has '**' inside a component: '**' must be a whole component (a/**/b)";
    }
  }
  if (stars > kMaxDoubleStars) {
    return "has more than " + std::to_string(kMaxDoubleStars) + " '**' components";
  }
  return std::nullopt;
}

bool glob_matches(std::string_view glob, std::string_view path) {
  const auto pat = components(glob);
  const auto got = components(path);
  // ok[i][j]: pattern components i.. match path components j.. (filled from the end).
  const std::size_t w = got.size() + 1;
  std::vector<char> ok((pat.size() + 1) * w, 0);
  ok[pat.size() * w + got.size()] = 1;
  for (std::size_t i = pat.size(); i-- > 0;) {
    for (std::size_t j = got.size() + 1; j-- > 0;) {
      bool m = false;
      if (pat[i] == "**") {
        m = ok[(i + 1) * w + j] || (j < got.size() && ok[i * w + j + 1]);
      } else if (j < got.size()) {
        m = ok[(i + 1) * w + j + 1] && ::fnmatch(pat[i].c_str(), got[j].c_str(), 0) == 0;
      }
      ok[i * w + j] = m ? 1 : 0;
    }
  }
  return ok[0] != 0;
}

std::string glob_tree(std::string_view glob) {
  const auto parts = components(glob);
  std::size_t literal = 0;
  while (literal < parts.size() && !has_wildcard(parts[literal])) ++literal;
  if (literal == parts.size()) --literal;  // a single file: its folder
  std::string tree;
  for (std::size_t i = 0; i < literal; ++i) tree += "/" + parts[i];
  return tree.empty() ? "/" : tree;
}

}  // namespace trex::policy::detail

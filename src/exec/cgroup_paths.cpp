// Pure parsing for the cgroup fence: /proc/self/cgroup and
// /proc/self/mountinfo (see exec/cgroup.hpp).
#include "exec/cgroup.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace trex::exec::detail {

// Splits `text` at spaces (mountinfo's field separator).
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const auto space = line.find(' ');
    if (space != 0) out.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return out;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto octal = [&](std::size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Whether `root` is `group` or one of its ancestors.
bool contains(std::string_view root, std::string_view group) {
  if (root == "/" || root == group) return true;
  return group.size() > root.size() && group.substr(0, root.size()) == root &&
         group[root.size()] == '/';
}

}  // namespace

std::optional<std::string> v2_group_of(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (line.starts_with("0::") && line.size() > 3) return std::string(line.substr(3));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

std::optional<std::string> v2_directory(std::string_view mountinfo, std::string_view group) {
  std::optional<std::string> best;
  std::size_t best_root = 0;
  while (!mountinfo.empty()) {
    const auto nl = mountinfo.find('\n');
    const auto f = fields(mountinfo.substr(0, nl));
    mountinfo.remove_prefix(nl == std::string_view::npos ? mountinfo.size() : nl + 1);
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size() || f[dash + 1] != "cgroup2") continue;
    const std::string root = unescape(f[3]);
    if (!contains(root, group) || (best && root.size() <= best_root)) continue;
    std::string rest(root == "/" ? group : group.substr(root.size()));
    if (rest == "/") rest.clear();
    best = unescape(f[4]) + rest;
    best_root = root.size();
  }
  return best;
}

}  // namespace trex::exec::detail

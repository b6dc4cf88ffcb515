// Host ranges as pdsh and clush write them: lab[01-12], 10.0.0.[11-20].
#include <algorithm>
#include <charconv>

#include "trex/client_config.hpp"

namespace trex::config {
namespace {

bool is_range_body(std::string_view body) {
  if (body.empty()) return false;
  for (const char c : body) {
    if (!(c >= '0' && c <= '9') && c != ',' && c != '-') return false;
  }
  return true;
}

Result<unsigned long> bound(std::string_view text, std::string_view word) {
  unsigned long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v > 99999999) {
    return make_error("bad range '" + std::string(text) + "' in '" + std::string(word) + "'");
  }
  return v;
}

// "01-03,7" -> {"01","02","03","7"}, appended to `out`; with out == nullptr
// only counted (checking a config's groups must not build every name).
Status expand_body(std::string_view body, std::string_view word, std::size_t limit,
                   std::vector<std::string>* out, std::size_t& count) {
  std::size_t start = 0;
  while (start <= body.size()) {
    auto comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    const auto item = body.substr(start, comma - start);
    const auto dash = item.find('-');
    const auto lo_text = item.substr(0, dash);
    auto lo = bound(lo_text, word);
    if (!lo) return lo.error();
    auto hi = dash == std::string_view::npos ? lo : bound(item.substr(dash + 1), word);
    if (!hi) return hi.error();
    if (*hi < *lo) {
      return make_error("range '" + std::string(item) + "' in '" + std::string(word) +
                        "' runs backwards");
    }
    if (*hi - *lo >= limit || count + (*hi - *lo) >= limit) {
      return make_error("'" + std::string(word) + "' names more than " + std::to_string(limit) +
                        " hosts");
    }
    count += *hi - *lo + 1;
    const std::size_t width = lo_text.size() > 1 && lo_text[0] == '0' ? lo_text.size() : 0;
    for (auto n = *lo; out != nullptr && n <= *hi; ++n) {
      std::string s = std::to_string(n);
      if (s.size() < width) s.insert(0, width - s.size(), '0');
      out->push_back(std::move(s));
    }
    start = comma + 1;
  }
  return {};
}

// Expands `word` into `hosts` (or, when it is null, only counts the names).
Result<std::size_t> walk_ranges(std::string_view word, std::size_t limit,
                                std::vector<std::string>* hosts) {
  std::size_t total = 1;
  std::size_t pos = 0;
  while (pos < word.size()) {
    const auto open = word.find('[', pos);
    const auto close = open == std::string_view::npos ? open : word.find(']', open);
    const bool range =
        close != std::string_view::npos && is_range_body(word.substr(open + 1, close - open - 1));
    const auto literal_end =
        range ? open : (close == std::string_view::npos ? word.size() : close + 1);
    if (hosts != nullptr) {
      for (auto& h : *hosts) h.append(word.substr(pos, literal_end - pos));
    }
    pos = literal_end;
    if (!range) continue;
    std::vector<std::string> items;
    std::size_t count = 0;
    const auto body = word.substr(open + 1, close - open - 1);
    if (auto st = expand_body(body, word, limit, hosts ? &items : nullptr, count); !st) {
      return st.error();
    }
    if (total * count > limit) {
      return make_error("'" + std::string(word) + "' names more than " + std::to_string(limit) +
                        " hosts");
    }
    total *= count;
    pos = close + 1;
    if (hosts == nullptr) continue;
    std::vector<std::string> next;
    next.reserve(total);
    for (const auto& h : *hosts) {
      for (const auto& i : items) next.push_back(h + i);
    }
    *hosts = std::move(next);
  }
  return total;
}

}  // namespace

Result<std::vector<std::string>> expand_host_ranges(std::string_view word, std::size_t limit) {
  std::vector<std::string> hosts{""};
  if (auto n = walk_ranges(word, limit, &hosts); !n) return n.error();
  return hosts;
}

Result<std::size_t> count_host_ranges(std::string_view word, std::size_t limit) {
  return walk_ranges(word, limit, nullptr);
}

namespace {

// The hosts of one fold: the same text before the same number of digits.
struct NumberedSet {
  std::string prefix;
  std::size_t width;
  std::vector<std::uint32_t> numbers;
};

std::string fold_set(NumberedSet& set) {
  auto& n = set.numbers;
  std::sort(n.begin(), n.end());
  n.erase(std::unique(n.begin(), n.end()), n.end());
  const auto padded = [&set](std::uint32_t v) {
    std::string d = std::to_string(v);
    return std::string(set.width > d.size() ? set.width - d.size() : 0, '0') + d;
  };
  if (n.size() == 1) return set.prefix + padded(n[0]);
  std::string out = set.prefix + "[";
  for (std::size_t i = 0; i < n.size();) {
    std::size_t j = i;
    while (j + 1 < n.size() && n[j + 1] == n[j] + 1) ++j;
    out += (i == 0 ? "" : ",") + padded(n[i]) + (j > i ? "-" + padded(n[j]) : "");
    i = j + 1;
  }
  return out + "]";
}

}  // namespace

std::string fold_host_ranges(const std::vector<std::string>& hosts) {
  std::vector<NumberedSet> sets;
  std::vector<std::pair<std::size_t, std::string>> items;  // a set's index, or npos and a name
  constexpr auto kName = std::string::npos;
  for (const auto& h : hosts) {
    std::size_t start = h.size();
    while (start > 0 && h[start - 1] >= '0' && h[start - 1] <= '9') --start;
    const std::size_t width = h.size() - start;
    if (width == 0 || width > 9 || h.find_first_of(":[]") != std::string::npos) {
      items.emplace_back(kName, h);
      continue;
    }
    std::uint32_t value = 0;
    std::from_chars(h.data() + start, h.data() + h.size(), value);
    const auto prefix = std::string_view(h).substr(0, start);
    auto at = std::find_if(sets.begin(), sets.end(), [&](const NumberedSet& s) {
      return s.width == width && s.prefix == prefix;
    });
    if (at == sets.end()) {
      items.emplace_back(sets.size(), std::string());
      sets.push_back(NumberedSet{std::string(prefix), width, {}});
      at = sets.end() - 1;
    }
    at->numbers.push_back(value);
  }
  std::string out;
  for (const auto& [set, name] : items) {
    out += (out.empty() ? "" : ",") + (set == kName ? name : fold_set(sets[set]));
  }
  return out;
}

std::vector<std::string> split_host_list(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (const char c : list) {
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace trex::config

// Path globs of the put and get keys: `/srv/lab/inbox/**`. Pure.
//
// A glob is a normalised absolute path whose components may hold fnmatch(3)
// wildcards (`*`, `?`, `[...]`, never crossing a '/'); a component that is
// exactly `**` matches any number of components, none included. The granted
// tree of a glob is its leading run of components without wildcards (for a
// glob without any, its parent folder): the server resolves a granted path
// beneath that tree and never follows a symlink on the way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trex::policy::detail {

// A normalised absolute path: no empty, "." or ".." component, no trailing '/'.
bool is_clean_absolute(std::string_view path);

// Why `glob` cannot be a put/get entry, or nothing when it can.
std::optional<std::string> check_glob(std::string_view glob);

// Does the clean absolute `path` match `glob` (check_glob accepted it)?
bool glob_matches(std::string_view glob, std::string_view path);

// The granted tree of `glob`: "/srv/lab/inbox" for "/srv/lab/inbox/**".
std::string glob_tree(std::string_view glob);

}  // namespace trex::policy::detail

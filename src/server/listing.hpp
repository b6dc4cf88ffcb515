// Private: the folder walk of `trex get -r`. Depth-first, names in byte
// order; every folder is opened from its parent's descriptor with
// O_NOFOLLOW as the rule's user, so the walk never leaves the folder it
// started in: a symbolic link, a device or a FIFO is an entry of kind
// skipped that says why, never followed or opened.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "server/fileio.hpp"
#include "trex/proto.hpp"
#include "trex/result.hpp"

namespace trex::server {

inline constexpr int kMaxListingDepth = 64;

struct ListingHooks {
  // Why the subfolder `rel` (relative to the listed folder) may not be
  // walked, or nothing when it may (the policy's get of that path).
  std::function<std::optional<std::string>(const std::string& rel)> refuse_folder;
  // Takes one entry; false stops the walk (the connection is gone).
  std::function<bool(const proto::TreeEntry&)> emit;
};

// Lists the open folder `dir`. Fails only when `emit` stopped the walk; a
// folder that cannot be read is a skipped entry.
Status list_tree(const fileio::FsUser& user, int dir, const ListingHooks& hooks);

}  // namespace trex::server

// Private: serves one `trex put` or `trex get` request of a session: decide
// (policy by path), act (the file I/O of fileio.hpp, as the rule's user),
// record (file_put / file_get), answer (an exit frame, as for a command).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/command.hpp"
#include "server/state.hpp"
#include "trex/channel.hpp"
#include "trex/policy.hpp"
#include "trex/proto.hpp"

namespace trex::server {

struct TransferContext {
  State& state;
  Channel& channel;
  const policy::Identity& who;
  std::uint64_t conn = 0;
  std::uint64_t& requests;  // the session's count of commands and transfers (ids)
};

// `request` is a put or get frame. Returns why the session must end, if it must.
std::optional<SessionEnd> serve_transfer(TransferContext& ctx, const proto::Frame& request);

}  // namespace trex::server

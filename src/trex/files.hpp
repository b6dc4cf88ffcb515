// Private to trex: one file of trex put / trex get, and the folder trees of -r.
#pragma once

#include <string>

#include "trex/client.hpp"
#include "trex/client_args.hpp"

namespace trex::trex_cli {

std::string base_name(const std::string& path);
std::string join(std::string dir, const std::string& name);
bool is_dir(const std::string& path);

// Each returns the status of the transfer (kOwnFailure: the session is gone).
int put_one(client::Session& s, const client::Args& args, const std::string& local,
            const std::string& remote, bool progress);
int get_one(client::Session& s, const client::Args& args, const std::string& remote,
            const std::string& local, bool progress);
int report(const std::string& what, const proto::ExitInfo& info);

// -r: the folder LOCAL made as REMOTE (merged into an existing one), every
// file put on its own; symbolic links and special files are skipped with a
// line on stderr (status 1).
int put_tree(client::Session& s, const client::Args& args, const std::string& local,
             const std::string& remote, bool progress);
// -r: the server's listing of REMOTE made as LOCAL, every file got on its own.
int get_tree(client::Session& s, const client::Args& args, const std::string& remote,
             const std::string& local, bool progress);

}  // namespace trex::trex_cli

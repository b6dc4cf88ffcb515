#include "exec/reaper.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "exec/cgroup.hpp"
#include "util/unique_fd.hpp"

namespace trex::exec::detail {

extern const unsigned char kReaperImage[];
extern const std::size_t kReaperImageSize;

namespace {

Result<int> make_image_fd() {
  util::UniqueFd fd(::memfd_create("trex-reaper", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return make_error(std::string("cannot create the reaper: ") + std::strerror(errno));
  std::size_t off = 0;
  while (off < kReaperImageSize) {
    const ssize_t n = ::write(fd.get(), kReaperImage + off, kReaperImageSize - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(std::string("cannot write the reaper: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  // Sealed: nothing, not even trexd, can change what every command runs under.
  ::fchmod(fd.get(), 0555);
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return make_error(std::string("cannot seal the reaper: ") + std::strerror(errno));
  }
  return fd.release();  // kept open for the process's life (reaper_image_fd)
}

std::string join(const std::vector<gid_t>& groups) {
  std::string out;
  for (const gid_t g : groups) {
    if (!out.empty()) out += ',';
    out += std::to_string(g);
  }
  return out;
}

}  // namespace

Result<int> reaper_image_fd() {
  static std::once_flag once;
  static Result<int> fd = make_error("not made");
  std::call_once(once, [] { fd = make_image_fd(); });
  return fd;
}

std::vector<std::string> reaper_argv(const Spec& spec, const ChildPlan& plan, int ctl, int report,
                                     int status, int cgroup) {
  std::string limits;
  for (int i = 0; i < plan.limit_count; ++i) {
    const auto& l = plan.limits[static_cast<std::size_t>(i)];
    if (!limits.empty()) limits += ',';
    limits += std::to_string(l.resource) + ":" + std::to_string(l.value);
  }
  std::vector<std::string> argv = {"trex-reaper",
                                   std::to_string(ctl),
                                   std::to_string(report),
                                   std::to_string(status),
                                   cgroup >= 0 ? std::to_string(cgroup) : "-",
                                   plan.umask ? std::to_string(*plan.umask) : "-",
                                   plan.switch_user ? std::to_string(plan.uid) : "-",
                                   plan.switch_user ? std::to_string(plan.gid) : "-",
                                   plan.switch_user ? join(plan.groups) : "",
                                   limits,
                                   spec.cwd,
                                   spec.program};
  argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
  if (spec.argv.empty()) argv.push_back(spec.program);
  return argv;
}

}  // namespace trex::exec::detail

namespace trex::exec {

Result<Fence> prepare(std::string_view cgroup) {
  if (auto fd = detail::reaper_image_fd(); !fd) return fd.error();
  return detail::choose_fence(cgroup);
}

}  // namespace trex::exec

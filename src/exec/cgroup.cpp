#include "exec/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>
#include "exec/clone.hpp"
#include "util/unique_fd.hpp"
#include "util/unique_file.hpp"

namespace trex::exec::detail {
namespace {

std::string errno_text() { return std::strerror(errno); }

Result<std::string> read_at(int dir, const char* name) {
  const util::UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(std::string("cannot read ") + name + ": " + errno_text());
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
  return out;
}

Status write_at(int dir, const std::string& name, const std::string& value) {
  const util::UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || ::write(fd.get(), value.data(), value.size()) < 0) {
    return make_error("cannot write " + value + " to " + name + ": " + errno_text());
  }
  return Status::success();
}

bool has_word(std::string_view list, std::string_view word) {
  for (const auto w : fields(list.substr(0, list.find('\n')))) {
    if (w == word) return true;
  }
  return false;
}

// Groups that could not be removed yet: retried whenever a group is made.
std::mutex parked_mutex;
std::vector<std::pair<int, std::string>> parked;

void park(int base_fd, std::string name) {
  const std::lock_guard lock(parked_mutex);
  parked.emplace_back(base_fd, std::move(name));
}

unsigned long pid_namespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<unsigned long>(st.st_ino) : 0;
}

// Empty groups of a trexd that is gone (killed before it could remove
// them): rmdir takes only empty ones, and a live trexd's are never touched,
// nor the groups of another PID namespace's trexd, whose PIDs mean nothing here.
void sweep_dead(int base_fd) {
  const unsigned long ns = pid_namespace();
  util::UniqueFd fd(::openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const util::UniqueDir dir(fd ? ::fdopendir(fd.get()) : nullptr);
  if (!dir) return;
  fd.release();  // the DIR owns it now
  while (const dirent* e = ::readdir(dir.get())) {
    const auto pid = own_namespace_pid(e->d_name, ns);
    if (pid && *pid > 0 && ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH) {
      ::unlinkat(base_fd, e->d_name, AT_REMOVEDIR);
    }
  }
}

int exit_at_once(void*) { return 0; }

// Starts a process that exits at once in the group `name` below `base_fd`,
// as every command will be started (clone3 may be refused, by a seccomp
// filter for one); empty when it could, else why not.
std::string start_in(int base_fd, const std::string& name) {
  const util::UniqueFd dir(::openat(base_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_text();
  int pidfd = -1;
  const long pid = clone_into_cgroup(dir.get(), true, &pidfd, &exit_at_once, nullptr);
  if (pid < 0) return std::string("clone3: ") + std::strerror(static_cast<int>(-pid));
  const util::UniqueFd owned_pidfd(pidfd);
  while (::waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
  }
  return "";
}

void sweep_parked() {
  const std::lock_guard lock(parked_mutex);
  std::erase_if(parked, [](const auto& p) {
    return ::unlinkat(p.first, p.second.c_str(), AT_REMOVEDIR) == 0 || errno != EBUSY;
  });
}

}  // namespace

std::string group_prefix() {
  static const unsigned long ns = pid_namespace();
  return "trexd-" + std::to_string(::getpid()) + "." + std::to_string(ns) + "-";
}

std::optional<long> own_namespace_pid(std::string_view name, unsigned long ns) {
  constexpr std::string_view kStart = "trexd-";
  if (!name.starts_with(kStart)) return std::nullopt;
  name.remove_prefix(kStart.size());
  const auto number = [&name]() -> std::optional<unsigned long> {
    std::size_t i = 0;
    unsigned long v = 0;
    for (; i < name.size() && i < 19 && name[i] >= '0' && name[i] <= '9'; ++i) {
      v = v * 10 + static_cast<unsigned long>(name[i] - '0');
    }
    if (i == 0) return std::nullopt;
    name.remove_prefix(i);
    return v;
  };
  const auto pid = number();
  if (!pid || !name.starts_with('.')) return std::nullopt;
  name.remove_prefix(1);
  const auto their_ns = number();
  if (!their_ns || *their_ns != ns || !name.starts_with('-')) return std::nullopt;
  return static_cast<long>(*pid);
}

Result<CgroupBase> CgroupBase::open(const std::string& dir) {
  CgroupBase base;
  base.dir_ = dir;
  base.fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!base.fd_.valid()) return make_error("cannot open " + dir + ": " + errno_text());
  struct statfs fs {};
  if (::fstatfs(base.fd(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    return make_error(dir + " is not a cgroup v2 directory");
  }
  // Starting a command in a child group moves it out of this one.
  if (::faccessat(base.fd(), "cgroup.procs", W_OK, 0) != 0) {
    return make_error("cannot move processes in " + dir + ": " + errno_text());
  }
  const std::string probe = group_prefix() + "probe";
  if (::mkdirat(base.fd(), probe.c_str(), 0755) != 0 && errno != EEXIST) {
    return make_error("cannot make a group in " + dir + ": " + errno_text());
  }
  // (The root group has no cgroup.kill of its own: look in the probe.)
  const bool kill = ::faccessat(base.fd(), (probe + "/cgroup.kill").c_str(), F_OK, 0) == 0;
  const std::string born = kill ? start_in(base.fd(), probe) : "";
  if (::unlinkat(base.fd(), probe.c_str(), AT_REMOVEDIR) != 0) {
    return make_error("cannot remove a group in " + dir + ": " + errno_text());
  }
  if (!kill) return make_error(dir + "'s groups have no cgroup.kill (Linux 5.14 or later)");
  if (!born.empty()) return make_error("cannot start a process in a group in " + dir + ": " + born);
  sweep_dead(base.fd());
  base.enable_controllers();
  return base;
}

// A group that holds processes itself (trexd, often) cannot give memory or
// pids to its children (EBUSY): then the rlimits stay, and note() says why.
void CgroupBase::enable_controllers() {
  const auto offered = read_at(fd(), "cgroup.controllers");
  for (const char* name : {"memory", "pids"}) {
    bool& on = std::string_view(name) == "memory" ? memory_ : pids_;
    std::string why;
    if (!offered || !has_word(*offered, name)) {
      why = "not offered by the group";
    } else if (auto enabled = read_at(fd(), "cgroup.subtree_control");
               enabled && has_word(*enabled, name)) {
      on = true;
    } else if (auto st = write_at(fd(), "cgroup.subtree_control", std::string("+") + name); st) {
      on = true;
    } else {
      why = st.message();
    }
    if (!on) note_ += (note_.empty() ? "" : "; ") + std::string(name) + ": " + why;
  }
}

Limits CgroupBase::rlimits(Limits limits) const {
  if (memory_) limits.memory.reset();
  if (pids_) limits.processes.reset();
  return limits;
}

namespace {

// Emptied groups kept for later commands, process-wide, by name (they hold
// no descriptor of trexd's). Never freed: the exit handler removes the
// groups (remove_pooled).
struct Pooled {
  int base_fd = -1;
  std::string name;
  std::optional<std::uint64_t> pids_max, memory_max;
};
constexpr std::size_t kPoolSize = 8;
std::mutex pool_mutex;
std::vector<Pooled>& pool() {
  static auto* kept = new std::vector<Pooled>;
  return *kept;
}

// At exit: the kept groups, and the parked ones that have emptied since.
void remove_pooled() {
  {
    const std::lock_guard lock(pool_mutex);
    for (const auto& p : pool()) ::unlinkat(p.base_fd, p.name.c_str(), AT_REMOVEDIR);
    pool().clear();
  }
  sweep_parked();
}

std::string limit_text(const std::optional<std::uint64_t>& v) {
  return v ? std::to_string(*v) : "max";
}

}  // namespace

Result<CommandGroup> CommandGroup::make(const CgroupBase& base, const Limits& limits) {
  static std::atomic<unsigned long> made{0};
  sweep_parked();
  CommandGroup g;
  {
    const std::lock_guard lock(pool_mutex);
    if (!pool().empty()) {
      Pooled& p = pool().back();
      g.base_fd_ = p.base_fd;
      g.name_ = std::move(p.name);
      g.pids_max_ = p.pids_max;
      g.memory_max_ = p.memory_max;
      pool().pop_back();
    }
  }
  if (g.name_.empty()) {
    g.base_fd_ = base.fd();
    g.name_ = group_prefix() + std::to_string(++made);
    if (::mkdirat(base.fd(), g.name_.c_str(), 0755) != 0) {
      const std::string why = errno_text();
      g.name_.clear();
      return make_error("cannot make the command's cgroup in " + base.dir() + ": " + why);
    }
  }
  g.dir_.reset(::openat(base.fd(), g.name_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (g.dir_.valid()) {
    g.events_.reset(::openat(g.dir_fd(), "cgroup.events", O_RDONLY | O_CLOEXEC));
  }
  if (!g.events_.valid()) {
    return make_error("cannot open the command's cgroup " + g.name_ + ": " + errno_text());
  }
  if (auto st = g.set_limits(base, limits); !st) return st.error();
  return g;
}

// Writes only what differs from what the group holds (a kept group holds
// its last command's limits).
Status CommandGroup::set_limits(const CgroupBase& base, const Limits& limits) {
  if (base.pids() && limits.processes != pids_max_) {
    if (auto st = write_at(dir_fd(), "pids.max", limit_text(limits.processes)); !st) return st;
    pids_max_ = limits.processes;
  }
  if (base.memory() && limits.memory != memory_max_) {
    if (auto st = write_at(dir_fd(), "memory.max", limit_text(limits.memory)); !st) return st;
    // Not swap instead of memory (absent without swap accounting).
    if (::faccessat(dir_fd(), "memory.swap.max", F_OK, 0) == 0) {
      if (auto st = write_at(dir_fd(), "memory.swap.max", limits.memory ? "0" : "max"); !st) {
        return st;
      }
    }
    memory_max_ = limits.memory;
  }
  return Status::success();
}

CommandGroup::CommandGroup(CommandGroup&& o) noexcept
    : base_fd_(o.base_fd_),
      name_(std::exchange(o.name_, {})),
      dir_(std::move(o.dir_)),
      events_(std::move(o.events_)),
      pids_max_(o.pids_max_),
      memory_max_(o.memory_max_),
      killed_(o.killed_) {}

CommandGroup& CommandGroup::operator=(CommandGroup&& o) noexcept {
  if (this != &o) {
    remove();
    base_fd_ = o.base_fd_;
    name_ = std::exchange(o.name_, {});
    dir_ = std::move(o.dir_);
    events_ = std::move(o.events_);
    pids_max_ = o.pids_max_;
    memory_max_ = o.memory_max_;
    killed_ = o.killed_;
  }
  return *this;
}

CommandGroup::~CommandGroup() { remove(); }

bool CommandGroup::populated() const {
  char buf[128];
  const ssize_t n = ::pread(events_.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return true;
  return std::string_view(buf, static_cast<std::size_t>(n)).find("populated 0") ==
         std::string_view::npos;
}

int CommandGroup::count() const {
  const auto procs = read_at(dir_fd(), "cgroup.procs");
  return procs ? static_cast<int>(std::count(procs->begin(), procs->end(), '\n')) : 0;
}

void CommandGroup::kill() const {
  if (name_.empty()) return;
  killed_ = true;
  (void)write_at(base_fd_, name_ + "/cgroup.kill", "1");
}

void CommandGroup::release() {
  if (name_.empty()) return;
  if (!killed_) {
    const std::lock_guard lock(pool_mutex);
    if (pool().size() < kPoolSize) {
      dir_.reset();
      events_.reset();
      pool().push_back(Pooled{base_fd_, std::exchange(name_, {}), pids_max_, memory_max_});
      return;
    }
  }
  remove();
}

void CommandGroup::remove(bool end_rest) {
  dir_.reset();
  events_.reset();
  if (name_.empty()) return;
  if (::unlinkat(base_fd_, name_.c_str(), AT_REMOVEDIR) != 0 && errno == EBUSY) {
    if (end_rest) {
      kill();
    } else if (!killed_) {
      spare_from_watcher(name_);  // its processes lingered on purpose
    }
    park(base_fd_, std::move(name_));
  }
  name_.clear();
}

namespace {

// Set once by choose_fence, before any session runs; never freed.
std::atomic<const CgroupBase*> chosen{nullptr};

// trexd's own group, where the hierarchy lets it make groups there.
Result<CgroupBase> detect() {
  const auto self = read_at(AT_FDCWD, "/proc/self/cgroup");
  if (!self) return self.error();
  const auto group = v2_group_of(*self);
  if (!group) return make_error("no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)");
  const auto mounts = read_at(AT_FDCWD, "/proc/self/mountinfo");
  if (!mounts) return mounts.error();
  const auto dir = v2_directory(*mounts, *group);
  if (!dir) return make_error("trexd's cgroup " + *group + " is not mounted here");
  return CgroupBase::open(*dir);
}

}  // namespace

const CgroupBase* active_cgroup() { return chosen.load(std::memory_order_acquire); }

bool reaper_with_cgroup() {
  static const bool pid1 = ::getpid() == 1;
  return pid1 || kSanitized;
}

Result<Fence> choose_fence(std::string_view request) {
  static std::mutex once;
  const std::lock_guard lock(once);
  Fence fence;
  if (const CgroupBase* base = active_cgroup()) {
    return Fence{base->dir(), base->memory(), base->pids(), base->note(), reaper_with_cgroup()};
  }
  if (request == "off") {
    fence.note = "--cgroup off";
    return fence;
  }
  auto base = request == "auto" ? detect() : CgroupBase::open(std::string(request));
  if (!base) {
    if (request != "auto")
      return make_error("--cgroup " + std::string(request) + ": " + base.message());
    fence.note = base.message();
    return fence;
  }
  auto* kept = new CgroupBase(std::move(*base));
  if (auto st = start_watcher(kept->fd()); !st) {
    kept->add_note("no watcher for a trexd killed outright: " + st.message());
  }
  chosen.store(kept, std::memory_order_release);
  std::atexit(remove_pooled);
  return Fence{kept->dir(), kept->memory(), kept->pids(), kept->note(), reaper_with_cgroup()};
}

}  // namespace trex::exec::detail

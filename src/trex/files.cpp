// trex put / trex get: the files named on the command line, one transfer
// each over one session, with a progress line on a terminal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.hpp"
#include "files.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_cli {
namespace {

using Clock = std::chrono::steady_clock;
using trex::client::FileCommand;

}  // namespace

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string join(std::string dir, const std::string& name) {
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  return dir + "/" + name;
}

namespace {

std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

// One line on stderr, redrawn at most five times a second: name, bytes, rate, ETA.
class ProgressLine {
 public:
  ProgressLine(bool on, std::string name) : on_(on), name_(std::move(name)) {}
  ~ProgressLine() {
    if (drawn_) std::fputs("\n", stderr);
  }
  void update(std::uint64_t done, std::uint64_t total) {
    const auto now = Clock::now();
    if (!on_ || (done < total && now - last_ < std::chrono::milliseconds(200))) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    char eta[32] = "--:--";
    if (rate > 0) {
      const auto left = static_cast<long>(static_cast<double>(total - done) / rate);
      std::snprintf(eta, sizeof(eta), "%ld:%02ld", left / 60, left % 60);
    }
    std::fprintf(stderr, "\r%s  %s / %s  %s/s  ETA %s\x1b[K", name_.c_str(),
                 human(static_cast<double>(done)).c_str(),
                 human(static_cast<double>(total)).c_str(), human(rate).c_str(), eta);
    drawn_ = true;
  }

 private:
  bool on_;
  std::string name_;
  Clock::time_point start_ = Clock::now(), last_{};
  bool drawn_ = false;
};

}  // namespace

// The status of one transfer's exit, with trex's line about it.
int report(const std::string& what, const trex::proto::ExitInfo& info) {
  using trex::proto::ExitKind;
  if (info.kind == ExitKind::kExited && info.code == 0) return 0;
  if (info.kind == ExitKind::kDenied) {
    std::fprintf(stderr, "trex: %s: not allowed by the server's policy: %s\n", what.c_str(),
                 info.message.c_str());
  } else {
    std::fprintf(stderr, "trex: %s: %s\n", what.c_str(), info.message.c_str());
  }
  return trex::proto::client_exit_status(info);
}

int put_one(trex::client::Session& s, const trex::client::Args& args, const std::string& local,
            const std::string& remote, bool progress) {
  const std::string what = s.target().host + ":" + remote;
  trex::util::UniqueFd fd(::open(local.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    std::fprintf(stderr, "trex: %s: %s\n", local.c_str(), std::strerror(errno));
    return 1;
  }
  if (!S_ISREG(st.st_mode)) {
    std::fprintf(stderr, "trex: %s: %s\n", local.c_str(),
                 S_ISDIR(st.st_mode) ? "a folder (use -r)" : "not a regular file");
    return 1;
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);  // a larger read-ahead
  trex::proto::PutRequest req{remote,
                              static_cast<std::uint64_t>(st.st_size),
                              st.st_mode & 07777,
                              args.preserve,
                              st.st_mtim.tv_sec,
                              static_cast<std::uint32_t>(st.st_mtim.tv_nsec)};
  ProgressLine line(progress, base_name(local));
  auto r = s.put(req, fd.get(), [&](std::uint64_t d, std::uint64_t t) { line.update(d, t); });
  if (!r) return fail(what + ": " + r.message());
  return report(what, *r);
}

// Writes into a temporary file beside `local`, renamed over it when complete.
int get_one(trex::client::Session& s, const trex::client::Args& args, const std::string& remote,
            const std::string& local, bool progress) {
  const std::string what = s.target().host + ":" + remote;
  const auto slash = local.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : local.substr(0, slash + 1);
  std::string temp = join(dir, "." + base_name(local).substr(0, 200) + ".trex-XXXXXX");
  trex::util::UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) {
    std::fprintf(stderr, "trex: cannot write beside %s: %s\n", local.c_str(), std::strerror(errno));
    return 1;
  }
  trex::proto::FileInfo info;
  ProgressLine line(progress, base_name(remote));
  auto r = s.get(trex::proto::GetRequest{remote}, fd.get(), info,
                 [&](std::uint64_t d, std::uint64_t t) { line.update(d, t); });
  const bool ok = r && r->kind == trex::proto::ExitKind::kExited && r->code == 0;
  if (ok) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd.get(), args.preserve ? info.mode : info.mode & ~mask & 0777);
    if (args.preserve) {
      const timespec ts[2] = {{info.mtime_s, info.mtime_ns}, {info.mtime_s, info.mtime_ns}};
      ::futimens(fd.get(), ts);
    }
    if (::fsync(fd.get()) != 0 || ::rename(temp.c_str(), local.c_str()) != 0) {
      std::fprintf(stderr, "trex: cannot write %s: %s\n", local.c_str(), std::strerror(errno));
      ::unlink(temp.c_str());
      return 1;
    }
    return 0;
  }
  ::unlink(temp.c_str());
  if (!r) return fail(what + ": " + r.message());
  return report(what, *r);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int transfer(const trex::client::Args& args, std::shared_ptr<trex::tls::Context> ctx) {
  auto target = target_of(args.hosts.front(), args);
  if (!target) return fail(target.message());
  auto session = trex::client::Session::open(std::move(ctx), *target,
                                             std::chrono::seconds(args.connect_timeout));
  if (!session) return fail(session.message());
  const bool progress = !args.quiet && ::isatty(STDERR_FILENO) == 1;
  const bool put = args.files == FileCommand::kPut;
  // Into a folder: several files, or a destination written with a final '/'
  // (put), or an existing local folder (get).
  const bool into = args.sources.size() > 1 || args.destination.back() == '/' ||
                    (!put && is_dir(args.destination));
  if (!put && args.sources.size() > 1 && !is_dir(args.destination)) {
    return fail(args.destination + " is not a folder (several files go into one)");
  }
  int status = 0;
  for (const auto& src : args.sources) {
    const std::string dest = into ? join(args.destination, base_name(src)) : args.destination;
    const bool tree = args.recursive && (!put || is_dir(src));
    const int st = put    ? (tree ? put_tree : put_one)(*session, args, src, dest, progress)
                   : tree ? get_tree(*session, args, src, dest, progress)
                          : get_one(*session, args, src, dest, progress);
    status = std::max(status, st);
    if (st == kOwnFailure) return st;  // the session is gone
  }
  session->close();
  return status;
}

}  // namespace trex::trex_cli

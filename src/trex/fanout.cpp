// Fan-out: the same command on several hosts, up to --parallel at once.
// Output lines are prefixed "HOST: " and written whole, so two hosts'
// partial lines never splice together. Every host may be hostile: a line
// is buffered up to kMaxLine and scanned once, --json keeps at most
// kJsonCap per stream, and on a terminal remote control characters are
// shown escaped (--raw keeps them) so one host cannot rewrite another's lines.
// -b keeps each host's output as --json does and prints each set of hosts
// whose results were identical once, at the end.
#include <sys/resource.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "interrupts.hpp"
#include "trex/client_text.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::trex_cli {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kJsonCap = 1024 * 1024;
// Descriptors kept for trex itself (stdio, the CA, wolfSSL, the hosts file).
constexpr rlim_t kReservedFds = 16;

std::mutex g_out_mu;

void emit(bool is_stderr, const std::string& s) {
  if (s.empty()) return;
  std::lock_guard lock(g_out_mu);
  FILE* f = is_stderr ? stderr : stdout;
  std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

class PrefixOutput : public trex::client::Output {
 public:
  PrefixOutput(const std::string& host, const trex::client::Args& args)
      : prefix_(host + ": "), keep_(args.json || args.gather) {
    for (int i = 0; i < 2; ++i) escape_[i] = !args.raw && isatty(i == 0 ? 1 : 2) != 0;
  }
  void write(bool is_stderr, std::string_view data) override {
    const int i = is_stderr ? 1 : 0;
    if (keep_) {
      const std::size_t room = kJsonCap - std::min(kJsonCap, kept_[i].size());
      if (data.size() > room) truncated_ = true;
      kept_[i].append(data.substr(0, room));
      return;
    }
    pieces_.clear();
    split_[i].feed(data, pieces_);
    print(is_stderr);
  }
  void finish() {
    for (int i = 0; i < 2; ++i) {
      if (keep_) continue;
      pieces_.clear();
      trex::client::LineSplitter::Piece last;
      if (split_[i].finish(last)) pieces_.push_back(std::move(last));
      print(i == 1);
    }
  }
  std::string kept_[2];  // --json and -b: stdout, stderr
  bool truncated_ = false;

 private:
  void print(bool is_stderr) {
    std::string lines;
    for (const auto& p : pieces_) {
      lines += prefix_;
      lines += escape_[is_stderr ? 1 : 0] ? trex::client::escape_controls(p.text, true) : p.text;
      // A line cut at kMaxLine goes on in the next one: a trailing backslash.
      lines += p.continued ? "\\\n" : "\n";
    }
    emit(is_stderr, lines);
  }
  std::string prefix_;
  bool keep_;  // --json, -b: keep the output instead of printing it
  bool escape_[2] = {false, false};
  trex::client::LineSplitter split_[2] = {trex::client::LineSplitter(kMaxLine),
                                          trex::client::LineSplitter(kMaxLine)};
  std::vector<trex::client::LineSplitter::Piece> pieces_;
};

struct HostResult {
  std::string host;
  int status = 0;
  std::string error;  // trex's own failure (the host counts as failed)
  std::string note;   // worth saying, not a failure (output cut by the server)
  trex::proto::ExitInfo info;
  long long duration_ms = 0;
};

// -b: the results so far, one copy of each distinct one (stdout, stderr,
// status), so that a thousand hosts that printed the same keep one copy.
class Gather {
 public:
  void add(std::size_t host, const HostResult& r, PrefixOutput& out);
  void print(const trex::client::Args& args, const std::vector<HostResult>& results) const;

 private:
  // status, trex's error, output cut, stdout, stderr
  using Key = std::tuple<int, std::string, bool, std::string, std::string>;
  void print_group(const trex::client::Args& args, const Key& key,
                   const std::vector<std::string>& hosts) const;
  std::mutex mu_;
  std::map<Key, std::vector<std::size_t>> groups_;  // the hosts' places in the list
};

Gather g_gather;

void run_session(const trex::client::Args& args, PrefixOutput& out, HostResult& r,
                 FanOutInterrupts& interrupts, std::size_t host) {
  const auto limits = run_limits(args, true);  // from the host's start, connection included
  const int interrupt = interrupts.enter(host);
  if (interrupt == FanOutInterrupts::kCancelled) {
    r.status = 128 + SIGINT;
    r.error = "not started: interrupted (Ctrl-C)";
    return;
  }
  struct Leave {
    FanOutInterrupts& interrupts;
    std::size_t host;
    ~Leave() { interrupts.leave(host); }
  } leave{interrupts, host};
  auto target = target_of(r.host, args);
  if (!target) {
    r.error = target.message();
    return;
  }
  auto ctx = context_for(r.host, args);
  if (!ctx) {
    r.error = ctx.message();
    return;
  }
  auto s = trex::client::Session::open(*ctx, *target, std::chrono::seconds(args.connect_timeout));
  if (!s) {
    r.error = s.message();
    return;
  }
  auto req = request_of(args);
  // One stdin cannot feed many hosts, except a copy with --stdin-all.
  const util::UniqueFd in(open_fanout_stdin());
  req.stdin_open = in.valid();
  auto res = s->run(req, out, in.get(), interrupt, limits);
  if (!res) {
    r.error = res.message();
    if (s->abandoned()) r.status = 128 + SIGINT;
  } else {
    r.info = *res;
    r.status = trex::proto::client_exit_status(*res);
    if (res->kind == trex::proto::ExitKind::kDenied) {
      r.error = "not allowed by the server's policy: " + res->message;
    } else if (res->kind == trex::proto::ExitKind::kExited && res->truncated) {
      r.note = res->message;  // the command succeeded or failed on its own
    } else if (!res->message.empty()) {
      r.error = res->message;
    }
  }
  s->close();
}

void print_json(const HostResult& r, const PrefixOutput& out) {
  const bool signaled = r.info.kind == trex::proto::ExitKind::kSignaled;
  nlohmann::json j{{"host", r.host},
                   {"exit", r.status},
                   {"signal", signaled ? nlohmann::json(r.info.signal) : nlohmann::json()},
                   {"stdout", out.kept_[0]},
                   {"stderr", out.kept_[1]},
                   {"truncated", out.truncated_ || r.info.truncated},
                   {"duration_ms", r.duration_ms},
                   {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(r.error)}};
  emit(false, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void run_host(const trex::client::Args& args, std::size_t host, HostResult& r,
              FanOutInterrupts& interrupts) {
  const auto start = std::chrono::steady_clock::now();
  PrefixOutput out(r.host, args);
  run_session(args, out, r, interrupts, host);
  if (!r.error.empty() && r.status == 0) r.status = kOwnFailure;
  out.finish();
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  // Each host's result as soon as it is known: a slow host holds back no other.
  if (args.gather) {
    g_gather.add(host, r, out);
  } else if (args.json) {
    print_json(r, out);
  } else if (!r.error.empty()) {
    emit(true, r.host + ": trex: " + r.error + "\n");
  } else if (!r.note.empty()) {
    emit(true, r.host + ": trex: note: " + r.note + "\n");
  }
}

// --parallel as asked, or what the descriptor limit allows (per host at
// once: its socket, its interrupt pipe and one spare).
std::size_t parallel_for(const trex::client::Args& args, std::size_t hosts) {
  std::size_t n = std::min<std::size_t>(args.parallel, hosts);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const rlim_t fit = rl.rlim_cur > kReservedFds ? (rl.rlim_cur - kReservedFds) / 4 : 1;
    if (n > std::max<rlim_t>(fit, 1)) {
      n = std::max<rlim_t>(fit, 1);
      std::fprintf(stderr,
                   "trex: --parallel %u is more than the open-file limit (%llu) allows: %zu\n",
                   args.parallel, static_cast<unsigned long long>(rl.rlim_cur), n);
    }
  }
  return n;
}

void run_all(const trex::client::Args& args, std::vector<HostResult>& results,
             FanOutInterrupts& interrupts) {
  std::atomic<std::size_t> next{0}, finished{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < results.size(); ++finished) {
      run_host(args, i, results[i], interrupts);
    }
    // wolfSSL's ECC fixed-point cache is per thread: ~3 MB per worker otherwise.
    trex::tls::release_thread_caches();
  };
  std::vector<std::thread> workers;
  const std::size_t n = parallel_for(args, results.size());
  for (std::size_t w = 0; w < n; ++w) {
    try {
      workers.emplace_back(work);
    } catch (const std::system_error& e) {
      // Fewer workers share the hosts; with none, this thread runs them.
      std::fprintf(stderr, "trex: cannot start more than %zu threads: %s\n", workers.size(),
                   e.what());
      break;
    }
  }
  if (workers.empty()) {
    work();  // Ctrl-C keeps its default: it ends trex
  } else {
    install_interrupt_handler();
    interrupts.watch(interrupt_fd(), [&] { return finished.load() == results.size(); });
  }
  for (auto& t : workers) t.join();
}

std::string shown(const trex::client::Args& args, int fd, std::string text) {
  if (!args.raw && isatty(fd) != 0) text = trex::client::escape_controls(text, true);
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

void Gather::add(std::size_t host, const HostResult& r, PrefixOutput& out) {
  // Success with no output is left out, as clush -b does.
  if (r.status == 0 && out.kept_[0].empty() && out.kept_[1].empty()) return;
  Key key(r.status, r.error, out.truncated_ || r.info.truncated, std::move(out.kept_[0]),
          std::move(out.kept_[1]));
  std::lock_guard lock(mu_);
  groups_[std::move(key)].push_back(host);
}

// As clush -b and dshbak -c: each group once, in the order of its first host.
void Gather::print(const trex::client::Args& args, const std::vector<HostResult>& results) const {
  std::vector<std::pair<std::vector<std::size_t>, const Key*>> order;
  for (const auto& [key, places] : groups_) {
    order.emplace_back(places, &key);
    std::sort(order.back().first.begin(), order.back().first.end());  // threads end in any order
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first.front() < b.first.front(); });
  for (const auto& [places, key] : order) {
    std::vector<std::string> hosts;
    for (const auto i : places) hosts.push_back(results[i].host);
    print_group(args, *key, hosts);
  }
}

// A line naming the hosts (and their status when it is not success) between
// two rules, then the output: stdout's on stdout, stderr's under the same
// heading on stderr.
void Gather::print_group(const trex::client::Args& args, const Key& key,
                         const std::vector<std::string>& hosts) const {
  const auto& [status, error, cut, out, err] = key;
  std::string head = "----------------\n";
  head += trex::config::fold_host_ranges(hosts);
  head += " (" + std::to_string(hosts.size()) + ")";
  if (!error.empty()) {
    head += ": trex: " + error;
  } else if (status != 0) {
    head += ": exit " + std::to_string(status);
  }
  if (cut) head += " (output cut)";
  head += "\n----------------\n";
  emit(false, head + shown(args, 1, out));
  if (!err.empty()) emit(true, head + shown(args, 2, err));
}

}  // namespace

int fan_out(const trex::client::Args& args, const std::vector<std::string>& hosts) {
  std::vector<HostResult> results(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) results[i].host = hosts[i];
  FanOutInterrupts interrupts(hosts);
  run_all(args, results, interrupts);
  if (args.gather) g_gather.print(args, results);
  int worst = 0;
  std::vector<std::string> failed;
  for (const auto& r : results) {
    worst = std::max(worst, r.status);
    if (r.status == 0) continue;
    failed.push_back(r.host + " (" +
                     (r.error.empty() ? "exit " + std::to_string(r.status) : r.error) + ")");
  }
  if (!failed.empty()) {
    std::string summary = "trex: " + std::to_string(failed.size()) + " of " +
                          std::to_string(results.size()) + " hosts failed:";
    for (const auto& f : failed) summary += " " + f + ";";
    emit(true, summary + "\n");
  }
  return worst;
}

}  // namespace trex::trex_cli

// Fan-out: the same command on several hosts, up to --parallel at once.
// Output lines are prefixed "HOST: " and written whole, so two hosts'
// partial lines never splice together.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace trexcli {
namespace {

std::mutex g_out_mu;

class PrefixOutput : public trex::client::Output {
 public:
  PrefixOutput(std::string host, bool collect)
      : prefix_(std::move(host) + ": "), collect_(collect) {}
  void write(bool is_stderr, std::string_view data) override {
    if (collect_) {
      (is_stderr ? err_ : out_).append(data);
      return;
    }
    std::string& partial = is_stderr ? err_ : out_;
    partial.append(data);
    std::size_t start = 0, nl;
    std::string lines;
    while ((nl = partial.find('\n', start)) != std::string::npos) {
      lines += prefix_;
      lines.append(partial, start, nl - start + 1);
      start = nl + 1;
    }
    partial.erase(0, start);
    emit(is_stderr, lines);
  }
  void finish() {
    if (collect_) return;
    if (!out_.empty()) emit(false, prefix_ + out_ + "\n");
    if (!err_.empty()) emit(true, prefix_ + err_ + "\n");
    out_.clear();
    err_.clear();
  }
  std::string out_, err_;

 private:
  static void emit(bool is_stderr, const std::string& s) {
    if (s.empty()) return;
    std::lock_guard lock(g_out_mu);
    FILE* f = is_stderr ? stderr : stdout;
    std::fwrite(s.data(), 1, s.size(), f);
    std::fflush(f);
  }
  std::string prefix_;
  bool collect_;
};

struct HostResult {
  std::string host;
  int status = 0;
  std::string error;
  trex::proto::ExitInfo info;
  std::string out, err;
  long long duration_ms = 0;
};

void run_host(const trex::client::Args& args, HostResult& r) {
  const auto start = std::chrono::steady_clock::now();
  PrefixOutput out(r.host, args.json);
  auto target = target_of(r.host, args);
  auto ctx = context_for(r.host, args);
  if (!target) {
    r.error = target.message();
  } else if (!ctx) {
    r.error = ctx.message();
  } else if (auto s = trex::client::Session::open(*ctx, *target,
                                                  std::chrono::seconds(args.connect_timeout));
             !s) {
    r.error = s.message();
  } else {
    auto req = request_of(args);
    // One stdin cannot feed many hosts, except a copy with --stdin-all.
    const int in = open_fanout_stdin();
    req.stdin_open = in >= 0;
    auto res = s->run(req, out, in, -1);
    if (in >= 0) ::close(in);
    if (!res) {
      r.error = res.message();
    } else {
      r.info = *res;
      r.status = trex::proto::client_exit_status(*res);
      if (res->kind == trex::proto::ExitKind::kDenied) {
        r.error = "not allowed by the server's policy: " + res->message;
      } else if (!res->message.empty()) {
        r.error = res->message;
      }
    }
    s->close();
  }
  if (!r.error.empty() && r.status == 0) r.status = kOwnFailure;
  out.finish();
  r.out = std::move(out.out_);
  r.err = std::move(out.err_);
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
}

}  // namespace

int fan_out(const trex::client::Args& args, const std::vector<std::string>& hosts) {
  std::vector<HostResult> results(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) results[i].host = hosts[i];
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  const std::size_t n = std::min<std::size_t>(args.parallel, hosts.size());
  for (std::size_t w = 0; w < n; ++w) {
    workers.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < results.size();) run_host(args, results[i]);
    });
  }
  for (auto& t : workers) t.join();
  int worst = 0;
  std::vector<std::string> failed;
  for (const auto& r : results) {
    worst = std::max(worst, r.status);
    if (args.json) {
      nlohmann::json j{
          {"host", r.host},
          {"exit", r.status},
          {"signal", r.info.kind == trex::proto::ExitKind::kSignaled ? nlohmann::json(r.info.signal)
                                                                     : nlohmann::json()},
          {"stdout", r.out},
          {"stderr", r.err},
          {"duration_ms", r.duration_ms},
          {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(r.error)}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
    if (r.status != 0) {
      failed.push_back(r.host + " (" +
                       (r.error.empty() ? "exit " + std::to_string(r.status) : r.error) + ")");
      if (!args.json && !r.error.empty())
        std::fprintf(stderr, "%s: trex: %s\n", r.host.c_str(), r.error.c_str());
    }
  }
  if (!failed.empty()) {
    std::fprintf(stderr, "trex: %zu of %zu hosts failed:", failed.size(), results.size());
    for (const auto& f : failed) std::fprintf(stderr, " %s;", f.c_str());
    std::fprintf(stderr, "\n");
  }
  return worst;
}

}  // namespace trexcli

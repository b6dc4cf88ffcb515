// trex-audit show: the trail as one line per command (or per record with
// --events), once or following the file as it grows.
#include <time.h>

#include <deque>
#include <functional>
#include <iostream>
#include <optional>

#include "trex-audit/commands.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_follow.hpp"

namespace trex::trex_audit {

using namespace trex::audit;  // this program is the audit module's front end

namespace {

constexpr auto kFollowPoll = std::chrono::milliseconds(20);

// Routes records to the chosen view and writer. With hold(N), output is
// kept back and only the last N lines are printed at release().
class Printer {
 public:
  explicit Printer(const ShowOptions& o) : o_(o) {
    if (!o_.raw_json) writer_.emplace(std::cout, o.format, o.table);
  }

  void record(const Json& r, std::string_view line) {
    if (o_.raw_json) {
      if (matches(entry_of(r), o_.query)) emit([l = std::string(line)] { std::cout << l << '\n'; });
    } else if (o_.events) {
      Entry e = entry_of(r);
      if (e.event == event::kExecStart) e.status = "started";
      view_.add(r, entries_);  // an exec_end's line names its exec_start's command
      for (auto& joined : entries_) {
        if (e.event != event::kExecEnd || joined.event != event::kExecEnd) continue;
        e.argv = std::move(joined.argv);
        e.command = std::move(joined.command);
        e.run_as = std::move(joined.run_as);
        e.shell = joined.shell;
      }
      entries_.clear();
      entry(std::move(e));
    } else {
      view_.add(r, entries_);
      for (auto& e : entries_) entry(std::move(e));
      entries_.clear();
    }
  }

  // Commands still open at the end: shown as running.
  void open_commands() {
    if (o_.raw_json || o_.events) return;
    for (auto& e : view_.open_commands()) entry(std::move(e));
  }

  void hold(std::size_t n) { hold_ = n; }
  void release() {
    hold_.reset();
    for (auto& f : held_) f();
    held_.clear();
  }
  void flush() {
    if (writer_) writer_->flush();
    std::cout.flush();
  }

 private:
  void entry(Entry e) {
    if (!matches(e, o_.query)) return;
    if (!hold_) return writer_->add(e);  // no closure per line on the common path
    emit([this, e = std::move(e)] { writer_->add(e); });
  }
  void emit(std::function<void()> f) {
    if (!hold_) return f();
    held_.push_back(std::move(f));
    if (held_.size() > *hold_) held_.pop_front();
  }

  const ShowOptions& o_;
  std::optional<EntryWriter> writer_;
  CommandView view_;
  std::vector<Entry> entries_;
  std::optional<std::size_t> hold_;
  std::deque<std::function<void()>> held_;
};

}  // namespace

int run_show(const Trail& trail, const ShowOptions& options) {
  Printer printer(options);
  const bool clean = for_each_record(trail.files, [&](const Json& record, std::string_view line) {
    printer.record(record, line);
  });
  printer.open_commands();
  printer.flush();
  return clean ? 0 : 1;
}

int run_follow(const Trail& trail, const ShowOptions& options) {
  Printer printer(options);
  Follower follower(trail.current);
  std::uint64_t skipped = 0;
  const auto on_line = [&](std::string_view line) {
    auto record = parse_record(line);
    if (!record) {
      std::cerr << trail.current << ": skipped a line: " << record.message() << '\n';
      ++skipped;
      return;
    }
    printer.record(*record, line);
  };
  // The current file so far, of which the last lines (all with --since).
  if (!options.query.since) printer.hold(options.backlog);
  if (auto s = follower.poll(on_line); !s) {
    std::cerr << "trex-audit: " << s.message() << '\n';
    return 1;
  }
  printer.release();
  printer.flush();
  for (;;) {
    const struct timespec pause { 0, static_cast<long>(kFollowPoll.count()) * 1000000L };
    ::nanosleep(&pause, nullptr);
    if (auto s = follower.poll(on_line); !s) {
      std::cerr << "trex-audit: " << s.message() << '\n';
      return 1;
    }
    printer.flush();
    if (!std::cout) return skipped ? 1 : 0;  // the reader went away
  }
}

}  // namespace trex::trex_audit

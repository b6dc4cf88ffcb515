// What trexd and the per-command reaper (src/exec/reaper/reaper.cpp) exchange.
// Plain integers only: the reaper is built without the C or C++ library.
#pragma once

namespace trex::exec::detail {

// The step that failed in the child; travels to the parent with errno.
enum class SetupStep : int {
  kProcessGroup = 1,  // setsid
  kStdio,
  kCloseOnExec,
  kLimit,
  kUser,
  kUserVerify,
  kChdir,
  kExec,    // execve itself failed
  kReaper,  // the reaper could not be started or could not start the command
  kCgroup,  // the command could not be started in its cgroup (clone3)
};

// Written once (atomically, below PIPE_BUF) to the setup-report pipe.
struct SetupFailure {
  int step = 0;
  int error = 0;
  int detail = 0;  // index into the limits for kLimit
};

// Records the reaper writes to its status pipe, each in one write.
enum class ReaperEvent : int {
  kStarted = 1,  // value: the command's pid
  kExited,       // value: the command's wait status
  kSettled,      // value: processes left running (linger), or 0 once all are gone
};
struct ReaperRecord {
  int event = 0;
  int value = 0;
};

// Words trexd writes to the reaper's control pipe, each in one write. End of
// file means kReaperKill.
inline constexpr char kReaperKill = 'k';     // kill the whole tree, then settle
inline constexpr char kReaperRelease = 'r';  // the command has exited: leave the rest
inline constexpr char kReaperSignal = 's';   // + one byte: signal the command's group

}  // namespace trex::exec::detail

#include "util/sha256_pipe.hpp"

#include <system_error>

namespace trex::util {
namespace {
// Spare strings kept for reuse: enough to cover what may be queued.
constexpr std::size_t kMaxSpares = 8;
}  // namespace

Sha256Pipe::Sha256Pipe(bool threaded) {
  if (!threaded) return;
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    // No thread to be had (a limit on threads): hash in the caller's thread.
  }
}

Sha256Pipe::~Sha256Pipe() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void Sha256Pipe::update(std::string chunk) {
  if (chunk.empty()) return;
  if (!thread_.joinable()) {
    sha_.update(chunk);
    return;
  }
  std::unique_lock lock(mu_);
  if (queued_ >= kMaxQueued) {
    waiting_ = true;
    room_.wait(lock, [&] { return queued_ < kMaxQueued; });
    waiting_ = false;
  }
  queued_ += chunk.size();
  queue_.push_back(std::move(chunk));
  const bool wake = idle_ && queued_ >= kBatch;
  lock.unlock();
  if (wake) work_.notify_one();
}

std::string Sha256Pipe::spare() {
  std::lock_guard lock(mu_);
  if (spares_.empty()) return {};
  std::string s = std::move(spares_.back());
  spares_.pop_back();
  return s;
}

std::string Sha256Pipe::hex_digest() {
  if (thread_.joinable()) {
    std::unique_lock lock(mu_);
    draining_ = waiting_ = true;
    work_.notify_one();
    room_.wait(lock, [&] { return queued_ == 0; });
    draining_ = waiting_ = false;
  }
  return sha_.hex_digest();  // the thread is idle until the next update()
}

void Sha256Pipe::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    idle_ = true;
    work_.wait(lock, [&] { return stop_ || queued_ >= kBatch || (draining_ && !queue_.empty()); });
    idle_ = false;
    if (stop_) return;
    while (!queue_.empty() && !stop_) {
      std::string chunk = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      sha_.update(chunk);
      lock.lock();
      queued_ -= chunk.size();
      // Kept at its size: a reader refills it without zeroing it first.
      if (spares_.size() < kMaxSpares) spares_.push_back(std::move(chunk));
      if (waiting_) room_.notify_one();
    }
  }
}

}  // namespace trex::util

// SHA-256 of a stream, computed on a thread of its own: a transfer hands over
// each chunk once it has written or queued it and goes on with the next, so
// on two cores the hash (a third of trexd's time per byte of a put, profiled
// with perf) runs beside the TLS and file I/O instead of after them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/sha256.hpp"

namespace trex::util {

class Sha256Pipe {
 public:
  // Without `threaded` (or when no thread can be started) update() hashes at
  // once: for small transfers a thread costs more than it saves.
  explicit Sha256Pipe(bool threaded);
  ~Sha256Pipe();
  Sha256Pipe(const Sha256Pipe&) = delete;
  Sha256Pipe& operator=(const Sha256Pipe&) = delete;

  // Hashes `chunk` after every chunk given before it. The pipe owns it until
  // then; waits while more than kMaxQueued bytes are not hashed yet.
  void update(std::string chunk);
  // A string whose chunk is hashed (bytes and size as they were), to fill
  // again: saves an allocation per chunk. Empty when none is free.
  std::string spare();
  // Waits for every chunk; the digest as 64 lowercase hex digits.
  std::string hex_digest();

  // At most this much per transfer waits for the thread (memory: 64
  // sessions putting at once hold 128 MiB here at worst).
  static constexpr std::size_t kMaxQueued = 2U << 20;
  // The thread is woken once this much waits (or for the digest), not for
  // every chunk: a wake-up per 64 KiB frame cost more than it saved.
  static constexpr std::size_t kBatch = 256U << 10;

 private:
  void run();

  Sha256 sha_;
  std::mutex mu_;
  std::condition_variable work_;  // for the thread: a batch, the digest, or stop
  std::condition_variable room_;  // for the caller: room in the queue, or all hashed
  std::deque<std::string> queue_;
  std::vector<std::string> spares_;
  std::size_t queued_ = 0;  // bytes in queue_ and the chunk being hashed
  bool idle_ = false;       // the thread waits for work
  bool waiting_ = false;    // the caller waits for room or for the digest
  bool draining_ = false;   // hex_digest() wants every chunk now
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace trex::util

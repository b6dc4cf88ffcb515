// Streaming SHA-256 (wolfCrypt) for hashing command output as it is sent.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace trex::util {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(std::string_view data);
  std::string hex_digest();  // finishes; the object is reset afterwards

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace trex::util

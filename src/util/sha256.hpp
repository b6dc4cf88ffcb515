// Streaming SHA-256 for hashing command output as it is sent and for the audit
// chain. On CPUs with the SHA extensions (x86-64 SHA-NI) the blocks are
// compressed by those instructions, about 3x faster than wolfCrypt's AVX2
// code (1.7 vs 0.5 GB/s, tools/bench.sh row 3d); hashing every output byte was
// trexd's largest cost. Elsewhere wolfCrypt does the work.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace trex::util {

class Sha256 {
 public:
  enum class Engine {
    best,       // SHA-NI when the CPU has it, otherwise wolfCrypt
    wolfcrypt,  // always wolfCrypt (tests compare the two)
  };
  using Digest = std::array<std::uint8_t, 32>;

  explicit Sha256(Engine engine = Engine::best);
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::string_view data);
  Digest digest();           // finishes; the object is reset afterwards
  std::string hex_digest();  // the same, as 64 lowercase hex digits

  // Whether Engine::best uses the SHA extensions on this CPU.
  static bool hardware();

 private:
  struct Wolf;
  std::unique_ptr<Wolf> wolf_;  // set when wolfCrypt does the work
  void reset();
  void compress(const std::uint8_t* blocks, std::size_t count);

  alignas(16) std::uint32_t h_[8];
  std::uint64_t length_ = 0;  // bytes hashed so far
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
};

std::string sha256_hex(std::string_view data);

}  // namespace trex::util

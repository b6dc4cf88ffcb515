// Hashes 256 MiB in 64 KiB pieces (trexd's pipe read size) with each SHA-256
// engine and prints "ENGINE MB/s" lines. Usage: sha_bench [MiB]. Not a gtest.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "util/sha256.hpp"

int main(int argc, char** argv) {
  using trex::util::Sha256;
  const long mib = argc > 1 ? std::atol(argv[1]) : 256;
  const std::string piece(64 << 10, 'x');
  const long pieces = mib * 16;
  std::printf("hardware %s\n", Sha256::hardware() ? "yes" : "no");
  for (auto [name, engine] : {std::pair{"best", Sha256::Engine::best},
                              std::pair{"wolfcrypt", Sha256::Engine::wolfcrypt}}) {
    Sha256 sha(engine);
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < pieces; ++i) sha.update(piece);
    const auto digest = sha.hex_digest();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %.0f MB/s (%s)\n", name, static_cast<double>(mib << 20) / s / 1e6,
                digest.substr(0, 16).c_str());
  }
}

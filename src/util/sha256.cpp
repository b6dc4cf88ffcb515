#include "util/sha256.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/platform/x86.h>
#define TREX_SHA_NI 1
#endif

namespace trex::util {

namespace {

#ifdef TREX_SHA_NI
alignas(16) constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// glibc's record of the CPU, read at start-up: a cpuid instruction of our own
// is a trap to the hypervisor in a VM (about 5 us each here), paid by every
// trex run.
bool detect_sha_ni() {
  return CPU_FEATURE_ACTIVE(SHA) && CPU_FEATURE_ACTIVE(SSSE3) && CPU_FEATURE_ACTIVE(SSE4_1);
}

// The 64 rounds as 16 groups of 4, message schedule kept in w[4] (Intel's
// published arrangement of sha256rnds2/msg1/msg2). State is held as ABEF/CDGH.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_ni(std::uint32_t h[8],
                                                             const std::uint8_t* p,
                                                             std::size_t count) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0])), 0xB1);
  __m128i state1 =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4])), 0x1B);
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);       // CDGH

  for (; count > 0; --count, p += 64) {
    const __m128i abef = state0, cdgh = state1;
    __m128i w[4];
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      if (g < 4) {
        w[g] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g)),
                                byteswap);
      }
      __m128i msg =
          _mm_add_epi32(w[g % 4], _mm_load_si128(reinterpret_cast<const __m128i*>(&kRound[4 * g])));
      state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
      if (g >= 3 && g <= 14) {
        __m128i& next = w[(g + 1) % 4];
        next = _mm_add_epi32(next, _mm_alignr_epi8(w[g % 4], w[(g + 3) % 4], 4));
        next = _mm_sha256msg2_epu32(next, w[g % 4]);
      }
      msg = _mm_shuffle_epi32(msg, 0x0E);
      state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
      if (g >= 1 && g <= 12) w[(g + 3) % 4] = _mm_sha256msg1_epu32(w[(g + 3) % 4], w[g % 4]);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }

  tmp = _mm_shuffle_epi32(state0, 0x1B);     // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);  // DCHG
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), _mm_blend_epi16(tmp, state1, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), _mm_alignr_epi8(state1, tmp, 8));
}
#endif

constexpr std::uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

std::string to_hex(const Sha256::Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 15];
  }
  return out;
}

}  // namespace

struct Sha256::Wolf {
  wc_Sha256 ctx;
  Wolf() {
    // With valid arguments this cannot fail; a failure means a broken library.
    if (wc_InitSha256(&ctx) != 0) std::abort();
  }
  ~Wolf() { wc_Sha256Free(&ctx); }
  Wolf(const Wolf&) = delete;
  Wolf& operator=(const Wolf&) = delete;
};

bool Sha256::hardware() {
#ifdef TREX_SHA_NI
  static const bool available = detect_sha_ni();
  return available;
#else
  return false;
#endif
}

Sha256::Sha256(Engine engine) {
  if (engine == Engine::wolfcrypt || !hardware()) wolf_ = std::make_unique<Wolf>();
  reset();
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  std::memcpy(h_, kInitial, sizeof h_);
  length_ = 0;
  buffered_ = 0;
}

void Sha256::compress(const std::uint8_t* blocks, std::size_t count) {
#ifdef TREX_SHA_NI
  compress_ni(h_, blocks, count);
#else
  (void)blocks, (void)count;
  std::abort();  // unreachable: without SHA-NI every object uses wolfCrypt
#endif
}

void Sha256::update(std::string_view data) {
  // An empty view may hold no pointer at all (memcpy's source must not be null).
  if (data.empty()) return;
  if (wolf_) {
    // wolfCrypt takes 32-bit lengths; feed larger views in pieces.
    while (!data.empty()) {
      const auto n = std::min<std::size_t>(data.size(), 1u << 30);
      if (wc_Sha256Update(&wolf_->ctx, reinterpret_cast<const byte*>(data.data()),
                          static_cast<word32>(n)) != 0) {
        std::abort();
      }
      data.remove_prefix(n);
    }
    return;
  }
  auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t n = data.size();
  length_ += n;
  if (buffered_ > 0) {
    const std::size_t take = std::min(n, sizeof buffer_ - buffered_);
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take, p += take, n -= take;
    if (buffered_ < sizeof buffer_) return;
    compress(buffer_, 1);
    buffered_ = 0;
  }
  if (n >= 64) {
    compress(p, n / 64);
    p += n / 64 * 64, n %= 64;
  }
  if (n > 0) std::memcpy(buffer_, p, n), buffered_ = n;
}

Sha256::Digest Sha256::digest() {
  Digest out{};
  if (wolf_) {
    if (wc_Sha256Final(&wolf_->ctx, out.data()) != 0) std::abort();  // also re-initialises
    return out;
  }
  // Padding: 0x80, zeros to 56 mod 64, then the length in bits, big-endian.
  const std::uint64_t bits = length_ * 8;
  std::uint8_t pad[72] = {0x80};
  const std::size_t zeros = (buffered_ < 56 ? 56 : 120) - buffered_;
  for (int i = 0; i < 8; ++i) pad[zeros + i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
  update(std::string_view(reinterpret_cast<const char*>(pad), zeros + 8));
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<std::uint8_t>(h_[i] >> 24);
    out[4 * i + 1] = static_cast<std::uint8_t>(h_[i] >> 16);
    out[4 * i + 2] = static_cast<std::uint8_t>(h_[i] >> 8);
    out[4 * i + 3] = static_cast<std::uint8_t>(h_[i]);
  }
  reset();
  return out;
}

std::string Sha256::hex_digest() { return to_hex(digest()); }

std::string sha256_hex(std::string_view data) {
  Sha256 sha;
  sha.update(data);
  return sha.hex_digest();
}

}  // namespace trex::util

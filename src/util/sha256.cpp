#include "util/sha256.hpp"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

namespace trex::util {

struct Sha256::State {
  wc_Sha256 ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { wc_InitSha256(&state_->ctx); }
Sha256::~Sha256() {
  if (state_) wc_Sha256Free(&state_->ctx);
}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  wc_Sha256Update(&state_->ctx, reinterpret_cast<const byte*>(data.data()),
                  static_cast<word32>(data.size()));
}

std::string Sha256::hex_digest() {
  byte digest[WC_SHA256_DIGEST_SIZE];
  wc_Sha256Final(&state_->ctx, digest);  // also re-initialises
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(sizeof(digest) * 2);
  for (byte b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace trex::util

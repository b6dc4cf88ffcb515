// The wolfCrypt trex links, checked where our patches change it
// (tools/wolfssl-patches): X25519 public keys come from Ed25519's
// fixed-base table instead of the Montgomery ladder.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "tls/wolfssl.hpp"

#include <wolfssl/wolfcrypt/curve25519.h>

namespace {

using Key = std::array<std::uint8_t, CURVE25519_KEYSIZE>;

Key from_hex(const std::string& hex) {
  Key out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

void clamp(Key& k) {
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
}

Key public_of(const Key& priv) {
  Key pub{};
  EXPECT_EQ(wc_curve25519_make_pub(static_cast<int>(pub.size()), pub.data(),
                                   static_cast<int>(priv.size()), priv.data()),
            0);
  return pub;
}

// The ladder on the base point u = 9: the path the patch leaves alone.
Key ladder_public_of(const Key& priv) {
  Key base{9};
  Key pub{};
  EXPECT_EQ(
      wc_curve25519_generic(static_cast<int>(pub.size()), pub.data(), static_cast<int>(priv.size()),
                            priv.data(), static_cast<int>(base.size()), base.data()),
      0);
  return pub;
}

// RFC 7748, section 6.1 (little-endian byte strings as printed there).
TEST(WolfCrypt, X25519PublicKeysOfRfc7748) {
  Key alice = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  Key bob = from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  clamp(alice);
  clamp(bob);
  EXPECT_EQ(public_of(alice),
            from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  EXPECT_EQ(public_of(bob),
            from_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
}

TEST(WolfCrypt, X25519PublicKeysAgreeWithTheLadder) {
  std::mt19937_64 gen(20261204);
  for (int i = 0; i < 2000; ++i) {
    Key priv{};
    for (auto& b : priv) b = static_cast<std::uint8_t>(gen());
    clamp(priv);
    ASSERT_EQ(public_of(priv), ladder_public_of(priv)) << "key " << i;
  }
  // Unclamped keys are still refused, as before the patch.
  Key unclamped{};
  unclamped[0] = 1;
  Key pub{};
  EXPECT_NE(wc_curve25519_make_pub(static_cast<int>(pub.size()), pub.data(),
                                   static_cast<int>(unclamped.size()), unclamped.data()),
            0);
}

}  // namespace

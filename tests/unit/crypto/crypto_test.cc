#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "wire/hex.h"

namespace mipv6::crypto {
namespace {

std::span<const std::byte> text(const std::string& s) {
  return std::as_bytes(std::span(s));
}
template <std::size_t N>
std::string hex(const std::array<std::byte, N>& d) {
  return wire::to_hex(d);
}

TEST(Crypto, Sha1KnownAnswer_FIPS180) {
  EXPECT_EQ(hex(sha1(text("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1({text("a"), text("bc")})), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Crypto, HmacSha1KnownAnswers_RFC2202) {
  std::string key1(20, '\x0b');
  EXPECT_EQ(hex(hmac_sha1(text(key1), text("Hi There"))),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac_sha1(text("Jefe"), text("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(hmac_sha1(text("Jefe"), {text("what do ya "), text("want for nothing?")})),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Crypto, HmacSha256KnownAnswer_RFC4231) {
  std::string key(20, '\x0b');
  EXPECT_EQ(hex(hmac_sha256(text(key), text("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Crypto, RandomBytesAreFilledAndDiffer) {
  std::array<std::byte, 32> a{}, b{};
  ASSERT_TRUE(random_bytes(a));
  ASSERT_TRUE(random_bytes(b));
  EXPECT_NE(a, b);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(equal_constant_time(text("abc"), text("abc")));
  EXPECT_FALSE(equal_constant_time(text("abc"), text("abd")));
  EXPECT_FALSE(equal_constant_time(text("abc"), text("ab")));
}

}  // namespace
}  // namespace mipv6::crypto

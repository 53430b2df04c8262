#include "wire/checksum.h"

#include <gtest/gtest.h>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
  auto data = *from_hex("0001f203f4f5f6f7");
  EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(Checksum, OddLengthPadsWithZero) {
  auto odd = *from_hex("0102 03");
  auto even = *from_hex("0102 0300");
  EXPECT_EQ(internet_checksum(odd), internet_checksum(even));
}

TEST(Checksum, MessageWithItsChecksumVerifiesToZero_RFC8200_8_1) {
  auto src = *Ipv6Address::parse("2001:db8::1");
  auto dst = *Ipv6Address::parse("2001:db8::2");
  // An ICMPv6 Echo Request with a zero checksum field.
  auto msg = *from_hex("8000 0000 1234 0001 6869");
  std::uint16_t sum = upper_layer_checksum(src, dst, 58, msg);
  msg[2] = static_cast<std::byte>(sum >> 8);
  msg[3] = static_cast<std::byte>(sum);
  EXPECT_EQ(upper_layer_checksum(src, dst, 58, msg), 0);
  // A different pseudo-header (RFC 6275 §6.1.1: wrong address choice) no longer verifies.
  EXPECT_NE(upper_layer_checksum(dst, src, 135, msg), 0);
}

TEST(Hex, RoundTripAndComments) {
  auto bytes = from_hex("3b 02 # next header, length\n 01:02");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(to_hex(*bytes), "3b020102");
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

}  // namespace
}  // namespace mipv6::wire

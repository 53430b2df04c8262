#include "wire/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>

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

// RFC 1071 §4.1's loop, 16 big-endian bits at a time: what the wide, byte-order-free sum must
// equal after folding, for every length and content (long runs of 0xff test the carries).
std::uint16_t reference_checksum(const Bytes& data) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2)
    sum += (std::to_integer<std::uint32_t>(data[i]) << 8) |
           std::to_integer<std::uint32_t>(data[i + 1]);
  if (data.size() % 2 == 1) sum += std::to_integer<std::uint32_t>(data.back()) << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

TEST(Checksum, WideSumEqualsTheSixteenBitSumForEveryLength_RFC1071_2) {
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1103515245u + 12345u; };
  for (std::size_t length = 0; length <= 300; ++length) {
    for (int fill = 0; fill < 3; ++fill) {
      Bytes data(length);
      for (auto& b : data)
        b = fill == 0   ? std::byte{0xff}
            : fill == 1 ? std::byte{0}
                        : static_cast<std::byte>(next() >> 16);
      ASSERT_EQ(internet_checksum(data), reference_checksum(data)) << length << " fill " << fill;
    }
  }
  Bytes large(65535, std::byte{0xff});  // the largest IPv6 payload: no overflow
  EXPECT_EQ(internet_checksum(large), reference_checksum(large));
  for (auto& b : large)
    b = static_cast<std::byte>(next() >> 16);
  EXPECT_EQ(internet_checksum(large), reference_checksum(large));
  // Chained over even-length pieces, as the callers do.
  const Bytes whole(large.begin(), large.begin() + 1001);
  std::uint32_t sum = checksum_add(0, ByteSpan(whole).first(64));
  sum = checksum_add(sum, ByteSpan(whole).subspan(64, 638));
  sum = checksum_add(sum, ByteSpan(whole).subspan(702));
  EXPECT_EQ(checksum_finish(sum), reference_checksum(whole));
}

// checksum_copy() sums exactly what checksum_add() sums and leaves a faithful copy, for every
// length (odd ones too) and for a destination shorter than the source (it copies and sums less).
TEST(Checksum, CopyingSumEqualsTheSumAndCopiesTheOctets) {
  std::uint32_t state = 777;
  for (std::size_t length = 0; length <= 70; ++length) {
    Bytes data(length);
    for (auto& b : data)
      b = static_cast<std::byte>((state = state * 1103515245u + 12345u) >> 16);
    Bytes copy(length + 3, std::byte{0xAA});
    const std::uint32_t sum = checksum_copy(5, data, copy);
    EXPECT_EQ(checksum_finish(sum), checksum_finish(checksum_add(5, data))) << length;
    EXPECT_TRUE(std::equal(data.begin(), data.end(), copy.begin())) << length;
    EXPECT_EQ(copy[length], std::byte{0xAA}) << "wrote past the data at " << length;
  }
  const Bytes data(100, std::byte{0x12});
  Bytes shorter(10);
  EXPECT_EQ(checksum_finish(checksum_copy(0, data, shorter)),
            checksum_finish(checksum_add(0, ByteSpan(data).first(10))));
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

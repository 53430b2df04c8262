// The rewrites that let the kernel deliver Mobile IPv6 packets it cannot process itself
// (DESIGN.md §3): exact bytes in and out, the checksum the kernel will verify afterwards, and
// every malformed input refused with the packet left as it was.
#include "linux/packet_rewrite.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "wire/checksum.h"
#include "wire/hex.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;

using ::testing::HasSubstr;

constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kMobilityHeader = 135;

// Addresses, in the hex the packets below are written in.
#define HOME "20010db8000100000000000000000100"           // 2001:db8:1::100
#define CARE_OF "20010db8000200000000000000000100"        // 2001:db8:2::100
#define CORRESPONDENT "20010db8000300000000000000000001"  // 2001:db8:3::1
#define PEER_HOME "20010db8000100000000000000000200"      // 2001:db8:1::200
#define PEER_CARE_OF "20010db8000400000000000000000200"   // 2001:db8:4::200
// UDP 1234 -> 5678, 12 octets, "mip6"; the checksum is over home address <-> correspondent.
#define UDP_TO_CORRESPONDENT "04d2162e000caabf6d697036"
#define UDP_HOME_TO_PEER_HOME "04d2162e000ca8c26d697036"

wire::Bytes hex(const std::string& text) {
  auto bytes = wire::from_hex(text);
  EXPECT_TRUE(bytes) << text;
  return bytes.value_or(wire::Bytes{});
}

// A mobile node away from home to a correspondent (RFC 6275 §6.3, §9.3.1).
const std::string kHaoPacket =
    "60000000 0024 3c 40 " CARE_OF CORRESPONDENT
    // Destination Options: UDP next, 24 octets: PadN(2), Home Address option at 8n+6
    "11 02 01 02 0000 c9 10 " HOME UDP_TO_CORRESPONDENT;
const std::string kHaoRewritten =
    "60000000 0024 3c 40 " HOME CORRESPONDENT
    // The option keeps its place and length, now type 0x1E carrying the care-of address.
    "11 02 01 02 0000 1e 10 " CARE_OF UDP_TO_CORRESPONDENT;

// A correspondent to the mobile node's care-of address (RFC 6275 §6.4, §11.3.3).
const std::string kRh2Packet =
    "60000000 0024 2b 40 " CORRESPONDENT CARE_OF
    // Type 2 Routing header: UDP next, Hdr Ext Len 2, type 2, Segments Left 1, Reserved 0
    "11 02 02 01 00000000 " HOME UDP_TO_CORRESPONDENT;
const std::string kRh2Rewritten =
    "60000000 0024 2b 40 " CORRESPONDENT HOME "11 02 02 00 00000000 " CARE_OF UDP_TO_CORRESPONDENT;

class PacketRewriteTest : public ::testing::Test {
 protected:
  // `packet` unchanged after a call that failed with `code` and a message containing `text`.
  template <class Call>
  void expect_refused(wire::Bytes packet, Call call, int code, const std::string& text) {
    const wire::Bytes before = packet;
    auto result = call(std::span<std::byte>(packet));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_THAT(result.error().message, HasSubstr(text));
    EXPECT_EQ(packet, before) << "a refused packet was modified";
  }

  static Result<HomeAddressOptionInfo> apply_hao(std::span<std::byte> p) {
    return apply_home_address_option(p);
  }
  static Result<Type2RoutingInfo> apply_rh2(std::span<std::byte> p) {
    return apply_type2_routing_header(p);
  }
  static Result<MobilityHeadersInfo> apply_both(std::span<std::byte> p) {
    return apply_mobility_headers(p);
  }
};

TEST_F(PacketRewriteTest, HomeAddressOptionSwapsSourceAndBecomesSkippable_9_3_1) {
  wire::Bytes packet = hex(kHaoPacket);
  auto info = apply_home_address_option(packet);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(wire::to_hex(packet), wire::to_hex(hex(kHaoRewritten)));
  EXPECT_EQ(info->home_address, addr("2001:db8:1::100"));
  EXPECT_EQ(info->care_of_address, addr("2001:db8:2::100"));
  EXPECT_EQ(info->option_offset, 46u);
  EXPECT_EQ(info->next_header, kUdp);
}

TEST_F(PacketRewriteTest, UdpChecksumVerifiesWithTheRewrittenIpv6Header_6_3) {
  // What the kernel checks: the pseudo-header built from the IPv6 header alone.
  wire::Bytes packet = hex(kHaoPacket);
  auto udp = [&] { return wire::ByteSpan(packet).subspan(64); };
  EXPECT_NE(wire::upper_layer_checksum(addr("2001:db8:2::100"), addr("2001:db8:3::1"), kUdp, udp()),
            0);
  ASSERT_TRUE(apply_home_address_option(packet));
  EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:1::100"), addr("2001:db8:3::1"), kUdp, udp()),
            0);
}

TEST_F(PacketRewriteTest, FindHomeAddressOptionReportsWithoutChangingThePacket_9_3_1) {
  const wire::Bytes packet = hex(kHaoPacket);
  auto info = find_home_address_option(packet);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->home_address, addr("2001:db8:1::100"));
  EXPECT_EQ(info->care_of_address, addr("2001:db8:2::100"));
  EXPECT_EQ(packet, hex(kHaoPacket));
}

TEST_F(PacketRewriteTest, NextHeaderAfterTheOptionIsReportedForMobilityHeaders_9_3_1) {
  // §9.3.1: with a Mobility Header after the option the packet is processed without a binding.
  const wire::Bytes packet =
      hex("60000000 0020 3c 40 " CARE_OF CORRESPONDENT "87 02 01 02 0000 c9 10 " HOME
          // Binding Refresh Request-sized MH (its checksum is irrelevant here)
          "3b 00 00 00 0000 0000");
  auto info = find_home_address_option(packet);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->next_header, kMobilityHeader);
}

TEST_F(PacketRewriteTest, Type2RoutingHeaderSwapsDestinationAndClearsSegmentsLeft_11_3_3) {
  wire::Bytes packet = hex(kRh2Packet);
  auto info = apply_type2_routing_header(packet);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(wire::to_hex(packet), wire::to_hex(hex(kRh2Rewritten)));
  EXPECT_EQ(info->home_address, addr("2001:db8:1::100"));
  EXPECT_EQ(info->care_of_address, addr("2001:db8:2::100"));
  EXPECT_EQ(info->header_offset, 40u);
  // The kernel's pseudo-header (IPv6 destination = home address) now verifies.
  EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:3::1"), addr("2001:db8:1::100"), kUdp,
                                       wire::ByteSpan(packet).subspan(64)),
            0);
}

TEST_F(PacketRewriteTest, FindType2RoutingHeaderLeavesThePacketUntouched_6_4) {
  const wire::Bytes packet = hex(kRh2Packet);
  auto info = find_type2_routing_header(packet);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->home_address, addr("2001:db8:1::100"));
  EXPECT_EQ(packet, hex(kRh2Packet));
}

TEST_F(PacketRewriteTest, MobileToMobileRewritesBothHeaders_9_3_1_11_3_3) {
  wire::Bytes packet =
      hex("60000000 003c 2b 40 " CARE_OF PEER_CARE_OF "3c 02 02 01 00000000 " PEER_HOME
          "11 02 01 02 0000 c9 10 " HOME UDP_HOME_TO_PEER_HOME);
  auto info = apply_mobility_headers(packet);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(
      wire::to_hex(packet),
      wire::to_hex(hex("60000000 003c 2b 40 " HOME PEER_HOME "3c 02 02 00 00000000 " PEER_CARE_OF
                       "11 02 01 02 0000 1e 10 " CARE_OF UDP_HOME_TO_PEER_HOME)));
  ASSERT_TRUE(info->home_address_option && info->type2_routing);
  EXPECT_EQ(info->home_address_option->home_address, addr("2001:db8:1::100"));
  EXPECT_EQ(info->home_address_option->care_of_address, addr("2001:db8:2::100"));
  EXPECT_EQ(info->type2_routing->home_address, addr("2001:db8:1::200"));
  EXPECT_EQ(info->type2_routing->care_of_address, addr("2001:db8:4::200"));
  EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:1::100"), addr("2001:db8:1::200"), kUdp,
                                       wire::ByteSpan(packet).subspan(88)),
            0);
}

TEST_F(PacketRewriteTest, ApplyMobilityHeadersHandlesEachAlone) {
  wire::Bytes hao = hex(kHaoPacket);
  auto a = apply_mobility_headers(hao);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->home_address_option);
  EXPECT_FALSE(a->type2_routing);
  EXPECT_EQ(hao, hex(kHaoRewritten));
  wire::Bytes rh2 = hex(kRh2Packet);
  auto b = apply_mobility_headers(rh2);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->type2_routing);
  EXPECT_FALSE(b->home_address_option);
  EXPECT_EQ(rh2, hex(kRh2Rewritten));
}

TEST_F(PacketRewriteTest, PacketWithoutMobilityHeadersIsNothingToRewrite) {
  const wire::Bytes plain = hex("60000000 000c 11 40 " CARE_OF CORRESPONDENT UDP_TO_CORRESPONDENT);
  expect_refused(plain, apply_hao, ENOMSG, "no Home Address option");
  expect_refused(plain, apply_rh2, ENOMSG, "no Type 2 Routing header");
  expect_refused(plain, apply_both, ENOMSG, "no Home Address option or Type 2 Routing header");
  // A Destination Options header with only a skippable option is not a Home Address option.
  expect_refused(hex(kHaoRewritten), apply_hao, ENOMSG, "no Home Address option");
}

TEST_F(PacketRewriteTest, TruncatedPacketIsRefused) {
  wire::Bytes packet = hex(kHaoPacket);
  packet.resize(60);
  expect_refused(packet, apply_hao, EBADMSG, "malformed packet (truncated) at offset 4");
  packet.resize(30);
  expect_refused(packet, apply_rh2, EBADMSG, "malformed packet (truncated)");
}

TEST_F(PacketRewriteTest, PayloadLengthNotMatchingThePacketIsRefused) {
  wire::Bytes packet = hex(kRh2Packet);
  packet.push_back(std::byte{0});
  expect_refused(packet, apply_rh2, EBADMSG, "Payload Length 36 does not match the 77-byte packet");
  expect_refused(packet, apply_both, EBADMSG, "does not match");
}

TEST_F(PacketRewriteTest, SecondHomeAddressOptionIsRefused_6_3) {
  // Two options, each at 8n+6: PadN(2), HAO, PadN(6), HAO: 48 octets.
  const wire::Bytes packet =
      hex("60000000 003c 3c 40 " CARE_OF CORRESPONDENT "11 05 01 02 0000 c9 10 " HOME
          "01 04 00000000 c9 10 " HOME UDP_TO_CORRESPONDENT);
  expect_refused(packet, apply_hao, EBADMSG, "malformed packet (bad_value) at offset 70");
  expect_refused(packet, apply_both, EBADMSG, "bad_value");
}

TEST_F(PacketRewriteTest, Type2RoutingHeaderWithSegmentsLeftOtherThanOneIsRefused_11_3_3) {
  std::string zero = kRh2Packet;
  zero.replace(zero.find("11 02 02 01"), 11, "11 02 02 00");
  expect_refused(hex(zero), apply_rh2, EBADMSG,
                 "Segments Left 0 instead of 1 (RFC 6275 §11.3.3) at offset 43");
  std::string two = kRh2Packet;
  two.replace(two.find("11 02 02 01"), 11, "11 02 02 02");
  // Above the number of addresses: the decoder already refuses it (RFC 8200 §4.4).
  expect_refused(hex(two), apply_rh2, EBADMSG, "malformed packet (bad_value) at offset 43");
  expect_refused(hex(two), apply_both, EBADMSG, "bad_value");
  expect_refused(hex(zero), apply_both, EBADMSG, "Segments Left 0 instead of 1");
}

TEST_F(PacketRewriteTest, SecondType2RoutingHeaderIsRefused_6_4) {
  const wire::Bytes packet =
      hex("60000000 003c 2b 40 " CORRESPONDENT CARE_OF "2b 02 02 01 00000000 " HOME
          "11 02 02 01 00000000 " HOME UDP_TO_CORRESPONDENT);
  expect_refused(packet, apply_rh2, EBADMSG,
                 "second Type 2 Routing header (RFC 6275 §6.4) at offset 64");
}

TEST_F(PacketRewriteTest, Type2RoutingHeaderLengthOtherThanTwoIsRefused_6_4_1) {
  // Hdr Ext Len 3 with 8 more octets: the decoder's bad_length.
  const wire::Bytes packet =
      hex("60000000 002c 2b 40 " CORRESPONDENT CARE_OF "11 03 02 01 00000000 " HOME
          "0000000000000000" UDP_TO_CORRESPONDENT);
  expect_refused(packet, apply_rh2, EBADMSG, "malformed packet (bad_length) at offset 41");
}

TEST_F(PacketRewriteTest, HomeAddressThatIsNotUnicastRoutableIsRefused_9_3_1) {
  std::string multicast = kHaoPacket;
  multicast.replace(multicast.find("c9 10 ") + 6, 4, "ff02");
  expect_refused(hex(multicast), apply_hao, EBADMSG,
                 "home address not unicast routable (RFC 6275 §9.3.1) at offset 48");
  std::string link_local_rh2 = kRh2Packet;
  link_local_rh2.replace(link_local_rh2.find("00000000 ") + 9, 4, "fe80");
  expect_refused(hex(link_local_rh2), apply_rh2, EBADMSG,
                 "home address not unicast routable (RFC 6275 §6.4.1) at offset 48");
}

TEST_F(PacketRewriteTest, Type2HomeAddressMayHaveALargerScopeThanTheCareOfAddress_6_4_1) {
  // §6.4.1 forbids only a home address of a smaller scope than the care-of address.
  const wire::Bytes packet = hex("60000000 0024 2b 40 " CORRESPONDENT
                                 "fe800000000000000000000000000001"
                                 "11 02 02 01 00000000 " HOME UDP_TO_CORRESPONDENT);
  auto info = find_type2_routing_header(packet);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->care_of_address, addr("fe80::1"));
}

TEST_F(PacketRewriteTest, BrokenChainAfterTheOptionIsRefused) {
  // The Destination Options header claims 32 octets but only 24 precede the end of the payload.
  std::string broken = kHaoPacket;
  broken.replace(broken.find("11 02 01 02"), 11, "11 03 01 02");
  wire::Bytes packet = hex(broken);
  packet.resize(40 + 24);
  packet[5] = std::byte{24};
  expect_refused(packet, apply_hao, EBADMSG, "malformed packet (bad_length) at offset 41");
}

}  // namespace
}  // namespace mipv6::linux_dp

// The rewrites that let the kernel deliver Mobile IPv6 packets it cannot process itself
// (DESIGN.md §3): exact bytes in and out, the checksum the kernel will verify afterwards, and
// every malformed input refused with the packet left as it was.
#include "linux/packet_rewrite.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "wire/chain.h"
#include "wire/checksum.h"
#include "wire/extension_headers.h"
#include "wire/hex.h"
#include "wire/packet.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;

using ::testing::HasSubstr;
using ::testing::Not;

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

// ---------------------------------------------------------------------------------------------
// The sending side: insert_type2_routing_header / insert_home_address_option (RFC 6275 §6.3,
// §6.4, §9.3.2, §11.3.1), checked against the receive side that must undo them.

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::size_t kInserted = 24;

const wire::Ipv6Address kHome = *wire::Ipv6Address::parse("2001:db8:1::100");
const wire::Ipv6Address kCareOf = *wire::Ipv6Address::parse("2001:db8:2::100");
const wire::Ipv6Address kCorrespondent = *wire::Ipv6Address::parse("2001:db8:3::1");

// An upper-layer message of `protocol` with its checksum field present (filled by build_packet).
wire::Bytes upper_message(std::uint8_t protocol) {
  switch (protocol) {
    case kUdp:
      return hex("04d2162e000c00006d697036");
    case kTcp:  // SYN, data offset 5, checksum 0 for now
      return hex("04d2162e00000001000000005002ffff00000000");
    default:  // ICMPv6 Echo Request
      return hex("80000000000100016d697036");
  }
}

wire::Bytes build(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                  std::vector<wire::ExtensionHeader> headers, std::uint8_t protocol) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.extension_headers = std::move(headers);
  spec.upper_protocol = protocol;
  spec.upper = upper_message(protocol);
  return wire::build_packet(spec);
}

wire::ExtensionHeader hop_by_hop() {
  return wire::make_options_header(wire::ip_proto::kHopByHop, {});
}
wire::ExtensionHeader empty_destination_options() {
  return wire::make_options_header(wire::ip_proto::kDestinationOptions, {});
}

wire::PacketLayout layout_of(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  EXPECT_TRUE(layout) << wire::to_string(layout.error().code) << " at " << layout.error().offset;
  return layout ? *layout : wire::PacketLayout{};
}

void expect_checksum_verifies(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  ASSERT_TRUE(layout);
  auto s = wire::verify_upper_checksum(packet, *layout);
  EXPECT_TRUE(s) << wire::to_string(s.error().code) << " at " << s.error().offset;
}

// The inserted header taken out again, and the octets that named it restored: what the packet
// was before insertion if nothing else changed.
wire::Bytes without_header(wire::ByteSpan packet, std::size_t offset,
                           std::size_t next_header_offset) {
  wire::Bytes out(packet.begin(), packet.end());
  out[next_header_offset] = out[offset];
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(offset),
            out.begin() + static_cast<std::ptrdiff_t>(offset + kInserted));
  wire::store_be16(out.data() + 4, static_cast<std::uint16_t>(out.size() - 40));
  return out;
}

class InsertionTest : public ::testing::TestWithParam<std::uint8_t> {};

TEST_P(InsertionTest, Type2RoutingHeaderRoundTripsAndKeepsTheChecksumValid_6_4_9_3_2) {
  const wire::Bytes original = build(kCorrespondent, kHome, {}, GetParam());
  expect_checksum_verifies(original);
  auto inserted = insert_type2_routing_header(original, kCareOf);
  ASSERT_TRUE(inserted) << inserted.error().message;
  const wire::PacketLayout layout = layout_of(*inserted);
  EXPECT_EQ(layout.ipv6.destination, kCareOf);
  EXPECT_EQ(layout.ipv6.payload_length, original.size() - 40 + kInserted);
  ASSERT_TRUE(layout.type2_address);
  EXPECT_EQ(*layout.type2_address, kHome);
  EXPECT_EQ(layout.type2_segments_left, 1);
  EXPECT_EQ(layout.type2_offset, 40u);
  EXPECT_EQ(layout.upper_protocol, GetParam());
  expect_checksum_verifies(*inserted);

  wire::Bytes received = *inserted;
  auto applied = apply_type2_routing_header(received);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->care_of_address, kCareOf);
  expect_checksum_verifies(received);
  EXPECT_EQ(wire::to_hex(without_header(received, 40, 6)), wire::to_hex(original));
}

TEST_P(InsertionTest, HomeAddressOptionRoundTripsAndKeepsTheChecksumValid_6_3_11_3_1) {
  const wire::Bytes original = build(kHome, kCorrespondent, {}, GetParam());
  auto inserted = insert_home_address_option(original, kCareOf);
  ASSERT_TRUE(inserted) << inserted.error().message;
  const wire::PacketLayout layout = layout_of(*inserted);
  EXPECT_EQ(layout.ipv6.source, kCareOf);
  EXPECT_EQ(layout.ipv6.payload_length, original.size() - 40 + kInserted);
  ASSERT_TRUE(layout.home_address);
  EXPECT_EQ(*layout.home_address, kHome);
  // §6.3: the option is aligned 8n+6.
  EXPECT_EQ(layout.home_address_option_offset % 8, 6u);
  expect_checksum_verifies(*inserted);

  wire::Bytes received = *inserted;
  auto applied = apply_home_address_option(received);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->home_address, kHome);
  expect_checksum_verifies(received);
  // Everything is as sent but the neutralised option (type 0x1E, carrying the care-of address).
  EXPECT_EQ(std::to_integer<std::uint8_t>(received[applied->option_offset]), kSkippedOptionType);
  EXPECT_EQ(wire::to_hex(without_header(received, 40, 6)), wire::to_hex(original));
}

INSTANTIATE_TEST_SUITE_P(UdpIcmpv6Tcp, InsertionTest, ::testing::Values(kUdp, kIcmpv6, kTcp),
                         [](const auto& param_info) {
                           return param_info.param == kUdp      ? std::string("Udp")
                                  : param_info.param == kIcmpv6 ? std::string("Icmpv6")
                                                                : std::string("Tcp");
                         });

TEST(InsertTest, Type2RoutingHeaderFollowsTheHopByHopHeader_9_3_2) {
  const wire::Bytes original =
      build(kCorrespondent, kHome, {hop_by_hop(), empty_destination_options()}, kUdp);
  auto inserted = insert_type2_routing_header(original, kCareOf);
  ASSERT_TRUE(inserted) << inserted.error().message;
  const wire::PacketLayout layout = layout_of(*inserted);
  ASSERT_EQ(layout.header_count, 3u);
  EXPECT_EQ(layout.headers[0].type, wire::ip_proto::kHopByHop);
  EXPECT_EQ(layout.headers[1].type, wire::ip_proto::kRouting);
  EXPECT_EQ(layout.headers[1].offset, 48u);
  // The Destination Options header now follows the Routing header: for the final destination.
  EXPECT_EQ(layout.headers[2].type, wire::ip_proto::kDestinationOptions);
  expect_checksum_verifies(*inserted);
  const wire::Bytes restored = without_header(*inserted, 48, 40);
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(restored).subspan(40)),
            wire::to_hex(wire::ByteSpan(original).subspan(40)));
}

TEST(InsertTest, HomeAddressOptionGoesAfterRoutingAndBeforeOtherDestinationOptions_6_3) {
  // Mobile node to mobile node: the packet already carries the peer's Type 2 header.
  const wire::Bytes original = build(
      kHome, kCareOf,
      {hop_by_hop(), wire::make_type2_routing_header(*wire::Ipv6Address::parse("2001:db8:1::200")),
       empty_destination_options()},
      kUdp);
  auto inserted = insert_home_address_option(original, *wire::Ipv6Address::parse("2001:db8:4::1"));
  ASSERT_TRUE(inserted) << inserted.error().message;
  const wire::PacketLayout layout = layout_of(*inserted);
  ASSERT_EQ(layout.header_count, 4u);
  EXPECT_EQ(layout.headers[0].type, wire::ip_proto::kHopByHop);
  EXPECT_EQ(layout.headers[1].type, wire::ip_proto::kRouting);
  EXPECT_EQ(layout.headers[2].type, wire::ip_proto::kDestinationOptions);
  EXPECT_EQ(layout.headers[2].offset, 72u);
  EXPECT_EQ(layout.home_address_option_offset, 78u);
  EXPECT_EQ(layout.headers[3].type, wire::ip_proto::kDestinationOptions);
  expect_checksum_verifies(*inserted);
  wire::Bytes received = *inserted;
  ASSERT_TRUE(apply_mobility_headers(received));
  expect_checksum_verifies(received);
}

TEST(InsertTest, HomeAddressOptionGoesBeforeTheFragmentHeader_6_3) {
  const wire::Bytes original =
      build(kHome, kCorrespondent,
            {wire::make_fragment_header(wire::FragmentHeader{.identification = 7})}, kUdp);
  auto inserted = insert_home_address_option(original, kCareOf);
  ASSERT_TRUE(inserted) << inserted.error().message;
  const wire::PacketLayout layout = layout_of(*inserted);
  ASSERT_EQ(layout.header_count, 2u);
  EXPECT_EQ(layout.headers[0].type, wire::ip_proto::kDestinationOptions);
  EXPECT_EQ(layout.headers[1].type, wire::ip_proto::kFragment);
  EXPECT_EQ(std::to_integer<std::uint8_t>((*inserted)[6]), wire::ip_proto::kDestinationOptions);
  expect_checksum_verifies(*inserted);
}

TEST(InsertTest, SecondMobilityHeaderIsRefusedWithEexist_6_3_6_4) {
  const wire::Bytes with_option = hex(kHaoPacket);
  auto hao = insert_home_address_option(with_option, kCareOf);
  ASSERT_FALSE(hao);
  EXPECT_EQ(hao.error().code, EEXIST);
  const wire::Bytes with_routing = hex(kRh2Packet);
  auto rh2 = insert_type2_routing_header(with_routing, kCareOf);
  ASSERT_FALSE(rh2);
  EXPECT_EQ(rh2.error().code, EEXIST);
  // The other header is still welcome (mobile node to mobile node).
  EXPECT_TRUE(insert_home_address_option(with_routing, kCareOf));
  EXPECT_TRUE(insert_type2_routing_header(with_option, kCareOf));
}

TEST(InsertTest, MalformedPacketsAreRefusedWithEbadmsg) {
  wire::Bytes packet = build(kCorrespondent, kHome, {}, kUdp);
  wire::Bytes truncated(packet.begin(), packet.end() - 1);
  wire::Bytes padded = packet;
  padded.push_back(std::byte{0});
  wire::Bytes broken = packet;
  broken[6] = std::byte{wire::ip_proto::kHopByHop};  // a header that is not there
  for (const auto& bad : {truncated, padded, broken, wire::Bytes(20)}) {
    auto rh2 = insert_type2_routing_header(bad, kCareOf);
    ASSERT_FALSE(rh2);
    EXPECT_EQ(rh2.error().code, EBADMSG) << rh2.error().message;
    auto hao = insert_home_address_option(bad, kCareOf);
    ASSERT_FALSE(hao);
    EXPECT_EQ(hao.error().code, EBADMSG) << hao.error().message;
  }
}

TEST(InsertTest, PayloadThatWouldExceed65535OctetsIsRefusedWithEmsgsize) {
  wire::PacketSpec spec;
  spec.header.source = kHome;
  spec.header.destination = kCorrespondent;
  spec.upper_protocol = wire::ip_proto::kNoNextHeader;
  spec.upper = wire::Bytes(65535 - 20);
  const wire::Bytes big = wire::build_packet(spec);
  ASSERT_EQ(big.size(), 40u + 65515u);
  auto rh2 = insert_type2_routing_header(big, kCareOf);
  ASSERT_FALSE(rh2);
  EXPECT_EQ(rh2.error().code, EMSGSIZE);
  auto hao = insert_home_address_option(big, kCareOf);
  ASSERT_FALSE(hao);
  EXPECT_EQ(hao.error().code, EMSGSIZE);
  // 24 octets fit exactly.
  spec.upper = wire::Bytes(65535 - 24);
  EXPECT_TRUE(insert_type2_routing_header(wire::build_packet(spec), kCareOf));
}

// A minimal pcap file (LINKTYPE_IPV6 229, one record per packet) for tshark to dissect.
void write_pcap(const std::string& path, const std::vector<wire::Bytes>& packets) {
  wire::Bytes file;
  auto le32 = [&](std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8)
      file.push_back(static_cast<std::byte>(v >> shift));
  };
  le32(0xa1b2c3d4);  // magic, microsecond timestamps
  le32(0x00040002);  // version 2.4 (minor, major as little-endian 16-bit halves)
  le32(0);           // thiszone
  le32(0);           // sigfigs
  le32(65535 + 40);  // snaplen
  le32(229);         // LINKTYPE_IPV6
  for (const auto& packet : packets) {
    le32(0);
    le32(0);
    le32(static_cast<std::uint32_t>(packet.size()));
    le32(static_cast<std::uint32_t>(packet.size()));
    file.insert(file.end(), packet.begin(), packet.end());
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
}

TEST(InsertTest, TsharkDissectsInsertedHeadersWithoutErrorsAndGoodChecksums) {
  if (test_util::shell("command -v tshark").empty()) GTEST_SKIP() << "tshark not installed";
  std::vector<wire::Bytes> packets;
  for (std::uint8_t protocol : {kUdp, kIcmpv6, kTcp}) {
    auto rh2 = insert_type2_routing_header(build(kCorrespondent, kHome, {}, protocol), kCareOf);
    auto hao = insert_home_address_option(build(kHome, kCorrespondent, {}, protocol), kCareOf);
    ASSERT_TRUE(rh2 && hao);
    packets.push_back(*rh2);
    packets.push_back(*hao);
  }
  const std::string path = "/tmp/mipv6t-" + std::to_string(::getpid()) + "-insert.pcap";
  write_pcap(path, packets);
  const std::string out = test_util::shell(
      "tshark -r " + path + " -V -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE 2>&1");
  if (std::getenv("MIPV6_KEEP_PCAP") == nullptr) std::remove(path.c_str());
  EXPECT_THAT(out, Not(HasSubstr("Malformed")));
  EXPECT_THAT(out, Not(HasSubstr("[Expert Info (Error")));
  EXPECT_THAT(out, Not(HasSubstr("[Expert Info (Warning")));
  EXPECT_THAT(out, Not(HasSubstr("Bad]")));
  EXPECT_THAT(out, HasSubstr("Home Address: 2001:db8:1::100"));
  EXPECT_THAT(out, HasSubstr("Type: Type 2 Routing (2)"));
  // One good upper-layer checksum per packet.
  std::size_t good = 0;
  for (auto at = out.find("Checksum Status: Good"); at != std::string::npos;
       at = out.find("Checksum Status: Good", at + 1))
    ++good;
  EXPECT_EQ(good, packets.size()) << out;
}
}  // namespace
}  // namespace mipv6::linux_dp

#include "wire/chain.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "wire/checksum.h"
#include "wire/extension_headers.h"
#include "wire/hex.h"
#include "wire/packet.h"

namespace mipv6::wire {
namespace {

const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCn = *Ipv6Address::parse("2001:db8:3::10");

struct Vector {
  Bytes bytes;
  std::string expect;  // "ok ..." or "<code> <offset>"
};

Vector load(const std::string& name) {
  std::ifstream in(std::string(MIPV6_VECTORS_DIR) + "/chain/" + name + ".hex");
  std::stringstream text;
  text << in.rdbuf();
  Vector v{*from_hex(text.str()), ""};
  auto at = text.str().find("# expect: ");
  auto end = text.str().find('\n', at);
  v.expect = text.str().substr(at + 10, end - at - 10);
  return v;
}

// Every broken vector fails with exactly the code and offset its "# expect:" line names.
class BrokenVector : public testing::TestWithParam<const char*> {};

TEST_P(BrokenVector, FailsWithExpectedCodeAndOffset) {
  Vector v = load(GetParam());
  ASSERT_FALSE(v.expect.empty());
  auto layout = walk_chain(v.bytes);
  ASSERT_FALSE(layout) << GetParam();
  std::string got =
      std::string(to_string(layout.error().code)) + " " + std::to_string(layout.error().offset);
  EXPECT_EQ(got, v.expect);
}

INSTANTIATE_TEST_SUITE_P(Chain, BrokenVector,
                         testing::Values("truncated_header", "version_4", "payload_length_overrun",
                                         "hbh_not_first", "two_hao", "hdr_ext_len_overrun",
                                         "rh2_bad_hdr_ext_len", "hao_misaligned", "hao_bad_length",
                                         "hao_after_fragment", "esp_truncated", "option_overrun"));

TEST(Chain, ScapyBindingUpdateWithHao_6_3) {
  Vector v = load("bu_with_hao");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->header_count, 1u);
  EXPECT_EQ(layout->headers[0].type, ip_proto::kDestinationOptions);
  EXPECT_EQ(layout->headers[0].offset, 40u);
  EXPECT_EQ(layout->headers[0].length, 24u);
  EXPECT_EQ(layout->upper_protocol, ip_proto::kMobility);
  EXPECT_EQ(layout->upper_offset, 64u);
  EXPECT_EQ(layout->upper_next_header_offset, 40u);
  EXPECT_EQ(layout->home_address, kHoa);
  EXPECT_EQ(layout->home_address_option_offset, 46u);
  // scapy computed the MH checksum with the home address as source (RFC 6275 §6.1.1).
  EXPECT_TRUE(verify_upper_checksum(v.bytes, *layout));
  EXPECT_EQ(pseudo_header_addresses(*layout).source, kHoa);
  EXPECT_EQ(pseudo_header_addresses(*layout).destination, kHa);
}

TEST(Chain, ChecksumOverCareOfAddressIsBad_6_1_1) {
  Vector v = load("bu_checksum_over_care_of");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  auto status = verify_upper_checksum(v.bytes, *layout);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, WireErrc::kBadChecksum);
  // The same octets do verify with the care-of address as source: only the rule differs.
  EXPECT_EQ(upper_layer_checksum(kCoa, kHa, 135, ByteSpan(v.bytes).subspan(64)), 0);
}

TEST(Chain, ScapyBindingAckWithType2RoutingHeader_6_4) {
  Vector v = load("ba_with_rh2");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->type2_address, kHoa);
  EXPECT_EQ(layout->type2_offset, 40u);
  EXPECT_EQ(layout->type2_segments_left, 1);
  EXPECT_EQ(layout->routing_final_destination, kHoa);
  EXPECT_EQ(pseudo_header_addresses(*layout).destination, kHoa);
  EXPECT_EQ(pseudo_header_addresses(*layout).source, kHa);
  EXPECT_TRUE(verify_upper_checksum(v.bytes, *layout));
}

TEST(Chain, TunnelEndsWalkWithInnerPacketAsUpperLayer_RFC2473_3) {
  Vector v = load("tunnel_echo");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->header_count, 0u);
  EXPECT_EQ(layout->upper_protocol, ip_proto::kIpv6);
  EXPECT_EQ(layout->upper_offset, 40u);
  EXPECT_EQ(layout->upper_next_header_offset, 6u);
  EXPECT_EQ(layout->ipv6.flow_label, 0xabcdeu);
  EXPECT_EQ(layout->ipv6.traffic_class, 0x2e);
  auto inner = walk_chain(ByteSpan(v.bytes).subspan(40));
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->upper_protocol, ip_proto::kIcmpv6);
  EXPECT_TRUE(verify_upper_checksum(ByteSpan(v.bytes).subspan(40), *inner));
}

TEST(Chain, UdpChecksumUsesHomeAddressComputedByHand_6_3_11_3_1) {
  Vector v = load("udp_with_hao");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->upper_protocol, ip_proto::kUdp);
  EXPECT_TRUE(verify_upper_checksum(v.bytes, *layout));
  // By hand, RFC 8200 §8.1: HoA, destination, 32-bit length, 3 zero octets, 17, then UDP with
  // its checksum zeroed. scapy's checksum must equal this sum with the HoA, not the CoA.
  Bytes udp(v.bytes.begin() + 64, v.bytes.end());
  std::uint16_t on_wire = load_be16(&udp[6]);
  udp[6] = udp[7] = std::byte{0};
  auto by_hand = [&](const Ipv6Address& source) {
    Bytes pseudo;
    Writer w(pseudo);
    w.address(source);
    w.address(kCn);
    w.u32(static_cast<std::uint32_t>(udp.size()));
    w.zeros(3);
    w.u8(17);
    w.bytes(udp);
    return internet_checksum(pseudo);
  };
  EXPECT_EQ(on_wire, by_hand(kHoa));
  EXPECT_NE(on_wire, by_hand(kCoa));
}

TEST(Chain, EspEndsTheWalk_RFC4303) {
  Vector v = load("esp");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->header_count, 2u);
  EXPECT_EQ(layout->headers[1].type, ip_proto::kEsp);
  EXPECT_EQ(layout->headers[1].offset, 64u);
  EXPECT_EQ(layout->headers[1].length, 24u);
  EXPECT_EQ(layout->upper_protocol, ip_proto::kEsp);
  EXPECT_EQ(layout->upper_offset, 64u);
  // The Destination Options header's Next Header octet named ESP: where ESP is undone.
  EXPECT_EQ(layout->upper_next_header_offset, 40u);
  EXPECT_EQ(layout->home_address, kHoa);
  EXPECT_EQ(verify_upper_checksum(v.bytes, *layout).error(),
            (WireError{WireErrc::kUnsupported, 64}));
}

TEST(Chain, NonFirstFragmentStopsAtItsData_RFC8200_4_5) {
  Vector v = load("fragment_not_first");
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  EXPECT_TRUE(layout->fragmented);
  EXPECT_FALSE(layout->first_fragment);
  EXPECT_TRUE(layout->more_fragments);
  EXPECT_FALSE(layout->upper_complete());
  EXPECT_EQ(layout->upper_protocol, ip_proto::kMobility);
  EXPECT_EQ(layout->upper_offset, 48u);
  EXPECT_EQ(layout->upper_length, 16u);
  // A piece of an MH cannot be checksummed on its own.
  EXPECT_EQ(verify_upper_checksum(v.bytes, *layout).error(),
            (WireError{WireErrc::kUnsupported, 48}));
}

Bytes packet_with(std::vector<ExtensionHeader> headers, std::uint8_t upper_protocol = 59,
                  Bytes upper = {}) {
  PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kHa;
  spec.extension_headers = std::move(headers);
  spec.upper_protocol = upper_protocol;
  spec.upper = std::move(upper);
  return build_packet(spec);
}

ExtensionHeader empty_destination_options() {
  return make_options_header(ip_proto::kDestinationOptions, {});
}

TEST(Chain, FirstFragmentWalksOnToTheUpperLayer_RFC7112) {
  FragmentHeader f;
  f.m_flag = true;
  Bytes p = packet_with({make_fragment_header(f)}, ip_proto::kUdp, Bytes(8));
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_TRUE(layout->first_fragment);
  EXPECT_FALSE(layout->upper_complete());
  EXPECT_EQ(layout->upper_protocol, ip_proto::kUdp);
  EXPECT_EQ(layout->upper_offset, 48u);
}

TEST(Chain, MoreHeadersThanTheLimitIsChainTooLong) {
  std::vector<ExtensionHeader> headers(9, empty_destination_options());
  auto layout = walk_chain(packet_with(headers));
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error(), (WireError{WireErrc::kChainTooLong, 40 + 8 * 8}));
  EXPECT_TRUE(
      walk_chain(packet_with(std::vector<ExtensionHeader>(8, empty_destination_options()))));
  ChainLimits tight;
  tight.max_headers = 2;
  auto limited =
      walk_chain(packet_with(std::vector<ExtensionHeader>(3, empty_destination_options())), tight);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error(), (WireError{WireErrc::kChainTooLong, 56}));
}

TEST(Chain, MoreExtensionBytesThanTheLimitIsChainTooLong) {
  std::vector<Ipv6Address> many(20, kHoa);  // a 328-octet type 0 routing header
  auto rh0 = make_type0_routing_header(many, 0);
  ChainLimits limits;
  limits.max_extension_bytes = 300;
  auto layout = walk_chain(packet_with({rh0}), limits);
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error(), (WireError{WireErrc::kChainTooLong, 40}));
  EXPECT_TRUE(walk_chain(packet_with({rh0})));
}

TEST(Chain, MoreOptionsThanTheLimitIsChainTooLong) {
  std::vector<OptionSpec> options(5, OptionSpec{0x1e, {}, std::nullopt});  // 2 octets each
  auto header = make_options_header(ip_proto::kDestinationOptions, options);
  ChainLimits limits;
  limits.max_options_per_header = 4;
  auto layout = walk_chain(packet_with({header}), limits);
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error(), (WireError{WireErrc::kChainTooLong, 42 + 4 * 2}));
}

TEST(Chain, LongPaddingRunIsChainTooLong_RFC8504_5_3) {
  // PadN with 6 data octets (8 octets of padding) in one 16-octet header.
  std::vector<OptionSpec> options{OptionSpec::padn(8), OptionSpec{0x1e, Bytes(4), std::nullopt}};
  auto header = make_options_header(ip_proto::kDestinationOptions, options, false);
  auto layout = walk_chain(packet_with({header}));
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error(), (WireError{WireErrc::kChainTooLong, 42}));
  // Seven octets of padding are still fine (the most any alignment needs).
  std::vector<OptionSpec> ok{OptionSpec::pad1(), OptionSpec::padn(6),
                             OptionSpec{0x1e, Bytes(5), std::nullopt}};
  EXPECT_TRUE(
      walk_chain(packet_with({make_options_header(ip_proto::kDestinationOptions, ok, false)})));
}

TEST(Chain, HopByHopFirstIsAccepted_RFC8200_4_1) {
  auto hbh = make_options_header(ip_proto::kHopByHop, {});
  auto layout = walk_chain(packet_with({hbh, empty_destination_options()}));
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->headers[0].type, ip_proto::kHopByHop);
  EXPECT_EQ(layout->header_count, 2u);
}

TEST(Chain, HomeAddressOptionBeforeRoutingHeaderIsBadOrder_6_3) {
  auto layout = walk_chain(
      packet_with({make_home_address_destination_options(kHoa), make_type2_routing_header(kHoa)}));
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error(), (WireError{WireErrc::kBadOrder, 64}));
}

TEST(Chain, HomeAddressOptionInHopByHopIsNotAHomeAddress) {
  OptionSpec hao = OptionSpec::home_address(kHoa);
  auto layout =
      walk_chain(packet_with({make_options_header(ip_proto::kHopByHop, std::span(&hao, 1))}));
  ASSERT_TRUE(layout);
  EXPECT_FALSE(layout->home_address);
}

TEST(Chain, HaoAndRoutingHeaderTogetherSelectBothPseudoHeaderAddresses) {
  Bytes p =
      packet_with({make_type2_routing_header(kHoa), make_home_address_destination_options(kCoa)});
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  auto a = pseudo_header_addresses(*layout);
  EXPECT_EQ(a.source, kCoa);
  EXPECT_EQ(a.destination, kHoa);
}

TEST(Chain, WithoutHaoOrRoutingThePseudoHeaderIsTheIpv6Header_RFC8200_8_1) {
  auto layout = walk_chain(packet_with({}));
  ASSERT_TRUE(layout);
  auto a = pseudo_header_addresses(*layout);
  EXPECT_EQ(a.source, kCoa);
  EXPECT_EQ(a.destination, kHa);
}

TEST(Chain, ErrorKeepsWhatWasFoundBefore) {
  Vector v = load("two_hao");
  PacketLayout layout;
  auto status = walk_chain_into(v.bytes, layout);
  ASSERT_FALSE(status);
  EXPECT_EQ(layout.header_count, 1u);
  EXPECT_EQ(layout.home_address, kHoa);
}

TEST(Chain, ChecksumFieldOffsets) {
  EXPECT_EQ(checksum_field_offset(ip_proto::kMobility), 4u);
  EXPECT_EQ(checksum_field_offset(ip_proto::kIcmpv6), 2u);
  EXPECT_EQ(checksum_field_offset(ip_proto::kUdp), 6u);
  EXPECT_EQ(checksum_field_offset(ip_proto::kTcp), 16u);
  EXPECT_FALSE(checksum_field_offset(ip_proto::kNoNextHeader));
}

TEST(Chain, CorruptedChecksumIsBadChecksumAtTheField) {
  Vector v = load("bu_with_hao");
  v.bytes[69] ^= std::byte{1};
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  EXPECT_EQ(verify_upper_checksum(v.bytes, *layout).error(),
            (WireError{WireErrc::kBadChecksum, 68}));
}

TEST(Chain, ZeroUdpChecksumIsInvalidOverIpv6_RFC8200_8_1) {
  Vector v = load("udp_with_hao");
  v.bytes[70] = v.bytes[71] = std::byte{0};
  auto layout = walk_chain(v.bytes);
  ASSERT_TRUE(layout);
  EXPECT_EQ(verify_upper_checksum(v.bytes, *layout).error(),
            (WireError{WireErrc::kBadChecksum, 70}));
}

TEST(Chain, UpperLayerTooShortForItsChecksumIsTruncated) {
  Bytes p = packet_with({}, ip_proto::kIcmpv6, Bytes(3));
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_EQ(verify_upper_checksum(p, *layout).error(), (WireError{WireErrc::kTruncated, 43}));
}

TEST(Chain, AuthenticationHeaderIsWalkedThrough_RFC4302) {
  Bytes icv(12);
  Bytes p = packet_with({make_authentication_header(1, 2, icv)}, ip_proto::kUdp, Bytes(8));
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->headers[0].type, ip_proto::kAuthentication);
  EXPECT_EQ(layout->headers[0].length, 24u);
  EXPECT_EQ(layout->upper_protocol, ip_proto::kUdp);
  EXPECT_EQ(layout->upper_offset, 64u);
}

}  // namespace
}  // namespace mipv6::wire

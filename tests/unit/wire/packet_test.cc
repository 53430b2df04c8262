#include "wire/packet.h"

#include <gtest/gtest.h>

#include "wire/checksum.h"
#include "wire/hex.h"

namespace mipv6::wire {
namespace {

const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCn = *Ipv6Address::parse("2001:db8:3::10");

// A Binding Refresh Request-sized MH with Payload Proto 59 and a zero checksum.
Bytes brr() {
  return *from_hex("3b00 0000 0000 0000");
}

PacketSpec spec_from(const Ipv6Address& src, const Ipv6Address& dst) {
  PacketSpec spec;
  spec.header.source = src;
  spec.header.destination = dst;
  spec.header.hop_limit = 17;
  spec.header.traffic_class = 0x20;
  spec.header.flow_label = 0xbeef;
  return spec;
}

TEST(Packet, BuilderChainsNextHeadersAndLengths_RFC8200_4) {
  PacketSpec spec = spec_from(kCoa, kHa);
  spec.extension_headers = {make_options_header(ip_proto::kHopByHop, {}),
                            make_home_address_destination_options(kHoa)};
  spec.upper_protocol = ip_proto::kMobility;
  spec.upper = brr();
  Bytes p = build_packet(spec);
  ASSERT_EQ(p.size(), 40u + 8 + 24 + 8);
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->ipv6.payload_length, 40);
  EXPECT_EQ(layout->ipv6.next_header, ip_proto::kHopByHop);
  EXPECT_EQ(layout->ipv6.hop_limit, 17);
  EXPECT_EQ(layout->ipv6.traffic_class, 0x20);
  EXPECT_EQ(layout->ipv6.flow_label, 0xbeefu);
  EXPECT_EQ(std::to_integer<int>(p[40]), ip_proto::kDestinationOptions);
  EXPECT_EQ(std::to_integer<int>(p[48]), ip_proto::kMobility);
  EXPECT_EQ(layout->upper_protocol, ip_proto::kMobility);
  EXPECT_EQ(layout->upper_offset, 72u);
  EXPECT_EQ(layout->home_address, kHoa);
  EXPECT_TRUE(verify_upper_checksum(p, *layout));
}

TEST(Packet, MhChecksumUsesHomeAddressAsSource_6_1_1) {
  PacketSpec spec = spec_from(kCoa, kHa);
  spec.extension_headers = {make_home_address_destination_options(kHoa)};
  spec.upper_protocol = ip_proto::kMobility;
  spec.upper = brr();
  Bytes p = build_packet(spec);
  Bytes mh(p.begin() + 64, p.end());
  std::uint16_t stored = load_be16(&mh[4]);
  mh[4] = mh[5] = std::byte{0};
  EXPECT_EQ(stored, upper_layer_checksum(kHoa, kHa, ip_proto::kMobility, mh));
  EXPECT_NE(stored, upper_layer_checksum(kCoa, kHa, ip_proto::kMobility, mh));
}

TEST(Packet, MhChecksumUsesType2AddressAsDestination_6_4) {
  PacketSpec spec = spec_from(kHa, kCoa);
  spec.extension_headers = {make_type2_routing_header(kHoa)};
  spec.upper_protocol = ip_proto::kMobility;
  spec.upper = brr();
  Bytes p = build_packet(spec);
  Bytes mh(p.begin() + 64, p.end());
  std::uint16_t stored = load_be16(&mh[4]);
  mh[4] = mh[5] = std::byte{0};
  EXPECT_EQ(stored, upper_layer_checksum(kHa, kHoa, ip_proto::kMobility, mh));
}

TEST(Packet, PinnedFieldsAreKeptVerbatim) {
  PacketSpec spec = spec_from(kCoa, kHa);
  auto dest = make_home_address_destination_options(kHoa);
  dest.bytes[0] = std::byte{17};
  dest.bytes[1] = std::byte{9};
  dest.pin_next_header = true;
  dest.pin_length = true;
  spec.extension_headers = {dest};
  spec.header.payload_length = 1000;
  spec.pin_payload_length = true;
  spec.header.next_header = 99;
  spec.pin_next_header = true;
  spec.upper_protocol = ip_proto::kMobility;
  spec.upper = brr();
  spec.upper[4] = std::byte{0x12};
  spec.compute_checksum = false;
  Bytes p = build_packet(spec);
  EXPECT_EQ(to_hex(ByteSpan(p).subspan(4, 3)), "03e863");
  EXPECT_EQ(to_hex(ByteSpan(p).subspan(40, 2)), "1109");
  EXPECT_EQ(to_hex(ByteSpan(p).subspan(68, 2)), "1200");
}

TEST(Packet, PinnedChecksumIsNotRecomputed) {
  PacketSpec spec = spec_from(kCoa, kHa);
  spec.upper_protocol = ip_proto::kIcmpv6;
  spec.upper = *from_hex("8000 1234 0001 0002");
  spec.compute_checksum = false;
  Bytes p = build_packet(spec);
  EXPECT_EQ(to_hex(ByteSpan(p).subspan(42, 2)), "1234");
}

TEST(Packet, ComputedUdpChecksumZeroIsSentAsAllOnes_RFC768) {
  // Choose UDP bytes whose checksum would be 0: compute once, then fold the result into the data.
  PacketSpec spec = spec_from(kCoa, kCn);
  spec.upper_protocol = ip_proto::kUdp;
  spec.upper = *from_hex("0001 0002 000c 0000 0000 0000");
  Bytes first = build_packet(spec);
  std::uint16_t sum = load_be16(&first[46]);
  // Adding the checksum value to the data makes the new one's-complement sum all ones.
  store_be16(&spec.upper[8], sum);
  Bytes p = build_packet(spec);
  EXPECT_EQ(to_hex(ByteSpan(p).subspan(46, 2)), "ffff");
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_TRUE(verify_upper_checksum(p, *layout));
}

TEST(Packet, RoundTripEveryHeaderKind) {
  PacketSpec spec = spec_from(kCn, kCoa);
  FragmentHeader f;
  f.identification = 42;
  std::vector<Ipv6Address> via{kHa};
  spec.extension_headers = {make_options_header(ip_proto::kHopByHop, {}),
                            make_type0_routing_header(via, 0),
                            make_type2_routing_header(kHoa),
                            make_home_address_destination_options(kCoa),
                            make_fragment_header(f),
                            make_authentication_header(7, 8, Bytes(12)),
                            make_esp_header(9, 10, Bytes(20))};
  Bytes p = build_packet(spec);
  auto layout = walk_chain(p);
  ASSERT_TRUE(layout) << to_string(layout.error().code) << " " << layout.error().offset;
  ASSERT_EQ(layout->header_count, 7u);
  const std::uint8_t kinds[] = {0, 43, 43, 60, 44, 51, 50};
  for (std::size_t i = 0; i < 7; ++i)
    EXPECT_EQ(layout->headers[i].type, kinds[i]) << i;
  EXPECT_EQ(layout->upper_protocol, ip_proto::kEsp);
  EXPECT_EQ(layout->type2_address, kHoa);
  EXPECT_EQ(layout->home_address, kCoa);
}

TEST(Packet, FillUpperChecksumReportsProtocolsWithoutOne) {
  PacketSpec spec = spec_from(kCoa, kCn);
  spec.upper_protocol = ip_proto::kNoNextHeader;
  Bytes p = build_packet(spec);
  EXPECT_EQ(fill_upper_checksum(p).error(), (WireError{WireErrc::kUnsupported, 40}));
}

TEST(Packet, EncapsulateAndDecapsulate_RFC2473_3) {
  PacketSpec inner_spec = spec_from(kCn, kHoa);
  inner_spec.upper_protocol = ip_proto::kIcmpv6;
  inner_spec.upper = *from_hex("8000 0000 0001 0002 6869");
  Bytes inner = build_packet(inner_spec);
  TunnelSpec tunnel{kHa, kCoa, 255, 0x10, 0x12345};
  Bytes outer = encapsulate(inner, tunnel);
  auto layout = walk_chain(outer);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->ipv6.next_header, ip_proto::kIpv6);
  EXPECT_EQ(layout->ipv6.payload_length, inner.size());
  EXPECT_EQ(layout->ipv6.hop_limit, 255);
  EXPECT_EQ(layout->ipv6.flow_label, 0x12345u);
  EXPECT_EQ(layout->ipv6.source, kHa);
  auto decapsulated = decapsulate(outer);
  ASSERT_TRUE(decapsulated);
  EXPECT_EQ(to_hex(*decapsulated), to_hex(inner));
}

TEST(Packet, NestedTunnelsDecapsulateOneLevelAtATime) {
  PacketSpec inner_spec = spec_from(kCn, kHoa);
  Bytes inner = build_packet(inner_spec);
  Bytes middle = encapsulate(inner, {kHa, kCoa});
  Bytes outer = encapsulate(middle, {kCoa, kHa});
  auto first = decapsulate(outer);
  ASSERT_TRUE(first);
  EXPECT_EQ(to_hex(*first), to_hex(middle));
  auto second = decapsulate(*first);
  ASSERT_TRUE(second);
  EXPECT_EQ(to_hex(*second), to_hex(inner));
  auto third = decapsulate(*second);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), (WireError{WireErrc::kBadValue, 6}));
}

TEST(Packet, DecapsulateThroughExtensionHeadersPointsAtTheNamingOctet) {
  PacketSpec spec = spec_from(kCoa, kHa);
  spec.extension_headers = {make_home_address_destination_options(kHoa)};
  spec.upper_protocol = ip_proto::kUdp;
  spec.upper = Bytes(8);
  auto result = decapsulate(build_packet(spec));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), (WireError{WireErrc::kBadValue, 40}));
}

TEST(Packet, DecapsulateFromAKnownLayoutAgreesWithTheWalk) {
  Bytes inner = build_packet(spec_from(kCn, kHoa));
  Bytes outer = encapsulate(inner, {kHa, kCoa});
  auto layout = walk_chain(outer);
  ASSERT_TRUE(layout);
  auto decapsulated = decapsulate(outer, *layout);
  ASSERT_TRUE(decapsulated);
  EXPECT_EQ(to_hex(*decapsulated), to_hex(inner));
  // Not IPv6-in-IPv6: the octet that names the upper layer is the error's offset.
  auto plain = walk_chain(inner);
  ASSERT_TRUE(plain);
  auto refused = decapsulate(inner, *plain);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (WireError{WireErrc::kBadValue, 6}));
}

TEST(Packet, DecapsulateReportsWalkErrors) {
  Bytes broken(39);
  auto result = decapsulate(broken);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), (WireError{WireErrc::kTruncated, 39}));
}

}  // namespace
}  // namespace mipv6::wire

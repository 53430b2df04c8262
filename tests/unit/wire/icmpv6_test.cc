#include "wire/icmpv6.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "wire/checksum.h"
#include "wire/hex.h"

namespace mipv6::wire {
namespace {

Bytes hex(std::string_view text) {
  return *from_hex(text);
}
Ipv6Address addr(std::string_view text) {
  return *Ipv6Address::parse(text);
}

Bytes encode(const Icmpv6Message& message) {
  Bytes out;
  encode_icmpv6(message, out);
  return out;
}

// Encodes, compares with the expected wire bytes, decodes them back and compares the structs.
void expect_round_trip(const Icmpv6Message& message, std::string_view wire) {
  EXPECT_EQ(to_hex(encode(message)), to_hex(hex(wire)));
  auto decoded = decode_icmpv6(hex(wire));
  ASSERT_TRUE(decoded) << to_string(decoded.error().code) << " @" << decoded.error().offset;
  EXPECT_EQ(*decoded, message);
}

void expect_error(std::string_view wire, WireErrc code, std::size_t offset) {
  auto decoded = decode_icmpv6(hex(wire));
  ASSERT_FALSE(decoded) << wire;
  EXPECT_EQ(decoded.error(), (WireError{code, offset}))
      << wire << ": got " << to_string(decoded.error().code) << " @" << decoded.error().offset;
}

PrefixInformationOption home_prefix_with_r() {
  PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = pio.a = pio.r = true;
  pio.valid_lifetime = 7200;
  pio.preferred_lifetime = 3600;
  pio.prefix = addr("2001:db8:1::1");
  return pio;
}
constexpr std::string_view kHomePrefixWithRWire =
    "0304 40e0 0000 1c20 0000 0e10 0000 0000 2001 0db8 0001 0000 0000 0000 0000 0001";

// --- Error messages (RFC 4443 §3) -----------------------------------------------------------

TEST(Icmpv6, DestinationUnreachableKeepsUnusedAndInvokingPacket_RFC4443_3_1) {
  expect_round_trip({3, 0xabcd, DestinationUnreachable{0x01020304, hex("600000000000")}},
                    "0103 abcd 0102 0304 6000 0000 0000");
}

TEST(Icmpv6, PacketTooBigMtu_RFC4443_3_2) {
  expect_round_trip({0, 0, PacketTooBig{1280, hex("60")}}, "0200 0000 0000 0500 60");
}

TEST(Icmpv6, TimeExceeded_RFC4443_3_3) {
  expect_round_trip({1, 0x1111, TimeExceeded{0xffffffff, {}}}, "0301 1111 ffff ffff");
}

TEST(Icmpv6, ParameterProblemPointer_RFC4443_3_4) {
  // RFC 6275 §9.2: Payload Proto wrong -> code 0 with the pointer at that MH field.
  expect_round_trip({0, 0, ParameterProblem{40, hex("6000000000083c40")}},
                    "0400 0000 0000 0028 6000 0000 0008 3c40");
}

TEST(Icmpv6, ErrorMessagesNeedTheir32BitField_RFC4443_3) {
  expect_error("0100 0000 0000", WireErrc::kTruncated, 4);
  expect_error("0200 0000", WireErrc::kTruncated, 4);
  expect_error("0300 0000 00", WireErrc::kTruncated, 4);
  expect_error("0400 0000 0000 00", WireErrc::kTruncated, 4);
}

TEST(Icmpv6, EchoRequestAndReply_RFC4443_4) {
  expect_round_trip({0, 0x5555, EchoRequest{{7, 9, hex("6d69707636")}}},
                    "8000 5555 0007 0009 6d69 7076 36");
  expect_round_trip({0, 0, EchoReply{{0xffff, 0xfffe, {}}}}, "8100 0000 ffff fffe");
  expect_error("8000 0000 0007", WireErrc::kTruncated, 6);
}

// --- Neighbor Discovery (RFC 4861 §4, RFC 6275 §7) ------------------------------------------

TEST(Icmpv6, RouterSolicitationWithSllao_RFC4861_4_1) {
  expect_round_trip(
      {0, 0, RouterSolicitation{0xdeadbeef, {{SourceLinkLayerAddressOption{hex("020000000001")}}}}},
      "8500 0000 dead beef 0101 0200 0000 0001");
  expect_error("8500 0000 0000", WireErrc::kTruncated, 4);
}

TEST(Icmpv6, RouterAdvertisementHBit_RFC6275_7_1) {
  auto decoded = decode_icmpv6(hex("8600 0000 4020 0001 0000 0000 0000 0000"));
  ASSERT_TRUE(decoded);
  const auto& ra = std::get<RouterAdvertisement>(decoded->body);
  EXPECT_TRUE(ra.h);
  EXPECT_FALSE(ra.m);
  EXPECT_FALSE(ra.o);
  EXPECT_EQ(ra.reserved, 0);
  EXPECT_EQ(ra.cur_hop_limit, 64);
  EXPECT_EQ(ra.router_lifetime, 1);
}

TEST(Icmpv6, RouterAdvertisementAllFlagsAndReservedBits_RFC4861_4_2) {
  RouterAdvertisement ra;
  ra.cur_hop_limit = 255;
  ra.m = ra.o = ra.h = true;
  ra.reserved = 0x1f;  // Prf, Proxy and the rest kept raw
  ra.router_lifetime = 9000;
  ra.reachable_time = 30000;
  ra.retrans_timer = 1000;
  ra.options = {{SourceLinkLayerAddressOption{hex("020000000001")}},
                {home_prefix_with_r()},
                {AdvertisementIntervalOption{0, 90}},
                {HomeAgentInformationOption{0x8000, 10, 1800}}};
  expect_round_trip({0, 0xa704, ra},
                    std::string("8600 a704 ffff 2328 0000 7530 0000 03e8 0101 0200 0000 0001") +
                        std::string(kHomePrefixWithRWire) +
                        "0701 0000 0000 005a 0801 8000 000a 0708");
}

TEST(Icmpv6, RouterAdvertisementShorterThan16IsTruncated_RFC4861_4_2) {
  expect_error("8600 0000 4000 0708 0000 0000", WireErrc::kTruncated, 12);
  expect_error("8600 0000 40", WireErrc::kTruncated, 5);
}

TEST(Icmpv6, RouterAdvertisementOptionErrorsCarryMessageOffsets_RFC4861_4_6) {
  expect_error("8600 0000 4000 0708 0000 0000 0000 0000 0100 0200 0000 0001", WireErrc::kBadLength,
               17);
  expect_error("8600 0000 4000 0708 0000 0000 0000 0000 0102 0200 0000 0001", WireErrc::kBadLength,
               17);
}

TEST(Icmpv6, NeighborSolicitation_RFC4861_4_3) {
  expect_round_trip({0, 0,
                     NeighborSolicitation{0x01020304,
                                          addr("2001:db8:1::1000"),
                                          {{SourceLinkLayerAddressOption{hex("020000000002")}}}}},
                    "8700 0000 0102 0304 2001 0db8 0001 0000 0000 0000 0000 1000 "
                    "0101 0200 0000 0002");
  expect_error("8700 0000 0000 0000 2001 0db8", WireErrc::kTruncated, 8);
}

TEST(Icmpv6, NeighborAdvertisementFlagsAndReserved_RFC4861_4_4) {
  NeighborAdvertisement na;
  na.r = true;
  na.s = false;
  na.o = true;
  na.reserved = 0x12345;
  na.target_address = addr("2001:db8:1::1000");
  na.options = {{TargetLinkLayerAddressOption{hex("020000000003")}}};
  expect_round_trip({0, 0, na},
                    "8800 0000 a001 2345 2001 0db8 0001 0000 0000 0000 0000 1000 "
                    "0201 0200 0000 0003");
  na.r = false;
  na.s = true;
  na.o = false;
  na.reserved = 0x1fffffff;
  na.options.clear();
  expect_round_trip({0, 0, na}, "8800 0000 5fff ffff 2001 0db8 0001 0000 0000 0000 0000 1000");
}

TEST(Icmpv6, Redirect_RFC4861_4_5) {
  expect_round_trip(
      {0, 0,
       Redirect{0,
                addr("fe80::1"),
                addr("2001:db8::5"),
                {{RedirectedHeaderOption{0, 0, hex("6000000000003b40")}}}}},
      "8900 0000 0000 0000 fe80 0000 0000 0000 0000 0000 0000 0001 "
      "2001 0db8 0000 0000 0000 0000 0000 0005 0402 0000 0000 0000 6000 0000 0000 3b40");
  expect_error("8900 0000 0000 0000 fe80 0000 0000 0000 0000 0000 0000 0001 2001 0db8",
               WireErrc::kTruncated, 24);
}

// --- Mobile IPv6 messages (RFC 6275 §6.5-§6.8) ---------------------------------------------

TEST(Icmpv6, DhaadRequestKeepsReservedRaw_RFC6275_6_5) {
  expect_round_trip({0, 0x1234, HomeAgentAddressDiscoveryRequest{0xbeef, 0x8001}},
                    "9000 1234 beef 8001");
}

TEST(Icmpv6, DhaadRequestErrors_RFC6275_6_5) {
  expect_error("9000 0000 beef", WireErrc::kTruncated, 6);
  expect_error("9000 0000 beef 0000 00", WireErrc::kTrailingBytes, 8);
}

TEST(Icmpv6, DhaadReplyAddressList_RFC6275_6_6) {
  expect_round_trip({0, 0,
                     HomeAgentAddressDiscoveryReply{
                         0xbeef, 0x7fff, {addr("2001:db8:1::1"), addr("2001:db8:1::2")}}},
                    "9100 0000 beef 7fff 2001 0db8 0001 0000 0000 0000 0000 0001 "
                    "2001 0db8 0001 0000 0000 0000 0000 0002");
  // No home agent known: an empty list is an 8-octet message.
  expect_round_trip({0, 0, HomeAgentAddressDiscoveryReply{1, 0, {}}}, "9100 0000 0001 0000");
}

TEST(Icmpv6, DhaadReplyWithPartialAddressIsBadLength_RFC6275_6_6) {
  expect_error("9100 0000 beef 0000 2001 0db8", WireErrc::kBadLength, 8);
  expect_error("9100 0000 beef 0000 2001 0db8 0001 0000 0000 0000 0000 0001 20",
               WireErrc::kBadLength, 24);
  expect_error("9100 0000 beef 00", WireErrc::kTruncated, 6);
}

TEST(Icmpv6, MobilePrefixSolicitation_RFC6275_6_7) {
  expect_round_trip({0, 0, MobilePrefixSolicitation{0xbeef, 0xffff, {}}}, "9200 0000 beef ffff");
  // "options MUST use the option format defined in Neighbor Discovery" — unknown ones kept.
  expect_round_trip(
      {0, 0, MobilePrefixSolicitation{1, 0, {{UnknownNdOption{99, hex("010200000000")}}}}},
      "9200 0000 0001 0000 6301 0102 0000 0000");
  expect_error("9200 0000 beef", WireErrc::kTruncated, 6);
  expect_error("9200 0000 beef 0000 6300 0000 0000 0000", WireErrc::kBadLength, 9);
}

TEST(Icmpv6, MobilePrefixAdvertisementFlags_RFC6275_6_8) {
  expect_round_trip({0, 0, MobilePrefixAdvertisement{0xbeef, true, true, 0x3fff, {}}},
                    "9300 0000 beef ffff");
  expect_round_trip(
      {0, 0, MobilePrefixAdvertisement{0xbeef, false, true, 0x1234, {{home_prefix_with_r()}}}},
      std::string("9300 0000 beef 5234 ") + std::string(kHomePrefixWithRWire));
  expect_round_trip({0, 0, MobilePrefixAdvertisement{1, true, false, 0, {}}},
                    "9300 0000 0001 8000");
}

TEST(Icmpv6, MobilePrefixAdvertisementErrors_RFC6275_6_8) {
  expect_error("9300 0000 beef", WireErrc::kTruncated, 6);
  expect_error(
      std::string("9300 0000 beef 0000 ") + std::string(kHomePrefixWithRWire).substr(0, 30),
      WireErrc::kBadLength, 9);
}

TEST(Icmpv6, UnknownTypeKeptRaw_RFC4443_2_4) {
  expect_round_trip({7, 0x1234, UnknownIcmpv6Body{200, hex("deadbeef01")}},
                    "c807 1234 dead beef 01");
  expect_round_trip({0, 0, UnknownIcmpv6Body{255, {}}}, "ff00 0000");
}

TEST(Icmpv6, HeaderShorterThanFourOctetsIsTruncated_RFC4443_2_1) {
  expect_error("", WireErrc::kTruncated, 0);
  expect_error("86", WireErrc::kTruncated, 1);
  expect_error("8600 00", WireErrc::kTruncated, 2);
}

TEST(Icmpv6, TypeFollowsTheBody) {
  EXPECT_EQ(icmpv6_type({0, 0, HomeAgentAddressDiscoveryRequest{}}), 144);
  EXPECT_EQ(icmpv6_type({0, 0, HomeAgentAddressDiscoveryReply{}}), 145);
  EXPECT_EQ(icmpv6_type({0, 0, MobilePrefixSolicitation{}}), 146);
  EXPECT_EQ(icmpv6_type({0, 0, MobilePrefixAdvertisement{}}), 147);
  EXPECT_EQ(icmpv6_type({0, 0, UnknownIcmpv6Body{42, {}}}), 42);
}

// --- Checksum (RFC 4443 §2.3) --------------------------------------------------------------

TEST(Icmpv6, ChecksumUsesNextHeader58_RFC4443_2_3) {
  auto src = addr("2001:db8::1");
  auto dst = addr("2001:db8::2");
  auto msg = encode({0, 0, EchoRequest{{1, 2, hex("6869")}}});
  EXPECT_EQ(icmpv6_checksum(src, dst, msg), upper_layer_checksum(src, dst, 58, msg));
  EXPECT_NE(icmpv6_checksum(src, dst, msg), upper_layer_checksum(src, dst, 135, msg));
  fill_icmpv6_checksum(src, dst, msg);
  EXPECT_EQ(icmpv6_checksum(src, dst, msg), 0);
  // Filling again (field no longer zero) gives the same value.
  auto again = msg;
  fill_icmpv6_checksum(src, dst, again);
  EXPECT_EQ(again, msg);
}

TEST(Icmpv6, MpsChecksumUsesHomeAddressAsSource_RFC6275_6_3) {
  // tests/vectors/icmpv6/mps_with_hao.hex was built by scapy with CoA -> HA and a HAO.
  auto hoa = addr("2001:db8:1::1000");
  auto coa = addr("2001:db8:99::5");
  auto ha = addr("2001:db8:1::1");
  auto msg = encode({0, 0, MobilePrefixSolicitation{0xbeef, 0, {}}});
  fill_icmpv6_checksum(hoa, ha, msg);
  EXPECT_EQ(icmpv6_checksum(hoa, ha, msg), 0);
  EXPECT_NE(icmpv6_checksum(coa, ha, msg), 0);
}

// --- Home-Agents anycast address (RFC 2526 §2, RFC 6275 §6.5) ------------------------------

TEST(Icmpv6, HomeAgentsAnycastForSlash64HasUBitZero_RFC2526_2) {
  auto a = home_agents_anycast(addr("2001:db8:1::"), 64);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "2001:db8:1:0:fdff:ffff:ffff:fffe");
  // Host bits of the given prefix are ignored.
  EXPECT_EQ(home_agents_anycast(addr("2001:db8:1::1234"), 64), a);
}

TEST(Icmpv6, HomeAgentsAnycastOtherLengthsAllOnesThenId126_RFC2526_2) {
  EXPECT_EQ(home_agents_anycast(addr("2001:db8:1::"), 48)->to_string(),
            "2001:db8:1:ffff:ffff:ffff:ffff:fffe");
  EXPECT_EQ(home_agents_anycast(addr("2001:db8:1:2:3:4:5:0"), 112)->to_string(),
            "2001:db8:1:2:3:4:5:fffe");
  // /120: the last octet is 1 followed by the 7-bit ID 1111110.
  EXPECT_EQ(home_agents_anycast(addr("2001:db8::ff00"), 120)->to_string(), "2001:db8::fffe");
  // /121: all 7 interface bits are the ID; the prefix's top bit of the last octet is kept.
  EXPECT_EQ(home_agents_anycast(addr("2001:db8::80"), 121)->to_string(), "2001:db8::fe");
  EXPECT_EQ(home_agents_anycast(addr("2001:db8::"), 121)->to_string(), "2001:db8::7e");
  // /65: only /64 uses the EUI-64 form; here bit 64 is the prefix's and the rest are ones.
  EXPECT_EQ(home_agents_anycast(addr("2001:db8:1::"), 65)->to_string(),
            "2001:db8:1:0:7fff:ffff:ffff:fffe");
  EXPECT_EQ(home_agents_anycast(addr("2001:db8:1:0:8000::"), 65)->to_string(),
            "2001:db8:1:0:ffff:ffff:ffff:fffe");
}

TEST(Icmpv6, HomeAgentsAnycastNeedsSevenInterfaceBits_RFC2526_2) {
  EXPECT_FALSE(home_agents_anycast(addr("2001:db8::"), 122));
  EXPECT_FALSE(home_agents_anycast(addr("2001:db8::"), 128));
}

// --- Hex vectors (tests/vectors/icmpv6/*.hex) ---------------------------------------------

struct Vector {
  std::string name;
  std::string text;
  std::string expect;         // "ok" or "<error name> <offset>"
  std::string pseudo_header;  // "src dst" when given
};

std::string header_value(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  std::string prefix = "# " + key + ":";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0) {
      auto value = line.substr(prefix.size());
      return value.substr(value.find_first_not_of(' '));
    }
  }
  return {};
}

std::vector<Vector> load_vectors() {
  std::vector<Vector> vectors;
  for (const auto& entry : std::filesystem::directory_iterator(MIPV6_VECTORS_DIR "/icmpv6")) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    Vector v{entry.path().filename().string(), text.str(), {}, {}};
    v.expect = header_value(v.text, "expect");
    v.pseudo_header = header_value(v.text, "pseudo-header");
    vectors.push_back(std::move(v));
  }
  return vectors;
}

void check_valid_vector(const Vector& v, const Bytes& bytes) {
  auto decoded = decode_icmpv6(bytes);
  ASSERT_TRUE(decoded) << v.name << ": " << to_string(decoded.error().code) << " @"
                       << decoded.error().offset;
  EXPECT_EQ(to_hex(encode(*decoded)), to_hex(bytes)) << v.name << ": re-encoding differs";
  if (v.pseudo_header.empty()) return;
  std::istringstream words(v.pseudo_header);
  std::string src, dst;
  words >> src >> dst;
  EXPECT_EQ(icmpv6_checksum(addr(src), addr(dst), bytes), 0) << v.name << ": checksum";
}

void check_broken_vector(const Vector& v, const Bytes& bytes) {
  std::istringstream words(v.expect);
  std::string code;
  std::size_t offset = 0;
  words >> code >> offset;
  ASSERT_TRUE(words) << v.name << ": bad '# expect:' line";
  auto decoded = decode_icmpv6(bytes);
  ASSERT_FALSE(decoded) << v.name << ": decoded but expected " << v.expect;
  EXPECT_EQ(to_string(decoded.error().code), code) << v.name;
  EXPECT_EQ(decoded.error().offset, offset) << v.name;
}

TEST(Icmpv6, HexVectorsDecodeAsTheirHeaderSays) {
  auto vectors = load_vectors();
  ASSERT_GE(vectors.size(), 20u) << "vectors missing from " MIPV6_VECTORS_DIR "/icmpv6";
  int valid = 0;
  for (const auto& v : vectors) {
    ASSERT_FALSE(v.expect.empty()) << v.name << ": no '# expect:' line";
    auto bytes = from_hex(v.text);
    ASSERT_TRUE(bytes) << v.name << ": not hex";
    if (v.expect == "ok") {
      ++valid;
      check_valid_vector(v, *bytes);
    } else {
      check_broken_vector(v, *bytes);
    }
  }
  EXPECT_GE(valid, 10);
}

TEST(Icmpv6, RadvdVectorFieldValues_RFC6275_7) {
  std::ifstream in(MIPV6_VECTORS_DIR "/icmpv6/ra_radvd_home_agent.hex");
  std::stringstream text;
  text << in.rdbuf();
  auto decoded = decode_icmpv6(*from_hex(text.str()));
  ASSERT_TRUE(decoded);
  const auto& ra = std::get<RouterAdvertisement>(decoded->body);
  EXPECT_TRUE(ra.h);
  EXPECT_EQ(ra.router_lifetime, 1);
  ASSERT_EQ(ra.options.size(), 4u);
  EXPECT_TRUE(std::get<PrefixInformationOption>(ra.options[1].body).r);
  EXPECT_EQ(std::get<PrefixInformationOption>(ra.options[1].body).prefix, addr("2001:db8:1::1"));
  EXPECT_EQ(std::get<AdvertisementIntervalOption>(ra.options[2].body).advertisement_interval, 90u);
  EXPECT_EQ(std::get<HomeAgentInformationOption>(ra.options[3].body),
            (HomeAgentInformationOption{0x8000, 10, 1800}));
}

}  // namespace
}  // namespace mipv6::wire

#include "wire/nd_options.h"

#include <gtest/gtest.h>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

Bytes hex(std::string_view text) {
  return *from_hex(text);
}

Bytes encode(const NdOption& option) {
  Bytes out;
  encode_nd_option(option, out);
  return out;
}

// Decodes `bytes` (placed at `base` in some message) and expects exactly one option.
NdOption decode_single(const Bytes& bytes, std::size_t base = 0) {
  auto options = decode_nd_options(bytes, base);
  EXPECT_TRUE(options) << to_string(options.error().code) << " @" << options.error().offset;
  if (!options || options->size() != 1) return {};
  return options->front();
}

void expect_round_trip(const NdOption& option, std::string_view wire) {
  EXPECT_EQ(to_hex(encode(option)), to_hex(hex(wire)));
  EXPECT_EQ(decode_single(hex(wire)), option);
}

TEST(NdOptions, HomeAgentInformationRadvdBytes_RFC6275_7_4) {
  // MIPV6-FACTS §11.3: radvd 2.19 with AdvMobRtrSupportFlag, preference 10, lifetime 1800.
  auto option = decode_single(hex("08 01 80 00 00 0a 07 08"));
  const auto* info = std::get_if<HomeAgentInformationOption>(&option.body);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->reserved, 0x8000);  // NEMO R bit kept raw
  EXPECT_EQ(info->home_agent_preference, 10);
  EXPECT_EQ(info->home_agent_lifetime, 1800);
  EXPECT_EQ(to_hex(encode(option)), "08018000000a0708");
}

TEST(NdOptions, HomeAgentInformationLargePreferenceRoundTrip_RFC6275_7_4) {
  expect_round_trip({HomeAgentInformationOption{0xffff, 0xfffe, 65535}, {}}, "0801 ffff fffe ffff");
}

TEST(NdOptions, AdvertisementInterval90ms_RFC6275_7_3) {
  // radvd with MaxRtrAdvInterval 0.07 s adds 20 ms (RFC 6275 §7.5): 90 ms on the wire.
  expect_round_trip({AdvertisementIntervalOption{0, 90}, {}}, "0701 0000 0000 005a");
  expect_round_trip({AdvertisementIntervalOption{0x1234, 0xfedcba98}, {}}, "0701 1234 fedc ba98");
}

TEST(NdOptions, PrefixInformationRBitWithFullRouterAddress_RFC6275_7_2) {
  PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = pio.a = pio.r = true;
  pio.reserved1 = 0x15;
  pio.valid_lifetime = 86400;
  pio.preferred_lifetime = 14400;
  pio.reserved2 = 0xa5a5a5a5;
  pio.prefix = *Ipv6Address::parse("2001:db8:1::1");
  expect_round_trip({pio, {}},
                    "0304 40f5 0001 5180 0000 3840 a5a5 a5a5 2001 0db8 0001 0000 0000 0000 0000 "
                    "0001");
}

TEST(NdOptions, PrefixInformationFlagsAreIndependentBits_RFC6275_7_2) {
  auto only_r =
      decode_single(hex("0304 4020 0000 0000 0000 0000 0000 0000" + std::string(32, '0')));
  const auto& pio = std::get<PrefixInformationOption>(only_r.body);
  EXPECT_FALSE(pio.l);
  EXPECT_FALSE(pio.a);
  EXPECT_TRUE(pio.r);
  EXPECT_EQ(pio.reserved1, 0);
}

TEST(NdOptions, LinkLayerAddressesRoundTrip_RFC4861_4_6_1) {
  expect_round_trip({SourceLinkLayerAddressOption{hex("020000000001")}, {}}, "0101 0200 0000 0001");
  expect_round_trip({TargetLinkLayerAddressOption{hex("0a0b0c0d0e0f")}, {}}, "0201 0a0b 0c0d 0e0f");
  // A 14-octet link-layer field (e.g. EUI-64 plus padding) is kept whole.
  expect_round_trip({SourceLinkLayerAddressOption{hex("0011223344556677 000000000000")}, {}},
                    "0102 0011 2233 4455 6677 0000 0000 0000");
}

TEST(NdOptions, EncoderPadsVariableDataToEightOctets_RFC4861_4_6) {
  auto bytes = encode({SourceLinkLayerAddressOption{hex("0011223344556677")}, {}});
  EXPECT_EQ(to_hex(bytes), "01020011223344556677000000000000");
}

TEST(NdOptions, MtuAndRedirectedHeaderRoundTrip_RFC4861_4_6_3_4) {
  expect_round_trip({MtuOption{0xbeef, 1280}, {}}, "0501 beef 0000 0500");
  expect_round_trip({RedirectedHeaderOption{0x0102, 0x03040506, hex("6000000000003b40")}, {}},
                    "0402 0102 0304 0506 6000 0000 0000 3b40");
}

TEST(NdOptions, UnknownOptionKeptRaw_RFC4861_4_6) {
  expect_round_trip({UnknownNdOption{200, hex("aabbccddeeff")}, {}}, "c801 aabb ccdd eeff");
}

TEST(NdOptions, ExplicitLengthIsWrittenVerbatim) {
  auto bytes = encode({MtuOption{0, 1280}, std::uint8_t{0}});
  EXPECT_EQ(to_hex(bytes), "0500000000000500");
}

TEST(NdOptions, SeveralOptionsInWireOrder) {
  auto options = decode_nd_options(hex("0101 0200 0000 0001 0701 0000 0000 005a"), 16);
  ASSERT_TRUE(options);
  ASSERT_EQ(options->size(), 2u);
  EXPECT_EQ(nd_option_type((*options)[0]), 1);
  EXPECT_EQ(nd_option_type((*options)[1]), 7);
  Bytes out;
  encode_nd_options(*options, out);
  EXPECT_EQ(to_hex(out), "0101020000000001070100000000005a");
}

void expect_error(std::string_view wire, std::size_t base, WireErrc code, std::size_t offset) {
  auto options = decode_nd_options(hex(wire), base);
  ASSERT_FALSE(options) << wire;
  EXPECT_EQ(options.error(), (WireError{code, offset}))
      << wire << ": got " << to_string(options.error().code) << " @" << options.error().offset;
}

TEST(NdOptions, LengthZeroIsBadLengthAtLengthByte_RFC4861_4_6) {
  expect_error("0100 0200 0000 0001", 16, WireErrc::kBadLength, 17);
  // After a valid option: the second one's Length byte.
  expect_error("0101 0200 0000 0001 c800 0000 0000 0000", 16, WireErrc::kBadLength, 25);
}

TEST(NdOptions, OptionOverrunningTheMessageIsBadLength_RFC4861_4_6) {
  expect_error("0102 0200 0000 0001", 8, WireErrc::kBadLength, 9);
  // Not a multiple of 8 either: 3 octets left for a Length-1 option.
  expect_error("0101 02", 8, WireErrc::kBadLength, 9);
}

TEST(NdOptions, MissingLengthByteIsTruncated_RFC4861_4_6) {
  expect_error("01", 24, WireErrc::kTruncated, 25);
}

TEST(NdOptions, FixedSizeOptionsWithWrongLengthAreBadLength) {
  expect_error("0303" + std::string(44, '0'), 0, WireErrc::kBadLength, 1);  // PIO needs 4
  expect_error("0502 0000 0000 0500 0000 0000 0000 0000", 0, WireErrc::kBadLength, 1);  // MTU
  expect_error("0702 0000 0000 005a 0000 0000 0000 0000", 0, WireErrc::kBadLength, 1);  // §7.3
  expect_error("0802 0000 000a 0708 0000 0000 0000 0000", 0, WireErrc::kBadLength, 1);  // §7.4
  // A longer variable option is fine (RFC 4861 §4.6.1 allows longer link-layer addresses).
  EXPECT_TRUE(decode_nd_options(hex("0102 0000 0000 0000 0000 0000 0000 0000"), 0));
}

TEST(NdOptions, EmptyDataDecodesToNoOptions) {
  auto options = decode_nd_options({}, 8);
  ASSERT_TRUE(options);
  EXPECT_TRUE(options->empty());
}

}  // namespace
}  // namespace mipv6::wire

#include "wire/extension_headers.h"

#include <gtest/gtest.h>

#include <vector>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
constexpr const char* kHoaHex = "20010db8000100000000000000000100";

Bytes hex(const std::string& text) {
  return *from_hex(text);
}

// Decodes `bytes` as if they started at absolute offset `base`.
// Decoded headers point into `bytes`, so a temporary buffer is refused.
template <class F>
auto decode_at(const Bytes& bytes, std::size_t base, F decoder) {
  Reader r(bytes, base);
  return decoder(r);
}
template <class F>
auto decode_at(Bytes&& bytes, std::size_t base, F decoder) = delete;

std::vector<TlvOption> all_options(const OptionsHeader& h, WireError* error = nullptr) {
  std::vector<TlvOption> out;
  OptionCursor cursor(h);
  while (!cursor.done()) {
    auto o = cursor.next();
    if (!o) {
      if (error) *error = o.error();
      break;
    }
    out.push_back(*o);
  }
  return out;
}

TEST(ExtensionHeaders, HomeAddressDestinationOptionsIsPadN2ThenHao_6_3) {
  auto h = make_home_address_destination_options(kHoa);
  EXPECT_EQ(h.type, ip_proto::kDestinationOptions);
  EXPECT_EQ(to_hex(h.bytes), std::string("3b0201020000c910") + kHoaHex);
}

TEST(ExtensionHeaders, OptionsHeaderFramingAndOptions_RFC8200_4_2) {
  Bytes b = hex("3b02 0102 0000 c910");
  Writer(b).address(kHoa);
  auto h = decode_at(b, 40, decode_options_header);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->next_header, 59);
  EXPECT_EQ(h->hdr_ext_len, 2);
  EXPECT_EQ(h->offset, 40u);
  auto options = all_options(*h);
  ASSERT_EQ(options.size(), 2u);
  EXPECT_EQ(options[0].option_type, option_type::kPadN);
  EXPECT_EQ(options[0].offset, 42u);
  EXPECT_EQ(options[0].size(), 4u);
  EXPECT_EQ(options[1].option_type, option_type::kHomeAddress);
  EXPECT_EQ(options[1].offset, 46u);
  EXPECT_TRUE(check_option(options[1], h->offset));
  EXPECT_EQ(home_address_of(options[1]), kHoa);
}

TEST(ExtensionHeaders, Pad1IsASingleOctet_RFC8200_4_2) {
  Bytes bytes = hex("3b00 0000 0102 0000");
  auto h = decode_at(bytes, 0, decode_options_header);
  ASSERT_TRUE(h);
  auto options = all_options(*h);
  ASSERT_EQ(options.size(), 3u);
  EXPECT_EQ(options[0].size(), 1u);
  EXPECT_EQ(options[1].size(), 1u);
  EXPECT_EQ(options[2].option_type, option_type::kPadN);
  EXPECT_EQ(options[2].length, 2);
}

TEST(ExtensionHeaders, HdrExtLenPastTheEndIsBadLengthAtTheLengthOctet) {
  Bytes bytes = hex("3b01 0104 0000 0000");
  auto h = decode_at(bytes, 40, decode_options_header);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kBadLength, 41}));
}

TEST(ExtensionHeaders, OneByteLeftIsTruncatedAtHeaderStart) {
  Bytes bytes = hex("3b");
  auto h = decode_at(bytes, 40, decode_options_header);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kTruncated, 40}));
}

TEST(ExtensionHeaders, OptionOverrunningHeaderIsBadLengthAtItsLength) {
  Bytes bytes = hex("3b00 0105 0000 0000");
  auto h = decode_at(bytes, 40, decode_options_header);
  ASSERT_TRUE(h);
  WireError error{};
  all_options(*h, &error);
  EXPECT_EQ(error, (WireError{WireErrc::kBadLength, 43}));
}

TEST(ExtensionHeaders, OptionTypeWithoutLengthOctetIsTruncated) {
  Bytes bytes = hex("3b00 0000 0000 00c9");
  auto h = decode_at(bytes, 40, decode_options_header);
  ASSERT_TRUE(h);
  WireError error{};
  all_options(*h, &error);
  EXPECT_EQ(error, (WireError{WireErrc::kTruncated, 47}));
}

TEST(ExtensionHeaders, HomeAddressOptionLengthMustBe16_6_3) {
  TlvOption o{option_type::kHomeAddress, 15, {}, 46};
  EXPECT_EQ(check_option(o, 40).error(), (WireError{WireErrc::kBadLength, 47}));
}

TEST(ExtensionHeaders, HomeAddressOptionMustBe8nPlus6_6_3) {
  Bytes data(16);
  TlvOption o{option_type::kHomeAddress, 16, data, 44};
  EXPECT_EQ(check_option(o, 40).error(), (WireError{WireErrc::kMisalignedOption, 44}));
  o.offset = 54;  // 8n+6 from a header at 40 with n = 1
  EXPECT_TRUE(check_option(o, 40));
}

TEST(ExtensionHeaders, UnknownOptionsAreKeptAndNotChecked) {
  TlvOption o{0x1e, 3, {}, 41};
  EXPECT_TRUE(check_option(o, 40));
}

TEST(ExtensionHeaders, AutoPadPlacesHaoAt8nPlus6AfterOtherOptions_6_3) {
  std::vector<OptionSpec> options{{0x1e, hex("aabbcc"), std::nullopt},
                                  OptionSpec::home_address(kHoa)};
  auto h = make_options_header(ip_proto::kHopByHop, options);
  // The unknown option fills 2..6; the HAO must start at 14 (8n+6), so PadN fills 7..13.
  ASSERT_EQ(h.bytes.size(), 32u);
  EXPECT_EQ(to_hex(ByteSpan(h.bytes).first(14)), "3b031e03aabbcc01050000000000");
  EXPECT_EQ(std::to_integer<int>(h.bytes[14]), 0xc9);
  auto decoded = decode_at(h.bytes, 0, decode_options_header);
  ASSERT_TRUE(decoded);
  for (const auto& o : all_options(*decoded))
    EXPECT_TRUE(check_option(o, 0));
}

TEST(ExtensionHeaders, AutoPadUsesPad1ForOneOctet) {
  std::vector<OptionSpec> options{{0x1e, hex("000000"), std::nullopt}};
  auto h = make_options_header(ip_proto::kDestinationOptions, options);
  EXPECT_EQ(to_hex(h.bytes), "3b001e0300000000");
}

TEST(ExtensionHeaders, WithoutAutoPadOptionsAreWrittenVerbatim) {
  std::vector<OptionSpec> options{OptionSpec::pad1(), OptionSpec::home_address(kHoa)};
  auto h = make_options_header(ip_proto::kDestinationOptions, options, false);
  EXPECT_EQ(h.bytes.size(), 2u + 1 + 18);
}

TEST(ExtensionHeaders, Type2RoutingHeaderLayout_6_4_1) {
  auto h = make_type2_routing_header(kHoa);
  EXPECT_EQ(to_hex(h.bytes), std::string("3b02020100000000") + kHoaHex);
  auto decoded = decode_at(h.bytes, 40, decode_routing_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->routing_type, 2);
  EXPECT_EQ(decoded->segments_left, 1);
  EXPECT_EQ(decoded->reserved, 0u);
  ASSERT_EQ(decoded->address_count(), 1u);
  EXPECT_EQ(decoded->address(0), kHoa);
  EXPECT_EQ(decoded->final_destination(), kHoa);
}

TEST(ExtensionHeaders, Type2WithSegmentsLeftZeroHasNoFinalDestination_RFC8200_8_1) {
  auto h = make_type2_routing_header(kHoa, 0, 0xdeadbeef);
  auto decoded = decode_at(h.bytes, 40, decode_routing_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->reserved, 0xdeadbeefu);  // Reserved is kept as received
  EXPECT_FALSE(decoded->final_destination());
}

TEST(ExtensionHeaders, Type2HdrExtLenMustBe2_6_4_1) {
  Bytes b = hex("3b04 0201 0000 0000");
  b.resize(40);
  auto decoded = decode_at(b, 40, decode_routing_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 41}));
}

TEST(ExtensionHeaders, Type0AddressesAndSegmentsLeft_RFC2460_4_4) {
  std::vector<Ipv6Address> addresses{*Ipv6Address::parse("2001:db8::a"),
                                     *Ipv6Address::parse("2001:db8::b")};
  auto h = make_type0_routing_header(addresses);
  EXPECT_EQ(h.bytes.size(), 40u);
  EXPECT_EQ(std::to_integer<int>(h.bytes[1]), 4);
  auto decoded = decode_at(h.bytes, 0, decode_routing_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->segments_left, 2);
  EXPECT_EQ(decoded->address_count(), 2u);
  EXPECT_EQ(decoded->final_destination(), addresses[1]);
}

TEST(ExtensionHeaders, Type0SegmentsLeftAboveAddressCountIsBadValue_RFC2460_4_4) {
  std::vector<Ipv6Address> addresses{kHoa};
  auto h = make_type0_routing_header(addresses, 2);
  auto decoded = decode_at(h.bytes, 40, decode_routing_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadValue, 43}));
}

TEST(ExtensionHeaders, Type0OddHdrExtLenIsBadLength) {
  Bytes b = hex("3b01 0000 0000 0000 0000 0000 0000 0000");
  auto decoded = decode_at(b, 40, decode_routing_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 41}));
}

TEST(ExtensionHeaders, OtherRoutingTypesAreKeptRaw) {
  auto h = make_routing_header(4, 3, hex("0102 0304"));
  auto decoded = decode_at(h.bytes, 0, decode_routing_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->routing_type, 4);
  EXPECT_EQ(to_hex(decoded->data), "01020304");
  EXPECT_FALSE(decoded->final_destination());
}

TEST(ExtensionHeaders, FragmentFields_RFC8200_4_5) {
  FragmentHeader f;
  f.next_header = 135;
  f.reserved = 0xaa;
  f.fragment_offset = 0x1234;
  f.res = 2;
  f.m_flag = true;
  f.identification = 0xcafef00d;
  auto h = make_fragment_header(f);
  EXPECT_EQ(to_hex(h.bytes), "87aa91a5cafef00d");
  auto decoded = decode_at(h.bytes, 40, decode_fragment_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->next_header, 135);
  EXPECT_EQ(decoded->reserved, 0xaa);
  EXPECT_EQ(decoded->fragment_offset, 0x1234);
  EXPECT_EQ(decoded->res, 2);
  EXPECT_TRUE(decoded->m_flag);
  EXPECT_EQ(decoded->identification, 0xcafef00du);
}

TEST(ExtensionHeaders, ShortFragmentHeaderIsTruncated) {
  Bytes bytes = hex("3b00 0000 0000 00");
  auto decoded = decode_at(bytes, 48, decode_fragment_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kTruncated, 48}));
}

TEST(ExtensionHeaders, AuthenticationHeaderLengthIn4OctetUnitsMinus2_RFC4302_2_2) {
  auto h = make_authentication_header(0x100, 7, hex("0001 0203 0405 0607 0809 0a0b"));
  EXPECT_EQ(to_hex(ByteSpan(h.bytes).first(12)),
            "3b04000000000100"
            "00000007");
  auto decoded = decode_at(h.bytes, 40, decode_authentication_header);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->payload_len, 4);
  EXPECT_EQ(decoded->size(), 24u);
  EXPECT_EQ(decoded->spi, 0x100u);
  EXPECT_EQ(decoded->sequence_number, 7u);
  EXPECT_EQ(to_hex(decoded->icv), "000102030405060708090a0b");
}

TEST(ExtensionHeaders, AuthenticationHeaderNotMultipleOf8IsBadLength_RFC4302_2_2) {
  // Payload Len 3 -> 20 octets, not a multiple of 8 as IPv6 requires.
  Bytes b = hex("3b03 0000 0000 0100 0000 0007 0000 0000 0000 0000");
  auto decoded = decode_at(b, 40, decode_authentication_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 41}));
}

TEST(ExtensionHeaders, AuthenticationHeaderPayloadLenZeroIsBadLength) {
  Bytes bytes = hex("3b00 0000 0000 0000");
  auto decoded = decode_at(bytes, 40, decode_authentication_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 41}));
}

TEST(ExtensionHeaders, EspTakesTheRestOpaque_RFC4303_2) {
  auto h = make_esp_header(0x1000, 5, hex("dead beef"));
  Reader r(h.bytes, 64);
  auto decoded = decode_esp_header(r);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->spi, 0x1000u);
  EXPECT_EQ(decoded->sequence_number, 5u);
  EXPECT_EQ(to_hex(decoded->data), "deadbeef");
  EXPECT_TRUE(r.empty());
}

TEST(ExtensionHeaders, EspShorterThanSpiAndSequenceIsTruncated) {
  Bytes bytes = hex("0000 1000 0000");
  auto decoded = decode_at(bytes, 64, decode_esp_header);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kTruncated, 64}));
}

}  // namespace
}  // namespace mipv6::wire

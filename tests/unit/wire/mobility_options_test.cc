#include "wire/mobility_options.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

Bytes hex(std::string_view text) {
  return *from_hex(text);
}
Ipv6Address addr(std::string_view text) {
  return *Ipv6Address::parse(text);
}

Bytes encode(const MobilityOption& option) {
  Bytes out;
  Writer w(out);
  encode_mobility_option(option, w);
  return out;
}

// Decodes `bytes` as if the option started at MH offset `at` (the reader's base offset).
Expected<MobilityOption> decode_at(const Bytes& bytes, std::size_t at, bool check_alignment) {
  Reader r(bytes, at);
  auto option = decode_mobility_option(r, check_alignment);
  if (option && !r.empty()) return WireError{WireErrc::kTrailingBytes, r.offset()};
  return option;
}

struct Case {
  std::string name;
  MobilityOption option;
  std::string wire;  // hex
  std::size_t aligned_at;
};

std::vector<Case> every_option() {
  return {
      {"pad1", Pad1{}, "00", 3},
      {"padn", PadN{hex("000000")}, "0103000000", 5},
      {"padn_nonzero_kept", PadN{hex("ab")}, "0101ab", 1},
      {"bra", BindingRefreshAdvice{0xbeef}, "0202beef", 12},
      {"altcoa", AlternateCareOfAddress{addr("2001:db8:2::64")},
       "0310 20010db8000200000000000000000064", 14},
      {"ni", NonceIndices{0x1234, 0xfedc}, "0404 1234fedc", 12},
      {"bad", BindingAuthorizationData{hex("00112233445566778899aabb")},
       "050c 00112233445566778899aabb", 18},
      {"mnid", MobileNodeIdentifier{kMnIdSubtypeNai, hex("6d6e406578616d706c65")},
       "080b 01 6d6e406578616d706c65", 13},
      {"auth", MobilityMessageAuthentication{kMobilityAuthSubtypeMnAaa, 0x01020304, hex("a1a2a3")},
       "0908 02 01020304 a1a2a3", 13},
      {"replay", MobilityMessageReplayProtection{0xe8f1a2b380000001}, "0a08 e8f1a2b380000001", 26},
      {"unknown", UnknownMobilityOption{0x63, hex("abcd")}, "6302abcd", 7},
      {"unknown_empty", UnknownMobilityOption{200, {}}, "c800", 7},
  };
}

TEST(MobilityOptions, EveryOptionEncodesToItsRfcLayout_6_2) {
  for (const auto& c : every_option()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_hex(encode(c.option)), to_hex(hex(c.wire)));
    EXPECT_EQ(encoded_size(c.option), hex(c.wire).size());
  }
}

TEST(MobilityOptions, EveryOptionDecodesBackToTheSameValue_6_2) {
  for (const auto& c : every_option()) {
    SCOPED_TRACE(c.name);
    auto decoded = decode_at(hex(c.wire), c.aligned_at, true);
    ASSERT_TRUE(decoded) << to_string(decoded.error().code) << " @" << decoded.error().offset;
    EXPECT_EQ(*decoded, c.option);
  }
}

TEST(MobilityOptions, OptionLengthCountsOnlyTheData_6_2_1) {
  EXPECT_EQ(option_data_length(AlternateCareOfAddress{}), 16u);
  EXPECT_EQ(option_data_length(NonceIndices{}), 4u);
  EXPECT_EQ(option_data_length(BindingRefreshAdvice{}), 2u);
  EXPECT_EQ(option_data_length(MobilityMessageReplayProtection{}), 8u);
  EXPECT_EQ(option_data_length(BindingAuthorizationData{Bytes(12)}), 12u);
  // RFC 4285 §5: 17 for a 96-bit MAC (Subtype + SPI + 12).
  EXPECT_EQ(option_data_length(MobilityMessageAuthentication{1, 0, Bytes(12)}), 17u);
  EXPECT_EQ(option_data_length(MobileNodeIdentifier{1, Bytes(9)}), 10u);
  EXPECT_EQ(option_data_length(Pad1{}), 0u);
  EXPECT_EQ(encoded_size(Pad1{}), 1u);
}

TEST(MobilityOptions, AlignmentRulesAreTheRfcs_6_2_1) {
  auto rule = [](const MobilityOption& o) {
    auto a = mobility_option_alignment(o);
    return std::pair<int, int>{a.x, a.y};
  };
  EXPECT_EQ(rule(BindingRefreshAdvice{}), (std::pair{2, 0}));             // §6.2.4
  EXPECT_EQ(rule(AlternateCareOfAddress{}), (std::pair{8, 6}));           // §6.2.5
  EXPECT_EQ(rule(NonceIndices{}), (std::pair{2, 0}));                     // §6.2.6
  EXPECT_EQ(rule(BindingAuthorizationData{}), (std::pair{1, 0}));         // §6.2.7
  EXPECT_EQ(rule(MobilityMessageAuthentication{}), (std::pair{4, 1}));    // RFC 4285 §5
  EXPECT_EQ(rule(MobilityMessageReplayProtection{}), (std::pair{8, 2}));  // RFC 4285 §6
  EXPECT_EQ(rule(MobileNodeIdentifier{}), (std::pair{1, 0}));
  EXPECT_EQ(rule(Pad1{}), (std::pair{1, 0}));
  EXPECT_EQ(rule(PadN{}), (std::pair{1, 0}));
  // Kept raw, so it is emitted wherever it stands, even with a known type number.
  EXPECT_EQ(rule(UnknownMobilityOption{3, {}}), (std::pair{1, 0}));
}

struct Misaligned {
  std::string name;
  std::string wire;
  std::size_t at;
};

TEST(MobilityOptions, MisalignedOptionIsRejectedAtItsFirstOctet_6_2_1) {
  const std::vector<Misaligned> cases = {
      {"bra_odd", "0202beef", 13},
      {"altcoa_8n", "0310 20010db8000200000000000000000064", 16},
      {"altcoa_8n+2", "0310 20010db8000200000000000000000064", 10},
      {"ni_odd", "0404 1234fedc", 17},
      {"auth_4n", "0908 02 01020304 a1a2a3", 12},
      {"auth_4n+3", "0908 02 01020304 a1a2a3", 15},
      {"replay_8n+6", "0a08 e8f1a2b380000001", 30},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto strict = decode_at(hex(c.wire), c.at, true);
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error(), (WireError{WireErrc::kMisalignedOption, c.at}));
    // The relaxed policy decodes them.
    EXPECT_TRUE(decode_at(hex(c.wire), c.at, false));
  }
}

TEST(MobilityOptions, OptionsWithoutAlignmentDecodeAnywhere_6_2_2) {
  for (std::size_t at = 6; at < 14; ++at) {
    SCOPED_TRACE(at);
    EXPECT_TRUE(decode_at(hex("00"), at, true));
    EXPECT_TRUE(decode_at(hex("0100"), at, true));
    EXPECT_TRUE(decode_at(hex("050400112233"), at, true));
    EXPECT_TRUE(decode_at(hex("08020161"), at, true));
    EXPECT_TRUE(decode_at(hex("ee00"), at, true));
  }
}

struct BadLength {
  std::string name;
  std::string wire;
  std::size_t at;
};

TEST(MobilityOptions, FixedSizeOptionWithAnotherLengthIsBadLengthAtTheLengthOctet_6_2) {
  const std::vector<BadLength> cases = {
      {"bra_3", "0203 beefaa", 12},                                    // §6.2.4: Length = 2
      {"bra_0", "0200", 12},                                           // §6.2.4
      {"altcoa_15", "030f 20010db80002000000000000000000", 14},        // §6.2.5: Length = 16
      {"ni_16_scapy", "0410 1234fedc 0000000000000000 00000000", 12},  // §6.2.6: Length = 4
      {"ni_2", "0402 1234", 12},
      {"replay_7", "0a07 e8f1a2b3800000", 26},  // RFC 4285 §6: Length = 8
      {"mnid_0", "0800", 12},                   // RFC 4283 §3: at least the Subtype
      {"auth_4", "0904 02010203", 13},          // RFC 4285 §5: at least Subtype + SPI
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto decoded = decode_at(hex(c.wire), c.at, true);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, c.at + 1}));
  }
}

TEST(MobilityOptions, LengthCheckComesBeforeAlignment_6_2) {
  // A wrong length is the more basic fault: report it even when the option is also misaligned.
  auto decoded = decode_at(hex("0203 beefaa"), 13, true);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 14}));
}

TEST(MobilityOptions, OptionRunningPastTheEndIsBadLength_6_2_1) {
  auto decoded = decode_at(hex("0105 0000"), 20, true);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 21}));
  // The same for a fixed-size option cut short by the end of the MH.
  decoded = decode_at(hex("0310 20010db8"), 14, true);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kBadLength, 15}));
}

TEST(MobilityOptions, MissingLengthOctetIsTruncated_6_2_1) {
  auto decoded = decode_at(hex("01"), 15, true);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kTruncated, 16}));
  decoded = decode_at(Bytes{}, 9, true);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), (WireError{WireErrc::kTruncated, 9}));
}

TEST(MobilityOptions, MakePaddingUsesPad1ForOneOctetAndPadNOtherwise_6_2_2_6_2_3) {
  EXPECT_EQ(make_padding(1), MobilityOption{Pad1{}});
  EXPECT_EQ(to_hex(encode(make_padding(2))), "0100");
  EXPECT_EQ(to_hex(encode(make_padding(7))), "01050000000000");
  for (std::size_t n = 1; n < 16; ++n)
    EXPECT_EQ(encoded_size(make_padding(n)), n);
}

TEST(MobilityOptions, TypeNumbersAreTheIanaOnes_6_2) {
  EXPECT_EQ(mobility_option_type(Pad1{}), 0);
  EXPECT_EQ(mobility_option_type(PadN{}), 1);
  EXPECT_EQ(mobility_option_type(BindingRefreshAdvice{}), 2);
  EXPECT_EQ(mobility_option_type(AlternateCareOfAddress{}), 3);
  EXPECT_EQ(mobility_option_type(NonceIndices{}), 4);
  EXPECT_EQ(mobility_option_type(BindingAuthorizationData{}), 5);
  EXPECT_EQ(mobility_option_type(MobileNodeIdentifier{}), 8);
  EXPECT_EQ(mobility_option_type(MobilityMessageAuthentication{}), 9);
  EXPECT_EQ(mobility_option_type(MobilityMessageReplayProtection{}), 10);
  EXPECT_EQ(mobility_option_type(UnknownMobilityOption{77, {}}), 77);
  EXPECT_TRUE(is_padding(Pad1{}));
  EXPECT_TRUE(is_padding(PadN{}));
  EXPECT_FALSE(is_padding(UnknownMobilityOption{}));
}

}  // namespace
}  // namespace mipv6::wire

#include "wire/mobility.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "wire/checksum.h"
#include "wire/hex.h"

namespace mipv6::wire {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes) << text;
  return bytes.value_or(Bytes{});
}
Ipv6Address addr(std::string_view text) {
  return *Ipv6Address::parse(text);
}

Bytes encode(const MobilityHeader& mh, const MhEncodeOptions& options = {}) {
  Bytes out;
  auto status = encode_mobility_header(mh, out, options);
  EXPECT_TRUE(status) << to_string(status.error().code) << " @" << status.error().offset;
  return out;
}

MobilityHeader header(MobilityMessage message, std::vector<MobilityOption> options = {}) {
  MobilityHeader mh;
  mh.message = std::move(message);
  mh.options = std::move(options);
  return mh;
}

std::vector<MobilityOption> without_padding(const std::vector<MobilityOption>& options) {
  std::vector<MobilityOption> out;
  for (const auto& o : options) {
    if (!is_padding(o)) out.push_back(o);
  }
  return out;
}

// Option start offsets (from the MH start) of a decoded header.
std::vector<std::size_t> option_offsets(const MobilityHeader& mh) {
  std::vector<std::size_t> offsets;
  std::size_t pos = fixed_part_end(mh.message);
  for (const auto& o : mh.options) {
    offsets.push_back(pos);
    pos += encoded_size(o);
  }
  return offsets;
}

void expect_error(ByteSpan bytes, WireErrc code, std::size_t offset) {
  auto decoded = decode_mobility_header(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(to_string(decoded.error().code), to_string(code));
  EXPECT_EQ(decoded.error().offset, offset);
}

// --- round trips ----------------------------------------------------------------------------

struct RoundTrip {
  std::string name;
  MobilityHeader mh;
};

std::vector<RoundTrip> every_message() {
  BindingUpdate bu{0xfedc, 0xffff, 0xabcd};  // every flag and reserved bit set
  BindingAcknowledgement ba{kBaStatusInvalidCareOfAddress, 0xff, 0x8001, 0x7fff};
  return {
      {"brr", header(BindingRefreshRequest{0xbeef})},
      {"hoti", header(HomeTestInit{0x1234, 0x0102030405060708})},
      {"coti", header(CareOfTestInit{0x4321, 0xf1f2f3f4f5f6f7f8})},
      {"hot", header(HomeTest{0xaaaa, 0x0102030405060708, 0xa1a2a3a4a5a6a7a8})},
      {"cot", header(CareOfTest{0xbbbb, 0x1112131415161718, 0xb1b2b3b4b5b6b7b8})},
      {"bu", header(bu, {AlternateCareOfAddress{addr("2001:db8:2::64")}})},
      {"bu_cn",
       header(BindingUpdate{7, 0, 105},
              {NonceIndices{3, 4}, BindingAuthorizationData{hex("00112233445566778899aabb")}})},
      {"ba", header(ba, {BindingRefreshAdvice{0x0102},
                         BindingAuthorizationData{hex("0102030405060708090a0b0c")}})},
      {"be", header(BindingError{kBeStatusUnrecognizedMhType, 0x5a, addr("2001:db8:1::100")})},
      {"unknown_type", header(UnknownMobilityMessage{200, hex("00112233445566778899")})},
      {"rfc4285",
       header(BindingUpdate{9, kBuFlagA | kBuFlagH, 1},
              {MobileNodeIdentifier{kMnIdSubtypeNai, hex("6d6e406578616d706c652e6e6574")},
               MobilityMessageReplayProtection{0xe8f1a2b380000000},
               MobilityMessageAuthentication{kMobilityAuthSubtypeMnHa, 0x100,
                                             hex("00112233445566778899aabb")}})},
      {"unknown_options", header(BindingRefreshRequest{}, {UnknownMobilityOption{0x63, hex("ab")},
                                                           UnknownMobilityOption{0xff, {}}})},
  };
}

TEST(Mobility, EveryMessageRoundTripsWithNonDefaultFields_6_1) {
  for (auto c : every_message()) {
    SCOPED_TRACE(c.name);
    c.mh.reserved = 0xa5;
    c.mh.checksum = 0x1234;
    Bytes bytes = encode(c.mh);
    ASSERT_EQ(bytes.size() % 8, 0u);  // §6.1.1
    EXPECT_EQ(bytes[1], std::byte(bytes.size() / 8 - 1));
    auto decoded = decode_mobility_header(bytes);
    ASSERT_TRUE(decoded) << to_string(decoded.error().code) << " @" << decoded.error().offset;
    EXPECT_EQ(decoded->message, c.mh.message);
    EXPECT_EQ(without_padding(decoded->options), c.mh.options);
    EXPECT_EQ(decoded->reserved, 0xa5);
    EXPECT_EQ(decoded->checksum, 0x1234);
    EXPECT_EQ(decoded->payload_proto, kIpProtoNone);
    EXPECT_EQ(decoded->mh_type(), c.mh.mh_type());
    // Decode -> encode without auto-padding reproduces the bytes exactly.
    EXPECT_EQ(to_hex(encode(*decoded, MhEncodeOptions::verbatim())), to_hex(bytes));
  }
}

TEST(Mobility, BuFlagAccessorsMapTheRfcBits_6_1_7) {
  BindingUpdate bu;
  bu.set_flag(kBuFlagA, true);
  bu.set_flag(kBuFlagK, true);
  EXPECT_EQ(bu.flags, 0x9000);
  EXPECT_TRUE(bu.a());
  EXPECT_FALSE(bu.h());
  EXPECT_FALSE(bu.l());
  EXPECT_TRUE(bu.k());
  bu.flags = 0x6abc;
  EXPECT_TRUE(bu.h());
  EXPECT_TRUE(bu.l());
  EXPECT_EQ(bu.reserved(), 0x0abc);
  bu.set_flag(kBuFlagH, false);
  EXPECT_EQ(bu.flags, 0x2abc);
  bu.lifetime = 65535;
  EXPECT_EQ(bu.lifetime_seconds(), 262140u);  // §6.1.7: 4-second units
}

TEST(Mobility, BaKFlagAndReservedBitsAreKept_6_1_8) {
  auto bytes = hex("3b01 0600 0000 80 7f 0001 0002 0100 0000");
  // Byte 7 is 0x7f: K=0 and every reserved bit set.
  auto decoded = decode_mobility_header(bytes);
  ASSERT_TRUE(decoded);
  const auto* ba = find_message<BindingAcknowledgement>(*decoded);
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, 128);
  EXPECT_FALSE(ba->accepted());
  EXPECT_FALSE(ba->k());
  EXPECT_EQ(ba->reserved(), 0x7f);
  EXPECT_EQ(ba->lifetime_seconds(), 8u);
  EXPECT_EQ(to_hex(encode(*decoded, MhEncodeOptions::verbatim())), to_hex(bytes));
  BindingAcknowledgement k;
  k.set_k(true);
  EXPECT_EQ(k.flags, 0x80);
  EXPECT_TRUE(k.accepted());
}

// --- exact layouts ----------------------------------------------------------------------------

TEST(Mobility, BuToHomeAgentWithAltCoaHasPadN2At12AndAltCoaAt14_6_2_5) {
  auto mh = header(BindingUpdate{0x1234, kBuFlagA | kBuFlagH, 150},
                   {AlternateCareOfAddress{addr("2001:db8:2::64")}});
  EXPECT_EQ(to_hex(encode(mh)),
            "3b0305000000"
            "1234c0000096"
            "0100"
            "031020010db8000200000000000000000064");
}

TEST(Mobility, BuToCorrespondentHasNonceIndicesAt12AndAuthDataAt18_6_2_7) {
  auto mh = header(BindingUpdate{0x0101, 0, 105},
                   {NonceIndices{3, 4}, BindingAuthorizationData{hex("00112233445566778899aabb")}});
  EXPECT_EQ(to_hex(encode(mh)),
            "3b0305000000"
            "010100000069"
            "040400030004"
            "050c00112233445566778899aabb");
}

TEST(Mobility, BuWithoutOptionsIsPaddedWith4OctetsToHeaderLen1_6_1_7) {
  EXPECT_EQ(to_hex(encode(header(BindingUpdate{1, kBuFlagA, 2}))),
            "3b0105000000"
            "000180000002"
            "01020000");
  EXPECT_EQ(to_hex(encode(header(BindingRefreshRequest{}))),
            "3b0000000000"
            "0000");
  EXPECT_EQ(to_hex(encode(header(BindingError{2, 0, {}}))).size(), 48u);
}

// --- auto-padding -----------------------------------------------------------------------------

TEST(Mobility, AutoPaddingAlignsEveryOptionInEveryPosition_6_2_1) {
  const std::vector<MobilityOption> aligned = {
      BindingRefreshAdvice{1}, AlternateCareOfAddress{addr("2001:db8::1")}, NonceIndices{1, 2},
      MobilityMessageAuthentication{1, 7, hex("0102")}, MobilityMessageReplayProtection{5}};
  const std::vector<MobilityMessage> messages = {BindingRefreshRequest{}, HomeTestInit{},
                                                 BindingUpdate{}, BindingError{}};
  for (const auto& message : messages) {
    for (std::size_t filler = 0; filler < 12; ++filler) {
      for (const auto& option : aligned) {
        // An unknown option of varying size (no alignment) shifts the aligned one; another
        // unknown option after it keeps the aligned one from being last.
        auto mh = header(message, {UnknownMobilityOption{0x63, Bytes(filler)}, option,
                                   UnknownMobilityOption{0x64, {}}});
        SCOPED_TRACE(::testing::Message() << "type " << int(mh.mh_type()) << " filler " << filler
                                          << " option " << int(mobility_option_type(option)));
        Bytes bytes = encode(mh);
        EXPECT_EQ(bytes.size() % 8, 0u);
        auto decoded = decode_mobility_header(bytes);  // strict alignment
        ASSERT_TRUE(decoded) << to_string(decoded.error().code) << " @" << decoded.error().offset;
        EXPECT_EQ(without_padding(decoded->options), mh.options);
        // Padding is minimal: each gap is shorter than the alignment modulus.
        auto offsets = option_offsets(*decoded);
        for (std::size_t i = 0; i < decoded->options.size(); ++i) {
          if (is_padding(decoded->options[i])) {
            EXPECT_LT(encoded_size(decoded->options[i]), 8u);
          }
          EXPECT_TRUE(mobility_option_alignment(decoded->options[i]).holds_at(offsets[i]));
        }
      }
    }
  }
}

TEST(Mobility, AutoPaddingPutsAuthDataLastAt8nPlus2WithNoPaddingAfter_6_2_7) {
  for (std::size_t filler = 0; filler < 10; ++filler) {
    SCOPED_TRACE(filler);
    // Given in the "wrong" place and with stray padding: the encoder drops the padding and
    // still ends the message with the authorization data.
    auto mh = header(BindingUpdate{1, 0, 1},
                     {PadN{Bytes(3)}, UnknownMobilityOption{0x63, Bytes(filler)},
                      NonceIndices{1, 2}, BindingAuthorizationData{Bytes(12, std::byte{0xaa})}});
    Bytes bytes = encode(mh);
    auto decoded = decode_mobility_header(bytes);
    ASSERT_TRUE(decoded);
    ASSERT_TRUE(std::holds_alternative<BindingAuthorizationData>(decoded->options.back()));
    EXPECT_EQ(option_offsets(*decoded).back() % 8, 2u);
    EXPECT_EQ(option_offsets(*decoded).back() + 14, bytes.size());
  }
}

TEST(Mobility, AutoPaddingEndsTheMessageWithARfc4285AuthOptionWhenLast_RFC4285_5) {
  for (std::size_t filler = 0; filler < 10; ++filler) {
    SCOPED_TRACE(filler);
    auto mh = header(BindingUpdate{1, 0, 1},
                     {UnknownMobilityOption{0x63, Bytes(filler)},
                      MobilityMessageAuthentication{1, 256, Bytes(12, std::byte{0xbb})}});
    Bytes bytes = encode(mh);
    auto decoded = decode_mobility_header(bytes);
    ASSERT_TRUE(decoded);
    ASSERT_TRUE(std::holds_alternative<MobilityMessageAuthentication>(decoded->options.back()));
    EXPECT_EQ(option_offsets(*decoded).back() % 8, 5u);  // 4n+1 and ending on 8n
    EXPECT_EQ(option_offsets(*decoded).back() + 19, bytes.size());
  }
}

TEST(Mobility, AutoPaddingReproducesTheRfc4285Vector_RFC4285_5) {
  auto mh = header(BindingUpdate{2, kBuFlagA, 16},
                   {MobileNodeIdentifier{kMnIdSubtypeNai, hex("6d6e4078")},
                    MobilityMessageReplayProtection{0xe8f1a2b380000000},
                    MobilityMessageAuthentication{kMobilityAuthSubtypeMnHa, 256,
                                                  hex("00112233445566778899aabb")}});
  std::ifstream file(std::string(MIPV6_VECTORS_DIR) + "/mobility/bu_rfc4285_auth.hex");
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(to_hex(encode(mh)), to_hex(hex(text.str())));
}

TEST(Mobility, EncodeCountsAlignmentFromTheMhStartNotTheBuffer_6_2_1) {
  auto mh = header(BindingUpdate{1, 0, 1}, {AlternateCareOfAddress{addr("2001:db8::1")}});
  Bytes alone = encode(mh);
  Bytes out = hex("aabbcc");  // e.g. earlier headers of odd length
  ASSERT_TRUE(encode_mobility_header(mh, out));
  EXPECT_EQ(to_hex(ByteSpan(out).subspan(3)), to_hex(alone));
  EXPECT_EQ(to_hex(ByteSpan(out).first(3)), "aabbcc");
}

TEST(Mobility, WithoutAutoPadOptionsAndHeaderLenAreVerbatim_6_1_1) {
  auto mh = header(BindingUpdate{1, 0, 1}, {AlternateCareOfAddress{addr("2001:db8::1")}});
  // Misaligned on purpose, no padding at all: 12 + 18 = 30 octets, Header Len rounds up to 3.
  Bytes bytes = encode(mh, MhEncodeOptions::verbatim());
  EXPECT_EQ(bytes.size(), 30u);
  EXPECT_EQ(bytes[1], std::byte{3});
  bytes = encode(mh, {.auto_pad = false, .header_len = 9});
  EXPECT_EQ(bytes[1], std::byte{9});
  mh.payload_proto = 6;
  EXPECT_EQ(encode(mh)[0], std::byte{6});
}

TEST(Mobility, EncodeRejectsOptionDataOver255Octets_6_2_1) {
  auto mh = header(BindingUpdate{}, {NonceIndices{}, UnknownMobilityOption{0x63, Bytes(256)}});
  Bytes out = hex("01");
  auto status = encode_mobility_header(mh, out, MhEncodeOptions::verbatim());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), (WireError{WireErrc::kBadLength, 19}));
  EXPECT_EQ(out.size(), 1u);  // untouched
}

TEST(Mobility, EncodeRejectsAHeaderLenOver255_6_1_1) {
  std::vector<MobilityOption> many(9, UnknownMobilityOption{0x63, Bytes(250)});
  Bytes out;
  auto status = encode_mobility_header(header(BindingUpdate{}, many), out);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), (WireError{WireErrc::kBadLength, 1}));
  EXPECT_TRUE(out.empty());
}

// --- decoding rules and errors ----------------------------------------------------------------

TEST(Mobility, PayloadProtoOtherThan59IsBadValueAt0_9_2) {
  expect_error(hex("3a01 0500 0000 0001 8000 0001 0102 0000"), WireErrc::kBadValue, 0);
}

TEST(Mobility, HeaderLenBelowTheTypesMinimumIsBadLengthAt1_9_2) {
  const std::pair<std::uint8_t, std::uint8_t> minimums[] = {{0, 0}, {1, 1}, {2, 1}, {3, 2},
                                                            {4, 2}, {5, 1}, {6, 1}, {7, 2}};
  for (auto [type, minimum] : minimums) {
    SCOPED_TRACE(int(type));
    EXPECT_EQ(minimum_header_len(type), minimum);
    for (std::size_t len = 0; len < 4; ++len) {
      Bytes bytes((len + 1) * 8, std::byte{0});
      bytes[0] = std::byte{59};
      bytes[1] = std::byte(len);
      bytes[2] = std::byte(type);
      if (len < minimum) {
        expect_error(bytes, WireErrc::kBadLength, 1);
      } else {
        // The rest is zero, i.e. Pad1 options: valid.
        EXPECT_TRUE(decode_mobility_header(bytes));
      }
    }
  }
  EXPECT_EQ(minimum_header_len(8), std::nullopt);
}

TEST(Mobility, TruncatedInputIsTruncatedWhereTheDataEnds_6_1_1) {
  Bytes full = hex("3b03 0500 0000 1234 c000 0096 0100 0310 20010db8000200000000000000000064");
  for (std::size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    // A cut inside the 16-bit Checksum reports the field's first octet.
    expect_error(ByteSpan(full).first(n), WireErrc::kTruncated, n == 5 ? 4 : n);
  }
  EXPECT_TRUE(decode_mobility_header(full));
}

TEST(Mobility, OctetsAfterTheMhAreIgnored_RFC8200_4_7) {
  Bytes bytes = hex("3b00 0000 0000 0000 ffff ffff");
  auto decoded = decode_mobility_header(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->options.empty());
}

TEST(Mobility, BindingAuthDataMustBeLast_6_2_7) {
  // BAD at 12 (14 octets), then PadN(6) at 26.
  expect_error(hex("3b03 0500 0000 0001 0000 0001 050c 00112233445566778899aabb 0104 00000000"),
               WireErrc::kOptionNotLast, 26);
  // A 4-octet BAD at 12, then a single Pad1 at 18 and NI.
  expect_error(hex("3b03 0500 0000 0001 0000 0001 0504 11223344 00 0404 00030004 00000000000000"),
               WireErrc::kOptionNotLast, 18);
  // BAD last: accepted.
  EXPECT_TRUE(decode_mobility_header(
      hex("3b03 0500 0000 0001 0000 0001 0404 00030004 050c 00112233445566778899aabb")));
}

TEST(Mobility, Rfc4285AuthOptionNeedNotBeLastForTheCodec_RFC4285_5) {
  // Its "last" rule depends on the message's other authentication options: the engines check.
  auto mh =
      header(BindingUpdate{}, {MobilityMessageAuthentication{1, 1, Bytes(4)}, NonceIndices{1, 2}});
  EXPECT_TRUE(decode_mobility_header(encode(mh)));
}

TEST(Mobility, OptionsRestrictedToOtherMessagesStillDecode_6_2_4) {
  // Binding Refresh Advice is "only valid in the Binding Acknowledgement", AltCoA only in a BU:
  // the codec decodes them in a BRR anyway, the engines judge.
  auto mh = header(BindingRefreshRequest{},
                   {BindingRefreshAdvice{4}, AlternateCareOfAddress{addr("2001:db8::9")}});
  auto decoded = decode_mobility_header(encode(mh));
  ASSERT_TRUE(decoded);
  EXPECT_NE(find_option<BindingRefreshAdvice>(*decoded), nullptr);
  EXPECT_NE(find_option<AlternateCareOfAddress>(*decoded), nullptr);
}

TEST(Mobility, MisalignedAltCoaIsRejectedUnlessRelaxed_6_2_5) {
  Bytes bytes = hex("3b03 0500 0000 0001 c000 0001 0310 20010db8000200000000000000000064 0100");
  expect_error(bytes, WireErrc::kMisalignedOption, 12);
  auto relaxed = decode_mobility_header(bytes, {.check_alignment = false});
  ASSERT_TRUE(relaxed);
  ASSERT_NE(find_option<AlternateCareOfAddress>(*relaxed), nullptr);
  EXPECT_EQ(find_option<AlternateCareOfAddress>(*relaxed)->alternate_care_of_address,
            addr("2001:db8:2::64"));
}

TEST(Mobility, UnknownMhTypeIsKeptRawAndReEncodedUnchanged_9_2) {
  Bytes bytes = hex("3b01 2a00 1234 deadbeefcafe01020304");
  auto decoded = decode_mobility_header(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->mh_type(), 42);
  const auto* unknown = find_message<UnknownMobilityMessage>(*decoded);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(to_hex(unknown->message_data), "deadbeefcafe01020304");
  EXPECT_TRUE(decoded->options.empty());
  EXPECT_EQ(to_hex(encode(*decoded)), to_hex(bytes));
  EXPECT_EQ(to_hex(encode(*decoded, MhEncodeOptions::verbatim())), to_hex(bytes));
}

TEST(Mobility, UnknownOptionsAreSkippedAndKeptRaw_6_2_1) {
  Bytes bytes = hex(
      "3b04 0500 0000 0001 8000 0001 6302abcd 0104 00000000 0310 20010db8000000000000000000000001");
  auto decoded = decode_mobility_header(bytes);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->options.size(), 3u);
  EXPECT_EQ(decoded->options[0], MobilityOption(UnknownMobilityOption{0x63, hex("abcd")}));
  EXPECT_NE(find_option<AlternateCareOfAddress>(*decoded), nullptr);
  EXPECT_EQ(to_hex(encode(*decoded, MhEncodeOptions::verbatim())), to_hex(bytes));
}

TEST(Mobility, PartialDecodeKeepsWhatCameBeforeTheError_6_2) {
  PartialMobilityHeader partial;
  auto status = decode_mobility_header_partial(
      hex("3b03 0500 0000 0001 0000 0001 0404 00030004 0410 00030004 00000000 00000000"), partial);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error(), (WireError{WireErrc::kBadLength, 19}));
  EXPECT_TRUE(partial.common_header_decoded);
  EXPECT_TRUE(partial.message_decoded);
  EXPECT_EQ(partial.header.options, (std::vector<MobilityOption>{NonceIndices{3, 4}}));

  status = decode_mobility_header_partial(hex("3b00 0500 0000 0000"), partial);
  ASSERT_FALSE(status);
  EXPECT_TRUE(partial.common_header_decoded);
  EXPECT_FALSE(partial.message_decoded);
  EXPECT_EQ(partial.header.mh_type(), kMhTypeBindingUpdate);

  status = decode_mobility_header_partial(hex("3b00"), partial);
  ASSERT_FALSE(status);
  EXPECT_FALSE(partial.common_header_decoded);
}

TEST(Mobility, FindOptionReturnsTheFirstOfItsType) {
  auto mh = header(BindingUpdate{}, {NonceIndices{1, 2}, NonceIndices{3, 4}});
  ASSERT_NE(find_option<NonceIndices>(mh), nullptr);
  EXPECT_EQ(find_option<NonceIndices>(mh)->home_nonce_index, 1);
  EXPECT_EQ(find_option<AlternateCareOfAddress>(mh), nullptr);
  EXPECT_NE(find_message<BindingUpdate>(mh), nullptr);
  EXPECT_EQ(find_message<BindingAcknowledgement>(mh), nullptr);
}

// --- checksum and authenticator ---------------------------------------------------------------

// RFC 8200 §8.1 pseudo-header + data, summed by hand (independently of wire/checksum.cc).
std::uint16_t hand_checksum(const Ipv6Address& src, const Ipv6Address& dst, ByteSpan mh) {
  std::uint32_t sum = 0;
  auto add_words = [&](const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; i += 2) {
      sum += static_cast<std::uint32_t>((p[i] << 8) | (i + 1 < n ? p[i + 1] : 0));
    }
  };
  add_words(src.bytes.data(), 16);
  add_words(dst.bytes.data(), 16);
  sum += static_cast<std::uint32_t>(mh.size());  // upper-layer packet length (32 bits)
  sum += kIpProtoMobility;                       // zero, zero, zero, next header 135
  std::vector<std::uint8_t> raw;
  for (auto b : mh)
    raw.push_back(std::to_integer<std::uint8_t>(b));
  raw[4] = raw[5] = 0;
  add_words(raw.data(), raw.size());
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

TEST(Mobility, ChecksumUsesTheHomeAddressAsPseudoSource_6_1_1) {
  // BU CoA -> HA with a Home Address option: the HoA replaces the source (§6.1.1). scapy 2.5.0
  // computes 0x5de6 for this packet (MIPV6-FACTS §1.3).
  auto hoa = addr("2001:db8:1::100");
  auto ha = addr("2001:db8:1::1");
  auto coa = addr("2001:db8:2::64");
  Bytes mh = hex("3b03 0500 0000 1234 c000 0096 0100 0310 20010db8000200000000000000000064");
  EXPECT_EQ(mobility_checksum(hoa, ha, mh), hand_checksum(hoa, ha, mh));
  EXPECT_EQ(mobility_checksum(hoa, ha, mh), 0x5de6);
  EXPECT_NE(mobility_checksum(coa, ha, mh), 0x5de6);
  fill_mobility_checksum(mh, hoa, ha);
  EXPECT_EQ(to_hex(ByteSpan(mh).subspan(4, 2)), "5de6");
  EXPECT_TRUE(mobility_checksum_valid(hoa, ha, mh));
  EXPECT_FALSE(mobility_checksum_valid(coa, ha, mh));
  // The Checksum field's old value does not matter to the computation.
  EXPECT_EQ(mobility_checksum(hoa, ha, mh), 0x5de6);
  // Next Header 135 in the pseudo-header, not RFC 3775's 2 (§6.1.1, Appendix B).
  Bytes zeroed = mh;
  zeroed[4] = zeroed[5] = std::byte{0};
  EXPECT_NE(upper_layer_checksum(hoa, ha, 2, zeroed), 0x5de6);
}

TEST(Mobility, AuthenticatorInputIsTheMhUpToTheAuthenticatorWithZeroChecksum_6_2_7) {
  Bytes mh = hex("3b03 0500 abcd 0101 0000 0069 0404 00030004 050c 00112233445566778899aabb");
  auto offset = authenticator_offset(mh);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, 20u);
  auto input = authenticator_input(mh);
  ASSERT_TRUE(input);
  EXPECT_EQ(to_hex(*input), "3b0305000000010100000069040400030004050c");
}

TEST(Mobility, Rfc4285AuthInputRunsThroughTheSpi_RFC4285_5) {
  std::ifstream file(std::string(MIPV6_VECTORS_DIR) + "/mobility/bu_rfc4285_auth.hex");
  std::stringstream text;
  text << file.rdbuf();
  Bytes mh = hex(text.str());
  auto offset = authenticator_offset(mh, kMobOptMobilityMessageAuthentication);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, 44u);  // option at 37: type, length, subtype, 4-octet SPI
  auto input = authenticator_input(mh, kMobOptMobilityMessageAuthentication);
  ASSERT_TRUE(input);
  EXPECT_EQ(to_hex(ByteSpan(*input).last(5)), "0100000100");
}

TEST(Mobility, AuthenticatorInputFailsWithoutTheOption_6_2_7) {
  auto result = authenticator_input(hex("3b01 0500 0000 0001 8000 0001 0102 0000"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), (WireError{WireErrc::kUnsupported, 0}));
  // And reports decode errors as such.
  result = authenticator_input(hex("3b01 0500"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), (WireError{WireErrc::kTruncated, 4}));
}

TEST(Mobility, StatusNamesCoverTheRfcTables_6_1_8_6_1_9) {
  for (int s : {0,   1,   128, 129, 130, 131, 132, 133, 134, 135, 136,
                137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 174}) {
    EXPECT_FALSE(ba_status_name(static_cast<std::uint8_t>(s)).empty()) << s;
  }
  EXPECT_EQ(ba_status_name(kBaStatusSequenceNumberOutOfWindow), "Sequence number out of window");
  EXPECT_EQ(ba_status_name(174), "Invalid Care-of Address");
  EXPECT_TRUE(ba_status_name(2).empty());
  EXPECT_EQ(be_status_name(kBeStatusUnrecognizedMhType), "Unrecognized MH Type value");
  EXPECT_TRUE(be_status_name(0).empty());
}

// --- hex vectors ------------------------------------------------------------------------------

struct Vector {
  std::string name;
  Bytes bytes;
  std::string expect;  // "ok" or "<code> <offset>"
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> vectors;
  const std::filesystem::path dir = std::string(MIPV6_VECTORS_DIR) + "/mobility";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    Vector v{entry.path().filename().string(), hex(text.str()), ""};
    std::string line;
    std::istringstream lines(text.str());
    while (std::getline(lines, line)) {
      if (auto at = line.find("# expect: "); at == 0) v.expect = line.substr(10);
    }
    vectors.push_back(std::move(v));
  }
  std::sort(vectors.begin(), vectors.end(),
            [](const Vector& a, const Vector& b) { return a.name < b.name; });
  return vectors;
}

TEST(Mobility, HexVectorsDecodeAsTheirHeaderSays) {
  auto vectors = load_vectors();
  ASSERT_GE(vectors.size(), 25u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    ASSERT_FALSE(v.expect.empty()) << "no '# expect:' line";
    auto decoded = decode_mobility_header(v.bytes);
    if (v.expect == "ok") {
      ASSERT_TRUE(decoded) << to_string(decoded.error().code) << " @" << decoded.error().offset;
      EXPECT_EQ(to_hex(encode(*decoded, MhEncodeOptions::verbatim())), to_hex(v.bytes));
      continue;
    }
    ASSERT_FALSE(decoded) << "decoded, expected " << v.expect;
    std::ostringstream got;
    got << to_string(decoded.error().code) << " " << decoded.error().offset;
    EXPECT_EQ(got.str(), v.expect);
  }
}

}  // namespace
}  // namespace mipv6::wire

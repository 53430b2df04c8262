#include "ipsec/mobility_auth.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "crypto/crypto.h"
#include "wire/chain.h"
#include "wire/extension_headers.h"
#include "wire/hex.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"
#include "wire/mobility_options.h"
#include "wire/packet.h"

namespace mipv6::ipsec {
namespace {

using wire::Bytes;
using wire::Ipv6Address;

const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");

constexpr std::uint32_t kSpi = 0x1234;
// RFC 6275 §6.1.1 / RFC 8200 §3 offsets used to tamper with packets.
constexpr std::size_t kSourceOffset = 8;
constexpr std::size_t kDestinationOffset = 24;
// HAO or Type 2 Routing header address, both 24-octet headers right after the IPv6 header.
constexpr std::size_t kMobilityHeaderAddressOffset = 48;
constexpr std::size_t kMhAfterExtensionHeader = 64;
constexpr std::size_t kMhWithoutExtensionHeader = 40;
constexpr std::size_t kMhSequenceOffset = 6;  // BU Sequence # (RFC 6275 §6.1.7)

Bytes bytes_of(const std::string& text) {
  Bytes out;
  for (char c : text)
    out.push_back(static_cast<std::byte>(c));
  return out;
}

MnHaKey test_key() {
  MnHaKey key;
  key.spi = kSpi;
  for (int i = 0; i < 16; ++i)
    key.key.push_back(static_cast<std::byte>(0xa0 + i));
  return key;
}

KeyLookup lookup_for(const MnHaKey& key) {
  return [key](std::uint32_t spi) -> const Bytes* { return spi == key.spi ? &key.key : nullptr; };
}

Bytes encode_mh(const wire::MobilityHeader& mh) {
  Bytes out;
  EXPECT_TRUE(wire::encode_mobility_header(mh, out));
  return out;
}

wire::MobilityHeader binding_update(std::uint16_t sequence = 42) {
  wire::MobilityHeader mh;
  wire::BindingUpdate bu;
  bu.sequence_number = sequence;
  bu.flags = wire::kBuFlagA | wire::kBuFlagH;
  bu.lifetime = 100;
  mh.message = bu;
  return mh;
}

wire::MobilityHeader binding_ack() {
  wire::MobilityHeader mh;
  wire::BindingAcknowledgement ba;
  ba.sequence_number = 42;
  ba.lifetime = 100;
  mh.message = ba;
  return mh;
}

Bytes packet_of(const Ipv6Address& source, const Ipv6Address& destination,
                std::vector<wire::ExtensionHeader> extension_headers, Bytes upper,
                std::uint8_t protocol = wire::ip_proto::kMobility) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.extension_headers = std::move(extension_headers);
  spec.upper_protocol = protocol;
  spec.upper = std::move(upper);
  return wire::build_packet(spec);
}

// Mobile node away from home: CoA -> HA with a Home Address option.
Bytes bu_with_hao(const wire::MobilityHeader& mh = binding_update()) {
  return packet_of(kCoa, kHa, {wire::make_home_address_destination_options(kHoa)}, encode_mh(mh));
}
// Mobile node back home, deregistering: HoA -> HA, no Home Address option.
Bytes bu_at_home() {
  wire::MobilityHeader mh = binding_update();
  std::get<wire::BindingUpdate>(mh.message).lifetime = 0;
  return packet_of(kHoa, kHa, {}, encode_mh(mh));
}
// Home agent's answer: HA -> CoA with a Type 2 Routing header naming the HoA.
Bytes ba_with_rh2(const wire::MobilityHeader& mh = binding_ack()) {
  return packet_of(kHa, kCoa, {wire::make_type2_routing_header(kHoa)}, encode_mh(mh));
}

Bytes sign_ok(const Bytes& packet, const SignOptions& options = {}) {
  auto result = sign_mobility_message(packet, test_key(), options);
  if (const auto* error = std::get_if<AuthError>(&result)) {
    ADD_FAILURE() << "sign failed: " << to_string(*error);
    return {};
  }
  return std::get<Bytes>(result);
}

std::variant<Verified, AuthError> verify(const Bytes& packet, const MnHaKey& key = test_key()) {
  return verify_mobility_message(packet, lookup_for(key));
}

AuthError verify_error(const Bytes& packet, const MnHaKey& key = test_key()) {
  auto result = verify(packet, key);
  if (!std::holds_alternative<AuthError>(result)) {
    ADD_FAILURE() << "verified unexpectedly";
    return AuthError::kNotMobility;
  }
  return std::get<AuthError>(result);
}

wire::MobilityHeader decode_mh_at(const Bytes& packet, std::size_t mh_offset) {
  auto mh = wire::decode_mobility_header(wire::ByteSpan(packet).subspan(mh_offset));
  EXPECT_TRUE(mh) << "MH does not decode";
  return mh ? *mh : wire::MobilityHeader{};
}

// Replaces the MH of `packet` (at `mh_offset`) and fixes Payload Length and checksum.
Bytes with_mh(const Bytes& packet, std::size_t mh_offset, const Bytes& mh) {
  Bytes out(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(mh_offset));
  out.insert(out.end(), mh.begin(), mh.end());
  wire::store_be16(&out[4], static_cast<std::uint16_t>(out.size() - wire::kIpv6HeaderSize));
  EXPECT_TRUE(wire::fill_upper_checksum(out));
  return out;
}

void flip_bit(Bytes& packet, std::size_t offset) {
  packet.at(offset) ^= std::byte{0x01};
}

wire::ByteSpan address_span(const Ipv6Address& address) {
  return std::as_bytes(std::span(address.bytes));
}

std::vector<std::uint8_t> non_padding_types(const wire::MobilityHeader& mh) {
  std::vector<std::uint8_t> types;
  for (const auto& option : mh.options) {
    if (!wire::is_padding(option)) types.push_back(wire::mobility_option_type(option));
  }
  return types;
}

// --- Round trips -----------------------------------------------------------------------------

TEST(MobilityAuth, Rfc4285_5_SignedBuWithHomeAddressOptionVerifies) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  auto result = verify(signed_packet);
  ASSERT_TRUE(std::holds_alternative<Verified>(result)) << to_string(std::get<AuthError>(result));
  EXPECT_EQ(std::get<Verified>(result).spi, kSpi);
  EXPECT_FALSE(std::get<Verified>(result).timestamp);
  EXPECT_FALSE(std::get<Verified>(result).network_access_identifier);
}

TEST(MobilityAuth, Rfc4285_5_SignedDeregistrationAtHomeWithoutHaoVerifies) {
  const Bytes signed_packet = sign_ok(bu_at_home());
  auto result = verify(signed_packet);
  ASSERT_TRUE(std::holds_alternative<Verified>(result)) << to_string(std::get<AuthError>(result));
  EXPECT_EQ(std::get<Verified>(result).spi, kSpi);
}

TEST(MobilityAuth, Rfc4285_5_SignedBaWithType2RoutingHeaderVerifies) {
  const Bytes signed_packet = sign_ok(ba_with_rh2());
  auto result = verify(signed_packet);
  ASSERT_TRUE(std::holds_alternative<Verified>(result)) << to_string(std::get<AuthError>(result));
  EXPECT_EQ(std::get<Verified>(result).spi, kSpi);
}

TEST(MobilityAuth, Rfc4283_3_Rfc4285_6_IdentifierAndTimestampReadBack) {
  SignOptions options;
  options.network_access_identifier = bytes_of("mn1@example.org");
  options.timestamp = 0xe1234567'89abcdefULL;
  const Bytes signed_packet = sign_ok(bu_with_hao(), options);
  auto result = verify(signed_packet);
  ASSERT_TRUE(std::holds_alternative<Verified>(result)) << to_string(std::get<AuthError>(result));
  const Verified& verified = std::get<Verified>(result);
  EXPECT_EQ(verified.timestamp, options.timestamp);
  EXPECT_EQ(verified.network_access_identifier, options.network_access_identifier);
}

TEST(MobilityAuth, Rfc4285_5_WrongKeyFails) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  MnHaKey other = test_key();
  other.key.back() ^= std::byte{0x80};
  EXPECT_EQ(verify_error(signed_packet, other), AuthError::kBadAuthenticator);
}

// --- What the authenticator covers ---------------------------------------------------------

// Recomputes First(96, HMAC_SHA1(key, CoA | HoA | MH Data)) from the bytes, by hand.
void expect_independent_authenticator(const Bytes& signed_packet, std::size_t mh_offset,
                                      const Ipv6Address& coa, const Ipv6Address& hoa) {
  const Bytes mh(signed_packet.begin() + static_cast<std::ptrdiff_t>(mh_offset),
                 signed_packet.end());
  ASSERT_GE(mh.size(), 8u + 19u);
  // The option is last: Type 9, Length 17, Subtype 1, SPI, then 12 octets.
  const std::size_t option = mh.size() - 19;
  EXPECT_EQ(std::to_integer<int>(mh[option]), wire::kMobOptMobilityMessageAuthentication);
  EXPECT_EQ(std::to_integer<int>(mh[option + 1]), 17);
  EXPECT_EQ(std::to_integer<int>(mh[option + 2]), wire::kMobilityAuthSubtypeMnHa);
  EXPECT_EQ(wire::load_be32(&mh[option + 3]), kSpi);

  Bytes input;
  input.insert(input.end(), address_span(coa).begin(), address_span(coa).end());
  input.insert(input.end(), address_span(hoa).begin(), address_span(hoa).end());
  input.insert(input.end(), mh.begin(), mh.begin() + static_cast<std::ptrdiff_t>(option + 7));
  // The Checksum field (MH octets 4-5) counts as zero: at input offset 32 + 4.
  input[32 + 4] = std::byte{0};
  input[32 + 5] = std::byte{0};
  const auto digest = crypto::hmac_sha1(test_key().key, input);
  const Bytes expected(digest.begin(), digest.begin() + 12);
  const Bytes carried(mh.end() - 12, mh.end());
  EXPECT_EQ(carried, expected);
}

TEST(MobilityAuth, Rfc4285_5_2_AuthenticatorCoversCoaHoaAndMhData_Bu) {
  SignOptions options;
  options.network_access_identifier = bytes_of("mn1@example.org");
  options.timestamp = 0x0102030405060708ULL;
  expect_independent_authenticator(sign_ok(bu_with_hao(), options), kMhAfterExtensionHeader, kCoa,
                                   kHoa);
}

TEST(MobilityAuth, Rfc4285_5_2_AuthenticatorCoversCoaHoaAndMhData_BuAtHome) {
  // No Home Address option: the source is both the care-of and the home address.
  expect_independent_authenticator(sign_ok(bu_at_home()), kMhWithoutExtensionHeader, kHoa, kHoa);
}

TEST(MobilityAuth, Rfc4285_5_2_AuthenticatorCoversCoaHoaAndMhData_Ba) {
  // BA: the care-of address is the Destination, the home address the Type 2 header's.
  expect_independent_authenticator(sign_ok(ba_with_rh2()), kMhAfterExtensionHeader, kCoa, kHoa);
}

// --- Encoding --------------------------------------------------------------------------------

TEST(MobilityAuth, Rfc4285_5_AuthOptionIsLastAndMhIsMultipleOf8) {
  SignOptions options;
  options.network_access_identifier = bytes_of("mn1@example.org");
  options.timestamp = 7;
  for (const auto& nai : {bytes_of(""), bytes_of("a@b"), bytes_of("mobile-node@example.org")}) {
    options.network_access_identifier = nai;
    const Bytes signed_packet = sign_ok(bu_with_hao(), options);
    const std::size_t mh_size = signed_packet.size() - kMhAfterExtensionHeader;
    EXPECT_EQ(mh_size % 8, 0u);  // RFC 6275 §6.1.1
    // The default decoder enforces xn+y alignment (RFC 6275 §6.2.1).
    const wire::MobilityHeader mh = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
    EXPECT_EQ((std::size_t{mh.header_len} + 1) * 8, mh_size);
    ASSERT_FALSE(mh.options.empty());
    EXPECT_TRUE(std::holds_alternative<wire::MobilityMessageAuthentication>(mh.options.back()));
    // MN-ID first, Replay Protection next, authentication last.
    EXPECT_EQ(non_padding_types(mh),
              (std::vector<std::uint8_t>{wire::kMobOptMobileNodeIdentifier,
                                         wire::kMobOptMobilityMessageReplayProtection,
                                         wire::kMobOptMobilityMessageAuthentication}));
    // The 19-octet option starts at 8n+5, which is also 4n+1.
    EXPECT_EQ((mh_size - 19) % 8, 5u);
  }
}

TEST(MobilityAuth, Rfc6275_6_1_1_SignedPacketHasFixedLengthAndChecksum) {
  for (const Bytes& packet : {bu_with_hao(), bu_at_home(), ba_with_rh2()}) {
    SignOptions options;
    options.timestamp = 99;
    const Bytes signed_packet = sign_ok(packet, options);
    auto layout = wire::walk_chain(signed_packet);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->ipv6.payload_length, signed_packet.size() - wire::kIpv6HeaderSize);
    EXPECT_EQ(layout->upper_protocol, wire::ip_proto::kMobility);
    // The MH checksum uses the HoA (HAO) as source and the RH2 address as destination.
    EXPECT_TRUE(wire::verify_upper_checksum(signed_packet, *layout));
    EXPECT_TRUE(
        wire::decode_mobility_header(wire::ByteSpan(signed_packet).subspan(layout->upper_offset)));
  }
}

TEST(MobilityAuth, Rfc4285_5_ExistingOptionsAreKept) {
  wire::MobilityHeader mh = binding_ack();
  mh.options.push_back(wire::BindingRefreshAdvice{15});
  const Bytes signed_packet = sign_ok(ba_with_rh2(mh));
  ASSERT_TRUE(std::holds_alternative<Verified>(verify(signed_packet)));
  const wire::MobilityHeader decoded = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
  const auto* advice = wire::find_option<wire::BindingRefreshAdvice>(decoded);
  ASSERT_NE(advice, nullptr);
  EXPECT_EQ(advice->refresh_interval, 15);
}

TEST(MobilityAuth, Rfc4285_5_SigningAgainReplacesTheAuthOption) {
  SignOptions options;
  options.timestamp = 1;
  const Bytes once = sign_ok(bu_with_hao(), options);
  options.timestamp = 2;
  const Bytes twice = sign_ok(once, options);
  auto result = verify(twice);
  ASSERT_TRUE(std::holds_alternative<Verified>(result));
  EXPECT_EQ(std::get<Verified>(result).timestamp, 2u);
  const wire::MobilityHeader mh = decode_mh_at(twice, kMhAfterExtensionHeader);
  EXPECT_EQ(non_padding_types(mh),
            (std::vector<std::uint8_t>{wire::kMobOptMobilityMessageReplayProtection,
                                       wire::kMobOptMobilityMessageAuthentication}));
}

TEST(MobilityAuth, Rfc6275_6_2_7_BindingAuthorizationDataCannotBeSigned) {
  wire::MobilityHeader mh = binding_update();
  mh.options.push_back(wire::BindingAuthorizationData{Bytes(12)});
  auto result = sign_mobility_message(bu_with_hao(mh), test_key());
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kMalformed);
}

TEST(MobilityAuth, Rfc6275_6_1_1_OversizedIdentifierIsTooLarge) {
  SignOptions options;
  options.network_access_identifier = Bytes(255, std::byte{'x'});  // Length would be 256
  auto result = sign_mobility_message(bu_with_hao(), test_key(), options);
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kTooLarge);
}

// --- Tampering -------------------------------------------------------------------------------

struct Tamper {
  const char* what;
  std::size_t offset;  // in the packet; from the end when from_end
  bool from_end;
};

void expect_tamper_fails(const Bytes& signed_packet, const Tamper& tamper) {
  Bytes packet = signed_packet;
  const std::size_t offset = tamper.from_end ? signed_packet.size() - tamper.offset : tamper.offset;
  flip_bit(packet, offset);
  // Keep the checksum right, so only the authenticator can catch the change.
  ASSERT_TRUE(wire::fill_upper_checksum(packet));
  // One key for every SPI: a changed SPI must be caught by the authenticator too.
  const Bytes key = test_key().key;
  auto result = verify_mobility_message(packet, [&key](std::uint32_t) { return &key; });
  ASSERT_TRUE(std::holds_alternative<AuthError>(result)) << tamper.what;
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kBadAuthenticator) << tamper.what;
}

TEST(MobilityAuth, Rfc4285_5_2_TamperedBuFieldsFail) {
  SignOptions options;
  options.network_access_identifier = bytes_of("mn1@example.org");
  options.timestamp = 0x0102030405060708ULL;
  const Bytes signed_packet = sign_ok(bu_with_hao(), options);
  ASSERT_TRUE(std::holds_alternative<Verified>(verify(signed_packet)));
  const Tamper tampers[] = {
      {"care-of address (source)", kSourceOffset + 15, false},
      {"home address (HAO)", kMobilityHeaderAddressOffset + 15, false},
      {"sequence number", kMhAfterExtensionHeader + kMhSequenceOffset + 1, false},
      {"lifetime", kMhAfterExtensionHeader + 11, false},
      {"MN-ID", kMhAfterExtensionHeader + 12 + 3, false},
      {"SPI", 13, true},
      {"authenticator first octet", 12, true},
      {"authenticator last octet", 1, true},
  };
  for (const auto& tamper : tampers)
    expect_tamper_fails(signed_packet, tamper);
}

TEST(MobilityAuth, Rfc4285_5_2_TamperedBaFieldsFail) {
  const Bytes signed_packet = sign_ok(ba_with_rh2());
  ASSERT_TRUE(std::holds_alternative<Verified>(verify(signed_packet)));
  const Tamper tampers[] = {
      {"care-of address (destination)", kDestinationOffset + 15, false},
      {"home address (RH2)", kMobilityHeaderAddressOffset + 15, false},
      {"status", kMhAfterExtensionHeader + 6, false},
      {"sequence number", kMhAfterExtensionHeader + 9, false},
      {"authenticator", 1, true},
  };
  for (const auto& tamper : tampers)
    expect_tamper_fails(signed_packet, tamper);
}

TEST(MobilityAuth, Rfc4285_6_TamperedTimestampFails) {
  SignOptions options;
  options.timestamp = 0x0102030405060708ULL;
  Bytes packet = sign_ok(bu_with_hao(), options);
  wire::MobilityHeader mh = decode_mh_at(packet, kMhAfterExtensionHeader);
  for (auto& option : mh.options) {
    if (auto* replay = std::get_if<wire::MobilityMessageReplayProtection>(&option))
      replay->timestamp += 1;
  }
  // Same layout, so the old authenticator is carried over unchanged.
  packet = with_mh(packet, kMhAfterExtensionHeader, encode_mh(mh));
  EXPECT_EQ(verify_error(packet), AuthError::kBadAuthenticator);
}

TEST(MobilityAuth, Rfc4285_5_ChecksumIsNotPartOfTheAuthenticator) {
  Bytes packet = sign_ok(bu_with_hao());
  // A wrong checksum is the receiver's MH checksum check's business (RFC 6275 §9.2), not ours.
  flip_bit(packet, kMhAfterExtensionHeader + 5);
  EXPECT_TRUE(std::holds_alternative<Verified>(verify(packet)));
}

// --- Option checks ---------------------------------------------------------------------------

TEST(MobilityAuth, Rfc4285_5_MissingOptionRejected) {
  EXPECT_EQ(verify_error(bu_with_hao()), AuthError::kMissing);
  EXPECT_EQ(verify_error(ba_with_rh2()), AuthError::kMissing);
}

TEST(MobilityAuth, Rfc4285_5_OptionNotLastRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  wire::MobilityHeader mh = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
  // Eight more octets of padding after the option: still a well-formed MH.
  mh.options.push_back(wire::PadN{Bytes(6)});
  Bytes encoded;
  ASSERT_TRUE(wire::encode_mobility_header(mh, encoded, wire::MhEncodeOptions::verbatim()));
  const Bytes packet = with_mh(signed_packet, kMhAfterExtensionHeader, encoded);
  ASSERT_TRUE(wire::decode_mobility_header(wire::ByteSpan(packet).subspan(64)));
  EXPECT_EQ(verify_error(packet), AuthError::kNotLast);
}

TEST(MobilityAuth, Rfc4285_5_OptionFollowedByAnotherOptionRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  wire::MobilityHeader mh = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
  // An MN-ID (no alignment) of 8 octets after it keeps the MH a multiple of 8.
  mh.options.push_back(wire::MobileNodeIdentifier{wire::kMnIdSubtypeNai, bytes_of("a@b.c")});
  Bytes encoded;
  ASSERT_TRUE(wire::encode_mobility_header(mh, encoded, wire::MhEncodeOptions::verbatim()));
  ASSERT_EQ(encoded.size() % 8, 0u);
  EXPECT_EQ(verify_error(with_mh(signed_packet, kMhAfterExtensionHeader, encoded)),
            AuthError::kNotLast);
}

TEST(MobilityAuth, Rfc4285_5_MnAaaSubtypeRejected) {
  Bytes packet = sign_ok(bu_with_hao());
  // Subtype octet: the third of the 19-octet option at the end.
  ASSERT_EQ(std::to_integer<int>(packet[packet.size() - 17]), wire::kMobilityAuthSubtypeMnHa);
  packet[packet.size() - 17] = std::byte{wire::kMobilityAuthSubtypeMnAaa};
  EXPECT_EQ(verify_error(packet), AuthError::kWrongSubtype);
}

TEST(MobilityAuth, Rfc4285_5_UnknownSpiRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  MnHaKey other = test_key();
  other.spi = kSpi + 1;
  EXPECT_EQ(verify_error(signed_packet, other), AuthError::kUnknownSpi);
  // No lookup at all.
  auto result = verify_mobility_message(signed_packet, KeyLookup{});
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kUnknownSpi);
}

TEST(MobilityAuth, Rfc4285_5_ReservedSpiRejected) {
  MnHaKey reserved = test_key();
  reserved.spi = kMinimumMobilitySpi - 1;
  auto result = sign_mobility_message(bu_with_hao(), reserved);
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kUnknownSpi);
  // A received message with a reserved SPI: rejected even if a key were configured for it.
  Bytes packet = sign_ok(bu_with_hao());
  wire::store_be16(&packet[packet.size() - 16], 0);
  wire::store_be16(&packet[packet.size() - 14], static_cast<std::uint16_t>(reserved.spi));
  EXPECT_EQ(verify_error(packet, reserved), AuthError::kUnknownSpi);
}

TEST(MobilityAuth, Rfc4285_5_2_WrongAuthenticatorLengthRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  // auto_pad keeps the option aligned (4n+1); the decoder accepts any data length. Sizes for
  // which no 4n+1 start ends the MH on 8n get padding after the option, caught first.
  const std::pair<std::size_t, AuthError> cases[] = {
      {0, AuthError::kBadAuthenticator},  {8, AuthError::kBadAuthenticator},
      {20, AuthError::kBadAuthenticator}, {11, AuthError::kNotLast},
      {13, AuthError::kNotLast},
  };
  for (const auto& [size, expected] : cases) {
    wire::MobilityHeader mh = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
    auto& auth = std::get<wire::MobilityMessageAuthentication>(mh.options.back());
    auth.authentication_data.resize(size, std::byte{0x55});
    const Bytes packet = with_mh(signed_packet, kMhAfterExtensionHeader, encode_mh(mh));
    EXPECT_EQ(verify_error(packet), expected) << size;
  }
}

// --- Other messages and bad input ----------------------------------------------------------

TEST(MobilityAuth, Rfc4285_5_OnlyBuAndBaAreHandled) {
  wire::MobilityHeader be;
  be.message = wire::BindingError{wire::kBeStatusUnrecognizedMhType, 0, kHoa};
  wire::MobilityHeader hoti;
  hoti.message = wire::HomeTestInit{0, 1234};
  const Bytes icmp = {std::byte{128}, std::byte{0}, std::byte{0}, std::byte{0},
                      std::byte{0},   std::byte{1}, std::byte{0}, std::byte{1}};
  const Bytes packets[] = {
      packet_of(kHa, kCoa, {}, encode_mh(be)),
      packet_of(kHoa, kHa, {}, encode_mh(hoti)),
      packet_of(kCoa, kHa, {}, icmp, wire::ip_proto::kIcmpv6),
  };
  for (const Bytes& packet : packets) {
    auto signed_result = sign_mobility_message(packet, test_key());
    ASSERT_TRUE(std::holds_alternative<AuthError>(signed_result));
    EXPECT_EQ(std::get<AuthError>(signed_result), AuthError::kNotMobility);
    EXPECT_EQ(verify_error(packet), AuthError::kNotMobility);
  }
}

TEST(MobilityAuth, Rfc6275_6_1_1_TruncatedOrMalformedRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  // Cut inside the IPv6 header, inside the HAO, inside the MH (Payload Length kept).
  for (std::size_t keep : {std::size_t{20}, std::size_t{50}, signed_packet.size() - 3}) {
    const Bytes truncated(signed_packet.begin(),
                          signed_packet.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_EQ(verify_error(truncated), AuthError::kMalformed) << keep;
    auto result = sign_mobility_message(truncated, test_key());
    ASSERT_TRUE(std::holds_alternative<AuthError>(result));
    EXPECT_EQ(std::get<AuthError>(result), AuthError::kMalformed);
  }
  // Payload Proto other than 59 (RFC 6275 §6.1.1).
  Bytes bad_proto = signed_packet;
  bad_proto[kMhAfterExtensionHeader] = std::byte{6};
  EXPECT_EQ(verify_error(bad_proto), AuthError::kMalformed);
}

TEST(MobilityAuth, Rfc6275_6_2_1_MisalignedAuthOptionRejected) {
  const Bytes signed_packet = sign_ok(bu_with_hao());
  wire::MobilityHeader mh = decode_mh_at(signed_packet, kMhAfterExtensionHeader);
  // The option right after the fixed part, at 12 (4n+0, not 4n+1), then a Pad1 to end on 8n.
  std::vector<wire::MobilityOption> options;
  options.push_back(mh.options.back());
  options.push_back(wire::Pad1{});
  mh.options = options;
  Bytes encoded;
  ASSERT_TRUE(wire::encode_mobility_header(mh, encoded, wire::MhEncodeOptions::verbatim()));
  ASSERT_EQ(encoded.size() % 8, 0u);
  EXPECT_EQ(verify_error(with_mh(signed_packet, kMhAfterExtensionHeader, encoded)),
            AuthError::kMalformed);
}

TEST(MobilityAuth, Rfc8200_4_5_FragmentIsMalformed) {
  wire::FragmentHeader fragment;
  fragment.m_flag = true;
  fragment.identification = 7;
  const Bytes packet =
      packet_of(kCoa, kHa, {wire::make_fragment_header(fragment)}, encode_mh(binding_update()));
  auto result = sign_mobility_message(packet, test_key());
  ASSERT_TRUE(std::holds_alternative<AuthError>(result));
  EXPECT_EQ(std::get<AuthError>(result), AuthError::kMalformed);
}

TEST(MobilityAuth, ErrorsHaveNames) {
  for (auto error : {AuthError::kNotMobility, AuthError::kMalformed, AuthError::kMissing,
                     AuthError::kNotLast, AuthError::kWrongSubtype, AuthError::kUnknownSpi,
                     AuthError::kBadAuthenticator, AuthError::kTooLarge}) {
    EXPECT_FALSE(to_string(error).empty());
  }
}

// --- Vectors cross-checked with scapy and Python's hmac (tests/vectors/auth) ----------------

Bytes read_vector(const std::string& name) {
  std::ifstream in(std::string(MIPV6_VECTORS_DIR) + "/auth/" + name);
  EXPECT_TRUE(in) << name;
  std::string hex;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') hex += line;
  }
  auto bytes = wire::from_hex(hex);
  EXPECT_TRUE(bytes) << name;
  return bytes ? *bytes : Bytes{};
}

SignOptions vector_options() {
  SignOptions options;
  options.network_access_identifier = bytes_of("m@x");
  options.timestamp = 0x0102030405060708ULL;
  return options;
}

TEST(MobilityAuth, Rfc4285_5_2_SignedBuMatchesCrossCheckedVector) {
  const Bytes expected = read_vector("signed_bu_hao.hex");
  EXPECT_EQ(sign_ok(bu_with_hao(), vector_options()), expected);
  auto result = verify(expected);
  ASSERT_TRUE(std::holds_alternative<Verified>(result));
  EXPECT_EQ(std::get<Verified>(result).network_access_identifier, bytes_of("m@x"));
}

TEST(MobilityAuth, Rfc4285_5_2_SignedBaMatchesCrossCheckedVector) {
  const Bytes expected = read_vector("signed_ba_rh2.hex");
  EXPECT_EQ(sign_ok(ba_with_rh2(), vector_options()), expected);
  EXPECT_TRUE(std::holds_alternative<Verified>(verify(expected)));
}

// --- Replay protection -----------------------------------------------------------------------

constexpr std::uint64_t ntp(std::uint64_t seconds, std::uint32_t fraction = 0) {
  return (seconds << 32) | fraction;
}

TEST(MobilityAuth, Rfc4285_6_TimestampWithinWindowAccepted) {
  const std::uint64_t now = ntp(3'900'000'000ULL, 0x80000000u);
  EXPECT_TRUE(timestamp_acceptable(now, now, std::nullopt, 7));
  EXPECT_TRUE(timestamp_acceptable(ntp(3'900'000'007ULL), now, std::nullopt, 7));  // ahead
  EXPECT_TRUE(timestamp_acceptable(ntp(3'899'999'993ULL), now, std::nullopt, 7));  // behind
}

TEST(MobilityAuth, Rfc4285_6_TimestampOutsideWindowRejected) {
  const std::uint64_t now = ntp(3'900'000'000ULL);
  EXPECT_FALSE(timestamp_acceptable(ntp(3'900'000'008ULL), now, std::nullopt, 7));
  EXPECT_FALSE(timestamp_acceptable(ntp(3'899'999'992ULL), now, std::nullopt, 7));
  EXPECT_FALSE(timestamp_acceptable(0, now, std::nullopt, 7));
}

TEST(MobilityAuth, Rfc4285_6_TimestampExtremesDoNotOverflow) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_FALSE(timestamp_acceptable(kMax, 0, std::nullopt, 7));
  EXPECT_FALSE(timestamp_acceptable(0, kMax, std::nullopt, 7));
  EXPECT_TRUE(timestamp_acceptable(kMax, kMax, std::nullopt, 0));
  EXPECT_TRUE(timestamp_acceptable(kMax, 0, std::nullopt, 0xffffffffu));
  EXPECT_TRUE(timestamp_acceptable(0, kMax, std::nullopt, 0xffffffffu));
}

TEST(MobilityAuth, Rfc4285_6_TimestampMustBeNewerThanLastAccepted) {
  const std::uint64_t now = ntp(3'900'000'000ULL);
  const std::uint64_t last = ntp(3'900'000'000ULL, 100);
  EXPECT_FALSE(timestamp_acceptable(last, now, last, 7));      // replay of the same message
  EXPECT_FALSE(timestamp_acceptable(last - 1, now, last, 7));  // older, though in the window
  EXPECT_TRUE(timestamp_acceptable(last + 1, now, last, 7));   // newer by one fraction unit
}

}  // namespace
}  // namespace mipv6::ipsec

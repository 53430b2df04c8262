#include "ipsec/esp.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "wire/chain.h"
#include "wire/hex.h"
#include "wire/packet.h"

namespace mipv6::ipsec {
namespace {

using wire::Ipv6Address;

const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCn = *Ipv6Address::parse("2001:db8:3::10");

constexpr EspSuite kAllSuites[] = {EspSuite::kAesGcm16, EspSuite::kAesCbcHmacSha256,
                                   EspSuite::kTripleDesCbcHmacSha1};

Bytes unhex(std::string_view text) {
  return *wire::from_hex(text);
}

Bytes pattern(std::size_t size, std::uint8_t first) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i)
    out[i] = static_cast<std::byte>(first + i);
  return out;
}

EspParameters parameters_for(EspSuite suite, std::uint32_t spi = 0x1234) {
  EspParameters p;
  p.spi = spi;
  p.suite = suite;
  switch (suite) {
    case EspSuite::kAesGcm16:
      p.encryption_key = pattern(20, 0x10);
      break;
    case EspSuite::kAesCbcHmacSha256:
      p.encryption_key = pattern(16, 0x20);
      p.authentication_key = pattern(32, 0x80);
      break;
    case EspSuite::kTripleDesCbcHmacSha1:
      p.encryption_key = pattern(24, 0x50);
      p.authentication_key = pattern(20, 0x70);
      break;
  }
  return p;
}

std::size_t iv_size(EspSuite suite) {
  return suite == EspSuite::kAesCbcHmacSha256 ? 16 : 8;
}
std::size_t icv_size(EspSuite suite) {
  return suite == EspSuite::kTripleDesCbcHmacSha1 ? 12 : 16;
}
std::size_t block_size(EspSuite suite) {
  return suite == EspSuite::kAesGcm16 ? 4 : iv_size(suite);
}

// An ESP packet made with the raw primitives, independently of EspSender, so that the test can
// put anything in the plaintext (bad padding) and still have a valid ICV.
Bytes raw_esp(const EspParameters& p, std::uint32_t sequence, const Bytes& plaintext) {
  Bytes esp(8);
  wire::store_be16(&esp[0], static_cast<std::uint16_t>(p.spi >> 16));
  wire::store_be16(&esp[2], static_cast<std::uint16_t>(p.spi));
  wire::store_be16(&esp[4], static_cast<std::uint16_t>(sequence >> 16));
  wire::store_be16(&esp[6], static_cast<std::uint16_t>(sequence));
  Bytes iv = pattern(iv_size(p.suite), 0xe0);
  esp.insert(esp.end(), iv.begin(), iv.end());
  Bytes ciphertext(plaintext.size());
  if (p.suite == EspSuite::kAesGcm16) {
    Bytes key(p.encryption_key.begin(), p.encryption_key.end() - 4);
    Bytes nonce(p.encryption_key.end() - 4, p.encryption_key.end());
    nonce.insert(nonce.end(), iv.begin(), iv.end());
    std::array<std::byte, 16> tag{};
    Bytes aad(esp.begin(), esp.begin() + 8);
    EXPECT_TRUE(crypto::aes_gcm_seal(key, nonce, aad, plaintext, ciphertext, tag));
    esp.insert(esp.end(), ciphertext.begin(), ciphertext.end());
    esp.insert(esp.end(), tag.begin(), tag.end());
    return esp;
  }
  auto cipher = p.suite == EspSuite::kAesCbcHmacSha256 ? crypto::CbcCipher::kAes
                                                       : crypto::CbcCipher::kTripleDes;
  EXPECT_TRUE(crypto::cbc_encrypt(cipher, p.encryption_key, iv, plaintext, ciphertext));
  esp.insert(esp.end(), ciphertext.begin(), ciphertext.end());
  if (p.suite == EspSuite::kAesCbcHmacSha256) {
    auto mac = crypto::hmac_sha256(p.authentication_key, esp);
    esp.insert(esp.end(), mac.begin(), mac.begin() + 16);
  } else {
    auto mac = crypto::hmac_sha1(p.authentication_key, esp);
    esp.insert(esp.end(), mac.begin(), mac.begin() + 12);
  }
  return esp;
}

// The decrypted payload | padding | Pad Length | Next Header, with the raw primitives.
Bytes raw_plaintext(const EspParameters& p, const Bytes& esp) {
  std::size_t iv = iv_size(p.suite);
  Bytes iv_bytes(esp.begin() + 8, esp.begin() + 8 + static_cast<std::ptrdiff_t>(iv));
  Bytes ciphertext(esp.begin() + 8 + static_cast<std::ptrdiff_t>(iv),
                   esp.end() - static_cast<std::ptrdiff_t>(icv_size(p.suite)));
  Bytes plaintext(ciphertext.size());
  if (p.suite == EspSuite::kAesGcm16) {
    Bytes key(p.encryption_key.begin(), p.encryption_key.end() - 4);
    Bytes nonce(p.encryption_key.end() - 4, p.encryption_key.end());
    nonce.insert(nonce.end(), iv_bytes.begin(), iv_bytes.end());
    Bytes aad(esp.begin(), esp.begin() + 8);
    Bytes tag(esp.end() - 16, esp.end());
    EXPECT_TRUE(crypto::aes_gcm_open(key, nonce, aad, ciphertext, tag, plaintext));
  } else {
    auto cipher = p.suite == EspSuite::kAesCbcHmacSha256 ? crypto::CbcCipher::kAes
                                                         : crypto::CbcCipher::kTripleDes;
    EXPECT_TRUE(crypto::cbc_decrypt(cipher, p.encryption_key, iv_bytes, ciphertext, plaintext));
  }
  return plaintext;
}

// payload | 1, 2, ..., pad | pad | next header, padded to the suite's block (RFC 4303 §2.4).
Bytes well_padded(const Bytes& payload, std::uint8_t next_header, std::size_t block) {
  Bytes out = payload;
  std::size_t pad = (block - (payload.size() + 2) % block) % block;
  for (std::size_t i = 1; i <= pad; ++i)
    out.push_back(static_cast<std::byte>(i));
  out.push_back(static_cast<std::byte>(pad));
  out.push_back(static_cast<std::byte>(next_header));
  return out;
}

Bytes protect_one(EspSender& sender, std::uint8_t next_header, const Bytes& payload) {
  Bytes out;
  EXPECT_EQ(sender.protect(next_header, payload, out), std::nullopt);
  return out;
}

std::optional<EspError> open_error(EspReceiver& receiver, const Bytes& esp) {
  auto result = receiver.open(esp);
  if (auto* error = std::get_if<EspError>(&result)) return *error;
  return std::nullopt;
}

// BU: IPv6 (CoA -> HA) | Destination Options (Home Address option) | MH (RFC 6275 §9.5.1).
Bytes binding_update() {
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kHa;
  spec.extension_headers = {wire::make_home_address_destination_options(kHoa)};
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0500 0000 002a c000 0064 0102 0000");
  return wire::build_packet(spec);
}

// BA: IPv6 (HA -> CoA) | Type 2 Routing header | MH (RFC 6275 §6.4).
Bytes binding_ack() {
  wire::PacketSpec spec;
  spec.header.source = kHa;
  spec.header.destination = kCoa;
  spec.extension_headers = {wire::make_type2_routing_header(kHoa)};
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0600 0000 0000 002a 0064 0102 0000");
  return wire::build_packet(spec);
}

// A HoTI-sized packet from the home address, as the mobile node reverse-tunnels it.
Bytes inner_packet() {
  wire::PacketSpec spec;
  spec.header.source = kHoa;
  spec.header.destination = kCn;
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b02 0100 0000 0000 1122 3344 5566 7788");
  return wire::build_packet(spec);
}

Bytes unprotect_ok(EspReceiver& receiver, const Bytes& packet) {
  auto result = unprotect(receiver, packet);
  if (auto* error = std::get_if<EspError>(&result)) {
    ADD_FAILURE() << "unprotect: " << to_string(*error);
    return {};
  }
  return std::get<Bytes>(result);
}

// ---- Suites and parameters ----

TEST(Esp, SuiteNamesRoundTrip) {
  for (EspSuite suite : kAllSuites)
    EXPECT_EQ(parse_suite(to_string(suite)), suite);
  EXPECT_EQ(parse_suite("aes-gcm"), std::nullopt);
  EXPECT_EQ(parse_suite(""), std::nullopt);
}

TEST(Esp, ErrorNamesAreDistinct) {
  std::vector<std::string_view> names;
  for (EspError e :
       {EspError::kTruncated, EspError::kWrongSpi, EspError::kAuthenticationFailed,
        EspError::kReplayed, EspError::kTooOld, EspError::kBadPadding, EspError::kSequenceExhausted,
        EspError::kCryptoFailure, EspError::kMalformedPacket}) {
    names.push_back(to_string(e));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
}

TEST(Esp, CheckParametersAcceptsEachSuite) {
  for (EspSuite suite : kAllSuites)
    EXPECT_EQ(check_parameters(parameters_for(suite)), std::nullopt) << to_string(suite);
  EspParameters gcm256 = parameters_for(EspSuite::kAesGcm16);
  gcm256.encryption_key = pattern(36, 1);
  EXPECT_EQ(check_parameters(gcm256), std::nullopt);
}

TEST(Esp, Rfc4303_2_1_ReservedSpiRejected) {
  EspParameters p = parameters_for(EspSuite::kAesGcm16, 255);
  ASSERT_TRUE(check_parameters(p));
  EXPECT_NE(check_parameters(p)->find("SPI"), std::string::npos);
  p.spi = kMinimumSpi;
  EXPECT_EQ(check_parameters(p), std::nullopt);
}

TEST(Esp, CheckParametersRejectsWrongKeySizes) {
  EspParameters gcm = parameters_for(EspSuite::kAesGcm16);
  gcm.encryption_key = pattern(16, 1);  // salt missing (RFC 4106 §8.1)
  EXPECT_TRUE(check_parameters(gcm));
  gcm = parameters_for(EspSuite::kAesGcm16);
  gcm.authentication_key = pattern(20, 1);
  EXPECT_TRUE(check_parameters(gcm));

  EspParameters cbc = parameters_for(EspSuite::kAesCbcHmacSha256);
  cbc.encryption_key = pattern(20, 1);
  EXPECT_TRUE(check_parameters(cbc));
  cbc = parameters_for(EspSuite::kAesCbcHmacSha256);
  cbc.authentication_key = pattern(20, 1);
  EXPECT_TRUE(check_parameters(cbc));

  EspParameters des = parameters_for(EspSuite::kTripleDesCbcHmacSha1);
  des.encryption_key = pattern(16, 1);
  EXPECT_TRUE(check_parameters(des));
  des = parameters_for(EspSuite::kTripleDesCbcHmacSha1);
  des.authentication_key = pattern(32, 1);
  EXPECT_TRUE(check_parameters(des));
}

TEST(Esp, Rfc4303_3_4_3_WindowAtMost1024) {
  EspParameters p = parameters_for(EspSuite::kAesGcm16);
  p.replay_window = 1024;
  EXPECT_EQ(check_parameters(p), std::nullopt);
  p.replay_window = 1025;
  EXPECT_TRUE(check_parameters(p));
}

TEST(Esp, SenderWithBadParametersRefuses) {
  EspParameters p = parameters_for(EspSuite::kAesGcm16);
  p.encryption_key.resize(10);
  EspSender sender(p);
  Bytes out;
  EXPECT_EQ(sender.protect(59, {}, out), EspError::kCryptoFailure);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(sender.next_sequence(), 1u);
}

TEST(Esp, PeekSpi) {
  EXPECT_EQ(peek_spi(unhex("0000 1234 0000 0001")), 0x1234u);
  EXPECT_EQ(peek_spi(unhex("0000 1234 0000 00")), std::nullopt);
}

// ---- Per suite ----

class EspSuiteTest : public ::testing::TestWithParam<EspSuite> {
 protected:
  EspParameters params = parameters_for(GetParam());
  EspSender sender{params};
  EspReceiver receiver{params};
};

std::string suite_test_name(const ::testing::TestParamInfo<EspSuite>& param_info) {
  switch (param_info.param) {
    case EspSuite::kAesGcm16:
      return "AesGcm16";
    case EspSuite::kAesCbcHmacSha256:
      return "AesCbcSha256";
    case EspSuite::kTripleDesCbcHmacSha1:
      return "TripleDes";
  }
  return "Unknown";
}
INSTANTIATE_TEST_SUITE_P(Esp, EspSuiteTest, ::testing::ValuesIn(kAllSuites), suite_test_name);

TEST_P(EspSuiteTest, RoundTripEveryPayloadSize) {
  for (std::size_t size = 0; size <= 40; ++size) {
    Bytes payload = pattern(size, static_cast<std::uint8_t>(size));
    Bytes esp = protect_one(sender, 135, payload);
    EXPECT_EQ(esp.size(), sender.protected_size(size));
    auto result = receiver.open(esp);
    ASSERT_TRUE(std::holds_alternative<EspOpened>(result)) << size;
    auto& opened = std::get<EspOpened>(result);
    EXPECT_EQ(opened.next_header, 135);
    EXPECT_EQ(opened.payload, payload);
    EXPECT_EQ(opened.sequence, size + 1);
  }
  EXPECT_EQ(receiver.highest_sequence(), 41u);
  EXPECT_EQ(sender.next_sequence(), 42u);
}

TEST_P(EspSuiteTest, Rfc4303_2_LayoutSpiSequenceIvIcv) {
  Bytes esp = protect_one(sender, 58, pattern(13, 0));
  EXPECT_EQ(wire::load_be32(&esp[0]), params.spi);
  EXPECT_EQ(wire::load_be32(&esp[4]), 1u);  // RFC 4303 §3.3.3: the first packet carries 1
  std::size_t ciphertext = esp.size() - 8 - iv_size(GetParam()) - icv_size(GetParam());
  EXPECT_EQ(ciphertext % block_size(GetParam()), 0u);
  EXPECT_EQ(esp.size() % 4, 0u);  // RFC 4303 §2.4: the ICV starts 4-octet aligned
  Bytes second = protect_one(sender, 58, pattern(13, 0));
  EXPECT_EQ(wire::load_be32(&second[4]), 2u);
  // IVs never repeat: RFC 4106 §3.1 (counter), RFC 3602 §3 (random).
  EXPECT_NE(Bytes(esp.begin() + 8, esp.begin() + 16),
            Bytes(second.begin() + 8, second.begin() + 16));
}

TEST_P(EspSuiteTest, Rfc4303_2_4_PaddingIsOneTwoThree) {
  Bytes payload = pattern(5, 0xa0);
  Bytes esp = protect_one(sender, 135, payload);
  Bytes plaintext = raw_plaintext(params, esp);
  EXPECT_EQ(plaintext, well_padded(payload, 135, block_size(GetParam())));
}

TEST_P(EspSuiteTest, OpensPacketsBuiltWithTheRawPrimitives) {
  Bytes payload = pattern(21, 3);
  Bytes esp = raw_esp(params, 9, well_padded(payload, 58, block_size(GetParam())));
  auto result = receiver.open(esp);
  ASSERT_TRUE(std::holds_alternative<EspOpened>(result));
  EXPECT_EQ(std::get<EspOpened>(result).payload, payload);
  EXPECT_EQ(std::get<EspOpened>(result).next_header, 58);
  EXPECT_EQ(std::get<EspOpened>(result).sequence, 9u);
}

TEST_P(EspSuiteTest, TruncatedIsRejected) {
  Bytes esp = protect_one(sender, 135, pattern(20, 0));
  EXPECT_EQ(open_error(receiver, Bytes(esp.begin(), esp.begin() + 7)), EspError::kTruncated);
  auto minimum = static_cast<std::ptrdiff_t>(8 + iv_size(GetParam()) + icv_size(GetParam()) + 2);
  EXPECT_EQ(open_error(receiver, Bytes(esp.begin(), esp.begin() + minimum - 1)),
            EspError::kTruncated);
  if (GetParam() != EspSuite::kAesGcm16) {
    // Ciphertext that is not a whole number of blocks.
    EXPECT_EQ(open_error(receiver, Bytes(esp.begin(), esp.end() - 4)), EspError::kTruncated);
  } else {
    EXPECT_EQ(open_error(receiver, Bytes(esp.begin(), esp.end() - 4)),
              EspError::kAuthenticationFailed);
  }
  EXPECT_EQ(open_error(receiver, esp), std::nullopt);  // the window did not move before
}

TEST_P(EspSuiteTest, WrongSpiIsRejected) {
  EspSender other(parameters_for(GetParam(), 0x9999));
  Bytes esp = protect_one(other, 135, pattern(20, 0));
  EXPECT_EQ(open_error(receiver, esp), EspError::kWrongSpi);
  esp[3] ^= std::byte{0x01};
  EXPECT_EQ(open_error(receiver, esp), EspError::kWrongSpi);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_4_EveryFlippedBitFailsAuthentication) {
  Bytes esp = protect_one(sender, 135, pattern(20, 0));
  std::size_t iv_offset = 8;
  std::size_t ciphertext_offset = 8 + iv_size(GetParam());
  std::size_t icv_offset = esp.size() - icv_size(GetParam());
  for (std::size_t offset : {std::size_t{6} /* sequence (AAD) */, iv_offset, ciphertext_offset,
                             icv_offset - 1, icv_offset, esp.size() - 1}) {
    for (std::byte bit : {std::byte{0x01}, std::byte{0x80}}) {
      Bytes bad = esp;
      bad[offset] ^= bit;
      EXPECT_EQ(open_error(receiver, bad), EspError::kAuthenticationFailed) << offset;
    }
  }
  EXPECT_EQ(receiver.highest_sequence(), 0u);
  EXPECT_EQ(open_error(receiver, esp), std::nullopt);
}

TEST_P(EspSuiteTest, WrongKeyFailsAuthentication) {
  EspParameters wrong = params;
  wrong.encryption_key[0] ^= std::byte{1};
  if (!wrong.authentication_key.empty()) wrong.authentication_key[0] ^= std::byte{1};
  EspReceiver other(wrong);
  EXPECT_EQ(open_error(other, protect_one(sender, 135, pattern(8, 0))),
            EspError::kAuthenticationFailed);
}

TEST_P(EspSuiteTest, Rfc4303_2_4_BadPadOctetsRejected) {
  Bytes plaintext = well_padded(pattern(3, 0x40), 135, block_size(GetParam()));
  // Make sure there are at least two pad octets to corrupt: 3 + 2 leaves 3 (GCM: 3) of them.
  std::size_t pad = std::to_integer<std::size_t>(plaintext[plaintext.size() - 2]);
  ASSERT_GE(pad, 2u);
  plaintext[3 + 1] = std::byte{7};  // pad octets 1, 7, 3 ...
  EXPECT_EQ(open_error(receiver, raw_esp(params, 5, plaintext)), EspError::kBadPadding);
  EXPECT_EQ(receiver.highest_sequence(), 0u);  // a dropped packet leaves the window alone
}

TEST_P(EspSuiteTest, Rfc4303_2_4_PadLengthBeyondPayloadRejected) {
  Bytes plaintext = well_padded(pattern(3, 0x40), 135, block_size(GetParam()));
  plaintext[plaintext.size() - 2] = static_cast<std::byte>(plaintext.size() - 1);
  EXPECT_EQ(open_error(receiver, raw_esp(params, 5, plaintext)), EspError::kBadPadding);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_3_ReplayedSequenceDropped) {
  Bytes esp = protect_one(sender, 135, pattern(8, 0));
  EXPECT_EQ(open_error(receiver, esp), std::nullopt);
  EXPECT_EQ(open_error(receiver, esp), EspError::kReplayed);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_3_SequenceLeftOfWindowIsTooOld) {
  std::vector<Bytes> packets;
  for (int i = 0; i < 100; ++i)
    packets.push_back(protect_one(sender, 135, pattern(8, 0)));
  EXPECT_EQ(open_error(receiver, packets[99]), std::nullopt);  // sequence 100
  EXPECT_EQ(receiver.highest_sequence(), 100u);
  EXPECT_EQ(open_error(receiver, packets[35]), EspError::kTooOld);  // 36: 64 behind
  EXPECT_EQ(open_error(receiver, packets[36]), std::nullopt);       // 37: last in the window
  EXPECT_EQ(open_error(receiver, packets[36]), EspError::kReplayed);
  EXPECT_EQ(open_error(receiver, packets[98]), std::nullopt);  // late but in the window
  EXPECT_EQ(receiver.highest_sequence(), 100u);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_3_WindowMovesOnlyAfterIcvVerified) {
  Bytes forged = raw_esp(params, 5000, well_padded({}, 59, block_size(GetParam())));
  forged.back() ^= std::byte{0x10};
  EXPECT_EQ(open_error(receiver, forged), EspError::kAuthenticationFailed);
  EXPECT_EQ(receiver.highest_sequence(), 0u);
  EXPECT_EQ(open_error(receiver, protect_one(sender, 135, pattern(8, 0))), std::nullopt);
  EXPECT_EQ(receiver.highest_sequence(), 1u);
}

TEST_P(EspSuiteTest, Rfc4303_3_3_3_SequenceZeroNeverValid) {
  Bytes esp = raw_esp(params, 0, well_padded(pattern(4, 0), 135, block_size(GetParam())));
  EXPECT_EQ(open_error(receiver, esp), EspError::kTooOld);
  EspParameters off = params;
  off.replay_window = 0;
  EspReceiver no_window(off);
  EXPECT_EQ(open_error(no_window, esp), EspError::kTooOld);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_3_ZeroWindowTurnsAntiReplayOff) {
  EspParameters off = params;
  off.replay_window = 0;
  EspReceiver no_window(off);
  Bytes esp = protect_one(sender, 135, pattern(8, 0));
  EXPECT_EQ(open_error(no_window, esp), std::nullopt);
  EXPECT_EQ(open_error(no_window, esp), std::nullopt);
  EXPECT_EQ(no_window.highest_sequence(), 1u);
}

TEST_P(EspSuiteTest, Rfc4303_3_4_3_LargeWindowTracksEverySequence) {
  EspParameters wide = params;
  wide.replay_window = 1024;
  EspReceiver receiver1024(wide);
  Bytes body = well_padded(pattern(4, 0), 135, block_size(GetParam()));
  // Right edge at 3000, then everything in (1976, 3000] once, in reverse.
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 3000, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 1976, body)), EspError::kTooOld);
  for (std::uint32_t s = 2999; s > 2990; --s)
    EXPECT_EQ(open_error(receiver1024, raw_esp(wide, s, body)), std::nullopt) << s;
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 1977, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 1977, body)), EspError::kReplayed);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 2995, body)), EspError::kReplayed);
  // A jump by less than the window keeps the old bits that stay inside it, and clears the ones
  // that wrap around onto the new sequence numbers.
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 3500, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 2995, body)), EspError::kReplayed);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 1977 + 1024, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 3499, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 2476, body)), EspError::kTooOld);
  // A jump beyond the window forgets everything.
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 9000, body)), std::nullopt);
  EXPECT_EQ(open_error(receiver1024, raw_esp(wide, 8000, body)), std::nullopt);
  EXPECT_EQ(receiver1024.highest_sequence(), 9000u);
}

TEST_P(EspSuiteTest, Rfc4303_3_3_3_SequenceExhaustedAfterMax) {
  EspSender last(params, 0xFFFFFFFF);
  EXPECT_EQ(last.next_sequence(), 0xFFFFFFFFu);
  Bytes esp = protect_one(last, 135, pattern(8, 0));
  EXPECT_EQ(wire::load_be32(&esp[4]), 0xFFFFFFFFu);
  EXPECT_EQ(last.next_sequence(), 0u);
  Bytes out;
  EXPECT_EQ(last.protect(135, pattern(8, 0), out), EspError::kSequenceExhausted);
  EXPECT_TRUE(out.empty());
  auto packet = protect_transport(last, binding_update());
  ASSERT_TRUE(std::holds_alternative<EspError>(packet));
  EXPECT_EQ(std::get<EspError>(packet), EspError::kSequenceExhausted);

  EXPECT_EQ(open_error(receiver, esp), std::nullopt);
  EXPECT_EQ(receiver.highest_sequence(), 0xFFFFFFFFu);
}

TEST_P(EspSuiteTest, ProtectAppendsToWhatOutHolds) {
  Bytes out = unhex("aabbcc");
  ASSERT_EQ(sender.protect(135, pattern(10, 0), out), std::nullopt);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), unhex("aabbcc"));
  EXPECT_EQ(open_error(receiver, Bytes(out.begin() + 3, out.end())), std::nullopt);
}

// ---- Whole packets ----

TEST_P(EspSuiteTest, Rfc3776_3_TransportBuKeepsHomeAddressOptionOutside) {
  Bytes bu = binding_update();
  auto protected_packet = protect_transport(sender, bu);
  ASSERT_TRUE(std::holds_alternative<Bytes>(protected_packet));
  Bytes& p = std::get<Bytes>(protected_packet);
  auto layout = wire::walk_chain(p);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->header_count, 2u);  // Destination Options, ESP
  EXPECT_EQ(layout->headers[0].type, wire::ip_proto::kDestinationOptions);
  EXPECT_EQ(layout->headers[1].type, kProtocolEsp);
  EXPECT_EQ(layout->home_address, kHoa);
  EXPECT_EQ(layout->upper_protocol, kProtocolEsp);
  EXPECT_EQ(layout->upper_offset, 64u);
  EXPECT_EQ(p.size(), 40u + layout->ipv6.payload_length);
  EXPECT_EQ(Bytes(p.begin() + 8, p.begin() + 40), Bytes(bu.begin() + 8, bu.begin() + 40));
  EXPECT_EQ(unprotect_ok(receiver, p), bu);
}

TEST_P(EspSuiteTest, Rfc3776_3_TransportBaKeepsType2RoutingHeaderOutside) {
  Bytes ba = binding_ack();
  auto protected_packet = protect_transport(sender, ba);
  ASSERT_TRUE(std::holds_alternative<Bytes>(protected_packet));
  Bytes& p = std::get<Bytes>(protected_packet);
  auto layout = wire::walk_chain(p);
  ASSERT_TRUE(layout);
  ASSERT_EQ(layout->header_count, 2u);
  EXPECT_EQ(layout->headers[0].type, wire::ip_proto::kRouting);
  EXPECT_EQ(layout->type2_address, kHoa);
  EXPECT_EQ(layout->upper_protocol, kProtocolEsp);
  EXPECT_EQ(unprotect_ok(receiver, p), ba);
}

TEST_P(EspSuiteTest, Rfc4303_3_1_1_TransportWithoutExtensionHeaders) {
  Bytes plain = inner_packet();
  auto protected_packet = protect_transport(sender, plain);
  ASSERT_TRUE(std::holds_alternative<Bytes>(protected_packet));
  Bytes& p = std::get<Bytes>(protected_packet);
  EXPECT_EQ(std::to_integer<int>(p[6]), kProtocolEsp);
  EXPECT_EQ(unprotect_ok(receiver, p), plain);
}

TEST_P(EspSuiteTest, Rfc4303_3_1_2_TunnelCarriesTheInnerPacket) {
  Bytes inner = inner_packet();
  auto protected_packet = protect_tunnel(sender, inner, kCoa, kHa, 33);
  ASSERT_TRUE(std::holds_alternative<Bytes>(protected_packet));
  Bytes& p = std::get<Bytes>(protected_packet);
  auto layout = wire::walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->ipv6.next_header, kProtocolEsp);
  EXPECT_EQ(layout->ipv6.source, kCoa);
  EXPECT_EQ(layout->ipv6.destination, kHa);
  EXPECT_EQ(layout->ipv6.hop_limit, 33);
  EXPECT_EQ(p.size(), 40u + layout->ipv6.payload_length);

  Bytes opened = unprotect_ok(receiver, p);
  ASSERT_EQ(opened.size(), 40 + inner.size());
  EXPECT_EQ(std::to_integer<int>(opened[6]), wire::ip_proto::kIpv6);
  EXPECT_EQ(Bytes(opened.begin() + 40, opened.end()), inner);
  auto decapsulated = wire::decapsulate(opened);
  ASSERT_TRUE(decapsulated);
  EXPECT_EQ(Bytes(decapsulated->begin(), decapsulated->end()), inner);
}

TEST_P(EspSuiteTest, UnprotectReportsEspErrors) {
  auto protected_packet = protect_transport(sender, binding_update());
  ASSERT_TRUE(std::holds_alternative<Bytes>(protected_packet));
  Bytes p = std::get<Bytes>(protected_packet);
  Bytes bad = p;
  bad[80] ^= std::byte{0x04};
  auto result = unprotect(receiver, bad, 64, 40);
  ASSERT_TRUE(std::holds_alternative<EspError>(result));
  EXPECT_EQ(std::get<EspError>(result), EspError::kAuthenticationFailed);
  EXPECT_TRUE(std::holds_alternative<Bytes>(unprotect(receiver, p, 64, 40)));
  result = unprotect(receiver, p, 64, 40);
  ASSERT_TRUE(std::holds_alternative<EspError>(result));
  EXPECT_EQ(std::get<EspError>(result), EspError::kReplayed);
}

TEST_P(EspSuiteTest, MalformedPacketsAreRefused) {
  Bytes bu = binding_update();
  auto error_of = [](const std::variant<Bytes, EspError>& r) {
    return std::holds_alternative<EspError>(r) ? std::optional(std::get<EspError>(r))
                                               : std::nullopt;
  };
  EXPECT_EQ(error_of(protect_transport(sender, Bytes(bu.begin(), bu.begin() + 39))),
            EspError::kMalformedPacket);
  Bytes broken = bu;
  broken[41] = std::byte{9};  // Hdr Ext Len beyond the packet
  EXPECT_EQ(error_of(protect_transport(sender, broken)), EspError::kMalformedPacket);
  EXPECT_EQ(error_of(protect_tunnel(sender, Bytes(20), kCoa, kHa)), EspError::kMalformedPacket);
  EXPECT_EQ(sender.next_sequence(), 1u);  // nothing was spent on them

  // RFC 4303 §3.3.4: ESP goes on before fragmentation.
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kHa;
  wire::FragmentHeader fragment;
  fragment.m_flag = true;
  spec.extension_headers = {wire::make_fragment_header(fragment)};
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = Bytes(16);
  spec.compute_checksum = false;
  EXPECT_EQ(error_of(protect_transport(sender, wire::build_packet(spec))),
            EspError::kMalformedPacket);

  auto p = std::get<Bytes>(protect_transport(sender, bu));
  EXPECT_EQ(error_of(unprotect(receiver, p, 30, 6)), EspError::kMalformedPacket);  // in header
  EXPECT_EQ(error_of(unprotect(receiver, p, p.size() + 1, 40)), EspError::kMalformedPacket);
  EXPECT_EQ(error_of(unprotect(receiver, p, 64, 64)), EspError::kMalformedPacket);
  EXPECT_EQ(error_of(unprotect(receiver, p, 64, 6)), EspError::kMalformedPacket);  // names 60
  EXPECT_EQ(error_of(unprotect(receiver, Bytes(p.begin(), p.end() - 1), 64, 40)),
            EspError::kMalformedPacket);  // Payload Length beyond the packet
  EXPECT_EQ(error_of(unprotect(receiver, bu)), EspError::kMalformedPacket);  // no ESP in it
  EXPECT_EQ(receiver.highest_sequence(), 0u);
}

// ---- Interop with scapy ----

struct Vector {
  std::string name;
  std::map<std::string, std::string> fields;
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> vectors;
  std::filesystem::path dir = std::filesystem::path(MIPV6_VECTORS_DIR) / "esp";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    Vector v{entry.path().stem().string(), {}};
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream words(line);
      std::string key, value;
      words >> key >> value;
      v.fields[key] = value;
    }
    vectors.push_back(std::move(v));
  }
  std::sort(vectors.begin(), vectors.end(),
            [](const Vector& a, const Vector& b) { return a.name < b.name; });
  return vectors;
}

EspParameters parameters_from(const Vector& v) {
  EspParameters p;
  p.spi = static_cast<std::uint32_t>(std::stoul(v.fields.at("spi")));
  p.suite = *parse_suite(v.fields.at("suite"));
  p.encryption_key = unhex(v.fields.at("encryption_key"));
  if (v.fields.at("authentication_key") != "-") {
    p.authentication_key = unhex(v.fields.at("authentication_key"));
  }
  return p;
}

TEST(EspInterop, DecryptsScapyVectors) {
  auto vectors = load_vectors();
  ASSERT_GE(vectors.size(), 7u);
  std::map<std::string, int> suites_seen;
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    EspParameters p = parameters_from(v);
    ASSERT_EQ(check_parameters(p), std::nullopt);
    suites_seen[v.fields.at("suite") + "/" + v.fields.at("mode")]++;
    Bytes encrypted = unhex(v.fields.at("encrypted"));
    Bytes plaintext = unhex(v.fields.at("plaintext"));
    EspReceiver receiver(p);
    Bytes opened = unprotect_ok(receiver, encrypted);
    EXPECT_EQ(receiver.highest_sequence(), std::stoul(v.fields.at("sequence")));
    if (v.fields.at("mode") == "transport") {
      EXPECT_EQ(wire::to_hex(opened), wire::to_hex(plaintext));
    } else {
      ASSERT_EQ(opened.size(), 40 + plaintext.size());
      EXPECT_EQ(std::to_integer<int>(opened[6]), wire::ip_proto::kIpv6);
      EXPECT_EQ(Bytes(opened.begin() + 40, opened.end()), plaintext);
    }
    // The same packet with one bit changed does not pass.
    EspReceiver fresh(p);
    Bytes bad = encrypted;
    bad[bad.size() - 20] ^= std::byte{0x01};
    auto result = unprotect(fresh, bad);
    ASSERT_TRUE(std::holds_alternative<EspError>(result));
    EXPECT_EQ(std::get<EspError>(result), EspError::kAuthenticationFailed);
  }
  EXPECT_EQ(suites_seen.size(), 6u);  // every suite in both modes
}

// Our packets, decrypted by scapy (scripts/esp_scapy_decrypt.py). Needs /usr/bin/python3 with
// scapy (make setup installs python3-scapy); without them this fails.
TEST(EspInterop, ScapyDecryptsOurPackets) {
  struct Case {
    std::string line;
    Bytes expected;
  };
  std::vector<Case> cases;
  for (EspSuite suite : kAllSuites) {
    EspParameters p = parameters_for(suite, 0x4000 + static_cast<std::uint32_t>(suite));
    EspSender sender(p, 7);
    std::string prefix = std::string(to_string(suite)) + " " + std::to_string(p.spi) + " " +
                         wire::to_hex(p.encryption_key) + " " +
                         (p.authentication_key.empty() ? "-" : wire::to_hex(p.authentication_key));
    for (const Bytes& plain : {binding_update(), binding_ack()}) {
      auto packet = protect_transport(sender, plain);
      ASSERT_TRUE(std::holds_alternative<Bytes>(packet));
      cases.push_back({prefix + " transport " + wire::to_hex(std::get<Bytes>(packet)), plain});
    }
    Bytes inner = inner_packet();
    auto packet = protect_tunnel(sender, inner, kCoa, kHa);
    ASSERT_TRUE(std::holds_alternative<Bytes>(packet));
    cases.push_back({prefix + " tunnel " + wire::to_hex(std::get<Bytes>(packet)), inner});
  }

  auto dir = std::filesystem::temp_directory_path();
  std::string stem = "esp_test_" + std::to_string(::getpid());
  auto input = dir / (stem + ".in");
  auto output = dir / (stem + ".out");
  {
    std::ofstream out(input);
    for (const Case& c : cases)
      out << c.line << "\n";
  }
  std::string script = std::string(MIPV6_VECTORS_DIR) + "/../../scripts/esp_scapy_decrypt.py";
  std::string command =
      "/usr/bin/python3 " + script + " " + input.string() + " > " + output.string();
  int status = std::system(command.c_str());
  std::ifstream in(output);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::filesystem::remove(input);
  std::filesystem::remove(output);
  ASSERT_EQ(status, 0) << command;
  ASSERT_EQ(lines.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(lines[i], wire::to_hex(cases[i].expected)) << cases[i].line;
}

}  // namespace
}  // namespace mipv6::ipsec

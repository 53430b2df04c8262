// The daemon's security policy (signalling_security.h, issue 7) without sockets: a mobile
// node's and a home agent's SignallingSecurity built from the same [security] section, each
// protecting what it sends and opening what the other sent.
#include "daemon/signalling_security.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "wire/hex.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using wire::Bytes;
using wire::Ipv6Address;

const Ipv6Address kHome = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kOtherHome = *Ipv6Address::parse("2001:db8:1::101");
const Ipv6Address kAgent = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCareOf = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kCorrespondent = *Ipv6Address::parse("2001:db8:5::5");
constexpr std::uint64_t kNow = std::uint64_t{3'900'000'000} << 32;  // an NTP instant

Bytes unhex(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (c != ' ') digits += c;
  return *wire::from_hex(digits);
}

// Distinct 20-octet AES-GCM keys (16 + salt): `n` tells them apart.
Bytes key(std::uint8_t n) {
  Bytes bytes(20, std::byte{0x11});
  bytes[0] = std::byte{n};
  return bytes;
}

EspEntry esp_entry(const Ipv6Address& home, std::uint32_t spi_base, bool tunnel = false) {
  EspEntry entry;
  entry.home_address = home;
  entry.home_agent = kAgent;
  entry.spi_mn_to_ha = spi_base;
  entry.spi_ha_to_mn = spi_base + 1;
  entry.mn_to_ha.encryption = key(static_cast<std::uint8_t>(spi_base));
  entry.ha_to_mn.encryption = key(static_cast<std::uint8_t>(spi_base + 1));
  if (tunnel) {
    entry.spi_tunnel_mn_to_ha = spi_base + 2;
    entry.spi_tunnel_ha_to_mn = spi_base + 3;
    entry.tunnel_mn_to_ha.encryption = key(static_cast<std::uint8_t>(spi_base + 2));
    entry.tunnel_ha_to_mn.encryption = key(static_cast<std::uint8_t>(spi_base + 3));
  }
  return entry;
}

SecuritySection esp_section(bool tunnel = false) {
  SecuritySection section;
  section.signalling = Signalling::kEsp;
  section.esp = {esp_entry(kHome, 0x1000, tunnel), esp_entry(kOtherHome, 0x2000)};
  return section;
}

// BU: IPv6 (CoA -> HA) | Home Address option | MH BU with A and H (RFC 6275 §6.1.7).
Bytes home_registration(const Ipv6Address& home = kHome) {
  wire::PacketSpec spec;
  spec.header.source = kCareOf;
  spec.header.destination = kAgent;
  spec.extension_headers = {wire::make_home_address_destination_options(home)};
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0500 0000 002a c000 0064 0102 0000");
  return wire::build_packet(spec);
}

// BA: IPv6 (source -> CoA) | Type 2 Routing header | MH BA status 0 (§6.1.8).
Bytes binding_ack(const Ipv6Address& source = kAgent) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = kCareOf;
  spec.extension_headers = {wire::make_type2_routing_header(kHome)};
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0600 0000 0000 002a 0064 0102 0000");
  return wire::build_packet(spec);
}

// A HoTI from the home address, reverse-tunnelled from the care-of address (§11.6.1).
Bytes tunnelled_home_test_init() {
  wire::PacketSpec spec;
  spec.header.source = kHome;
  spec.header.destination = kCorrespondent;
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0100 0000 0000 1122 3344 5566 7788");
  return wire::encapsulate(wire::build_packet(spec), {kCareOf, kAgent});
}

// The RxPacket views `packet`, which must outlive it.
core::RxPacket rx(const Bytes& packet) {
  auto parsed = core::make_rx_packet(packet, 1);
  EXPECT_TRUE(parsed);
  return *parsed;
}
core::RxPacket rx(Bytes&& packet) = delete;  // it would view a temporary

struct Pair {
  SignallingSecurity mobile;
  SignallingSecurity agent;
  explicit Pair(const SecuritySection& section, std::uint64_t agent_clock = kNow)
      : mobile(section, kHome, [] { return kNow; }),
        agent(section, std::nullopt, [agent_clock] { return agent_clock; }) {}
};

// What `to` makes of what `from` sends: the opened packet, or nullopt when it was dropped.
std::optional<OpenedPacket> deliver(SignallingSecurity& from, SignallingSecurity& to,
                                    const Bytes& packet) {
  auto sent = from.outbound(packet);
  EXPECT_TRUE(sent && !sent->empty());
  if (!sent || sent->empty()) return std::nullopt;
  auto layout = wire::walk_chain(*sent);
  EXPECT_TRUE(layout);
  EXPECT_EQ(layout->upper_protocol, ipsec::kProtocolEsp);
  return to.open(*sent, *layout);
}

TEST(SignallingSecurity, HomeRegistrationTravelsInEspTransportMode_Rfc3776_3) {
  Pair pair(esp_section());
  const Bytes bu = home_registration();
  auto sent = pair.mobile.outbound(bu);
  ASSERT_TRUE(sent);
  auto layout = wire::walk_chain(*sent);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->home_address, kHome);  // §11.3.2: the Home Address option stays outside
  auto opened = pair.agent.open(*sent, *layout);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->packet, bu);
  EXPECT_EQ(opened->protection, core::Protection::kEspTransport);
  EXPECT_EQ(opened->spi, 0x1000U);
  core::RxPacket packet = rx(opened->packet);
  packet.protection = opened->protection;
  EXPECT_TRUE(pair.agent.admit(packet));
  EXPECT_EQ(pair.agent.counters().esp_opened, 1U);
}

TEST(SignallingSecurity, AcknowledgementTravelsInEspAfterTheType2Header_Rfc3776_3) {
  Pair pair(esp_section());
  const Bytes ba = binding_ack();
  auto opened = deliver(pair.agent, pair.mobile, ba);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->packet, ba);
  EXPECT_EQ(opened->spi, 0x1001U);
}

TEST(SignallingSecurity, UnprotectedHomeRegistrationIsDropped_5_1) {
  Pair pair(esp_section());
  const Bytes bu = home_registration();
  core::RxPacket packet = rx(bu);
  EXPECT_FALSE(pair.agent.admit(packet));
  EXPECT_EQ(pair.agent.counters().dropped_unprotected_signalling, 1U);
}

TEST(SignallingSecurity, UnprotectedAcknowledgementFromTheHomeAgentIsDropped_5_1) {
  Pair pair(esp_section());
  const Bytes from_agent = binding_ack();
  core::RxPacket packet = rx(from_agent);
  EXPECT_FALSE(pair.mobile.admit(packet));
  // A correspondent's BA is protected by return routability, not by ESP (§5.2): it passes.
  const Bytes from_correspondent = binding_ack(kCorrespondent);
  core::RxPacket other = rx(from_correspondent);
  EXPECT_TRUE(pair.mobile.admit(other));
  EXPECT_EQ(pair.mobile.counters().dropped_unprotected_signalling, 1U);
}

TEST(SignallingSecurity, SaOfAnotherHomeAddressIsDropped_Rfc4877_4_2) {
  Pair pair(esp_section());
  // The SA of kOtherHome, used by its owner to register kHome.
  ipsec::EspSender other_sa({0x2000, ipsec::EspSuite::kAesGcm16, key(0x00), {}, 64});
  auto forged = ipsec::protect_transport(other_sa, home_registration(kHome));
  ASSERT_TRUE(std::holds_alternative<Bytes>(forged));
  const Bytes& bytes = std::get<Bytes>(forged);
  auto layout = wire::walk_chain(bytes);
  ASSERT_TRUE(layout);
  EXPECT_FALSE(pair.agent.open(bytes, *layout));
  EXPECT_EQ(pair.agent.counters().dropped_esp_wrong_home_address, 1U);
}

TEST(SignallingSecurity, ReplayedEspPacketIsDropped_Rfc4303_3_4_3) {
  Pair pair(esp_section());
  auto sent = pair.mobile.outbound(home_registration());
  ASSERT_TRUE(sent);
  auto layout = wire::walk_chain(*sent);
  ASSERT_TRUE(layout);
  EXPECT_TRUE(pair.agent.open(*sent, *layout));
  EXPECT_FALSE(pair.agent.open(*sent, *layout));
  EXPECT_EQ(pair.agent.counters().dropped_esp_replayed, 1U);
}

TEST(SignallingSecurity, UnknownSpiIsDropped_Rfc4303_3_4_2) {
  Pair pair(esp_section());
  auto sent = pair.mobile.outbound(home_registration());
  ASSERT_TRUE(sent);
  auto layout = wire::walk_chain(*sent);
  ASSERT_TRUE(layout);
  (*sent)[layout->upper_offset + 3] ^= std::byte{0x40};  // SPI 0x1000 -> 0x1040
  EXPECT_FALSE(pair.agent.open(*sent, *layout));
  EXPECT_EQ(pair.agent.counters().dropped_esp_unknown_spi, 1U);
}

TEST(SignallingSecurity, OtherSignallingIsNotTouched) {
  Pair pair(esp_section());
  // A BU to a correspondent (no H flag) and a DHAAD-less packet pass unchanged.
  wire::PacketSpec spec;
  spec.header.source = kCareOf;
  spec.header.destination = kCorrespondent;
  spec.extension_headers = {wire::make_home_address_destination_options(kHome)};
  spec.upper_protocol = wire::ip_proto::kMobility;
  spec.upper = unhex("3b01 0500 0000 002a 8000 0064 0102 0000");
  EXPECT_FALSE(pair.mobile.outbound(wire::build_packet(spec)));
}

TEST(SignallingSecurity, HomeTestInitTravelsInEspTunnelMode_Rfc4877_4_3) {
  Pair pair(esp_section(true));
  const Bytes hoti = tunnelled_home_test_init();
  auto opened = deliver(pair.mobile, pair.agent, hoti);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->protection, core::Protection::kEspTunnel);
  EXPECT_EQ(opened->packet, hoti);  // outer header | inner packet, as if IPv6-in-IPv6
  // The same HoTI in a plain tunnel is refused: the policy wants ESP for it.
  core::RxPacket outer = rx(hoti);
  auto inner = wire::decapsulate(hoti);
  ASSERT_TRUE(inner);
  EXPECT_FALSE(pair.agent.admit_tunnelled(outer, *inner));
  EXPECT_EQ(pair.agent.counters().dropped_unprotected_tunnel, 1U);
}

TEST(SignallingSecurity, TunnelledDataIsLeftAloneWithoutPayloadProtection) {
  Pair pair(esp_section(true));
  wire::PacketSpec spec;
  spec.header.source = kHome;
  spec.header.destination = kCorrespondent;
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = unhex("1234 5678 000c 0000 6869 6869");
  const Bytes data = wire::encapsulate(wire::build_packet(spec), {kCareOf, kAgent});
  EXPECT_FALSE(pair.mobile.outbound(data));
  core::RxPacket outer = rx(data);
  auto inner = wire::decapsulate(data);
  ASSERT_TRUE(inner);
  EXPECT_TRUE(pair.agent.admit_tunnelled(outer, *inner));
}

SecuritySection auth_section() {
  SecuritySection section;
  section.signalling = Signalling::kAuthOption;
  AuthOptionEntry entry;
  entry.home_address = kHome;
  entry.spi = 300;
  entry.key = Bytes(16, std::byte{0x42});
  entry.identifier = "mn100@example.net";
  section.auth_option = {entry};
  return section;
}

TEST(SignallingSecurity, AuthOptionSignsAndVerifiesTheRegistration_Rfc4285_5) {
  Pair pair(auth_section());
  auto signed_bu = pair.mobile.outbound(home_registration());
  ASSERT_TRUE(signed_bu && !signed_bu->empty());
  core::RxPacket packet = rx(*signed_bu);
  EXPECT_TRUE(pair.agent.admit(packet));
  EXPECT_EQ(packet.protection, core::Protection::kAuthOption);
  EXPECT_EQ(packet.spi, 300U);
  // The same BU again: its timestamp is not newer than the last accepted (RFC 4285 §6).
  core::RxPacket replay = rx(*signed_bu);
  EXPECT_FALSE(pair.agent.admit(replay));
  EXPECT_EQ(pair.agent.counters().dropped_auth_timestamp, 1U);
}

TEST(SignallingSecurity, AuthOptionTimestampOutsideTheWindowIsDropped_Rfc4285_6) {
  Pair pair(auth_section(), kNow + (std::uint64_t{60} << 32));  // the agent's clock 60 s ahead
  auto signed_bu = pair.mobile.outbound(home_registration());
  ASSERT_TRUE(signed_bu);
  core::RxPacket packet = rx(*signed_bu);
  EXPECT_FALSE(pair.agent.admit(packet));
  EXPECT_EQ(pair.agent.counters().dropped_auth_timestamp, 1U);
}

TEST(SignallingSecurity, AuthOptionMissingIsDropped_Rfc4285_5) {
  Pair pair(auth_section());
  const Bytes bu = home_registration();
  core::RxPacket packet = rx(bu);
  EXPECT_FALSE(pair.agent.admit(packet));
  EXPECT_EQ(pair.agent.counters().dropped_auth_missing, 1U);
}

TEST(SignallingSecurity, NoneChangesNothing) {
  SecuritySection section;
  SignallingSecurity security(section, kHome, [] { return kNow; });
  EXPECT_FALSE(security.outbound(home_registration()));
  const Bytes bu = home_registration();
  core::RxPacket packet = rx(bu);
  EXPECT_TRUE(security.admit(packet));
}

}  // namespace
}  // namespace mipv6::daemon

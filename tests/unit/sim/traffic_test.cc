// UDP constant-bit-rate traffic between the correspondent and the mobile node's home address
// (sim/udp_cbr.h), on the topology of engine_hosts_testbed.h at a fixed seed: the datagrams
// themselves, the path each one takes (§11.3.1 from the node, §9.3.2 from the correspondent),
// what is lost, and the mobile node's cheap registration counters with its log turned off.
// CBR every 100 ms from 500 ms: sequence n is sent at 500 ms + n * 100 ms. Away on link A the
// first registration completes at 1025 ms (the home agent's DAD, §10.3.1), so sequences 0-5
// have no path up (dropped at the source) and are not intercepted down (no binding yet).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_hosts_testbed.h"
#include "traffic_helpers.h"
#include "wire/chain.h"

namespace mipv6::sim {
namespace {

using namespace testing;
using V = std::vector<std::string>;

const wire::Ipv6Address kHome = addr("2001:db8:1::10");
const wire::Ipv6Address kCareOf = addr("2001:db8:a::10");
const wire::Ipv6Address kPeer = addr("2001:db8:c::c");

core::RxPacket parse(const wire::Bytes& packet) {
  auto rx = core::make_rx_packet(packet, 1);
  EXPECT_TRUE(rx.has_value());
  return *rx;
}

// RFC 768 / RFC 8200 §8.1: a plain datagram, ports 5001, the sequence number first.
TEST(UdpCbrPacket, PlainDatagramCarriesTheSequenceNumber) {
  const wire::Bytes packet =
      build_udp_cbr_packet({kHome, kPeer, std::nullopt, std::nullopt, 64}, 0x01020304u, 160);
  EXPECT_EQ(packet.size(), 40u + 8u + 160u);
  const core::RxPacket rx = parse(packet);
  EXPECT_TRUE(wire::verify_upper_checksum(packet, rx.layout));
  EXPECT_EQ(udp_cbr_sequence(rx), 0x01020304u);
  EXPECT_EQ(std::to_integer<int>(packet[40]) << 8 | std::to_integer<int>(packet[41]), 5001);
}

// §6.3: with a Home Address option the checksum covers the home address as source.
TEST(UdpCbrPacket, HomeAddressOptionChecksum_6_3) {
  const wire::Bytes packet =
      build_udp_cbr_packet({kCareOf, kPeer, kHome, std::nullopt, 64}, 7, 160);
  EXPECT_EQ(packet.size(), 40u + 24u + 8u + 160u);
  const core::RxPacket rx = parse(packet);
  EXPECT_EQ(rx.layout.home_address, kHome);
  EXPECT_TRUE(wire::verify_upper_checksum(packet, rx.layout));
  EXPECT_EQ(udp_cbr_sequence(rx), 7u);
}

// §6.4: with a Type 2 Routing header the checksum covers the home address as destination.
TEST(UdpCbrPacket, Type2RoutingHeaderChecksum_6_4) {
  const wire::Bytes packet = build_udp_cbr_packet({kPeer, kCareOf, std::nullopt, kHome, 64}, 9, 4);
  EXPECT_EQ(packet.size(), 40u + 24u + 8u + 4u);
  const core::RxPacket rx = parse(packet);
  EXPECT_EQ(rx.layout.type2_address, kHome);
  EXPECT_TRUE(wire::verify_upper_checksum(packet, rx.layout));
  EXPECT_EQ(udp_cbr_sequence(rx), 9u);
}

TEST(UdpCbrPacket, ShortPayloadStillHoldsTheSequence) {
  const wire::Bytes packet =
      build_udp_cbr_packet({kHome, kPeer, std::nullopt, std::nullopt, 64}, 3, 0);
  EXPECT_EQ(packet.size(), 40u + 8u + 4u);
  EXPECT_EQ(udp_cbr_sequence(parse(packet)), 3u);
}

// §11.3.1: at home the node sends and receives normally; nothing is lost.
TEST(UdpCbrTraffic, AtHomeEverythingGoesDirectly_11_3_1) {
  Testbed bed({.start_link = "home"});
  bed.mn().start_udp_cbr(bed.cn_address(), 100ms, 160, at(500ms), at(3s));
  bed.cn().start_udp_cbr(bed.cn_address(), bed.home_address(), 100ms, 160, at(500ms), at(3s));
  bed.run_until(at(4s));
  ASSERT_EQ(bed.mn().udp_sent().size(), 25u);
  ASSERT_EQ(bed.cn().udp_sent().size(), 25u);
  EXPECT_EQ(count_sent_path(bed.mn().udp_sent(), PathKind::kHome), 25u);
  EXPECT_EQ(count_path(bed.mn().udp_received(), PathKind::kHome), 25u);
  EXPECT_EQ(count_path(bed.cn().udp_received(), PathKind::kHome), 25u);
  EXPECT_TRUE(lost_ranges(bed.mn().udp_sent(), bed.cn().udp_received()).empty());
  EXPECT_TRUE(lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()).empty());
  // 11 ms one way (access link 1 ms, backbone 5 ms, cn link 5 ms); the first datagram also
  // waits for the last router's address resolution (RFC 4861 §7.2: NS + NA on the last link).
  EXPECT_EQ(bed.cn().udp_received()[0].at, at(521ms));
  EXPECT_EQ(bed.mn().udp_received()[0].at, at(513ms));
  EXPECT_EQ(bed.cn().udp_received()[1].at, at(611ms));
  EXPECT_EQ(bed.mn().udp_received()[1].at, at(611ms));
}

// Away with route optimisation (§11.3.1, §9.3.2): the first datagram after the registration
// goes through the home agent both ways, and triggers return routability (§11.7.2); from the
// correspondent's BA (1185 ms) on, both ways are direct: Type 2 Routing header down, Home
// Address option up (§9.3.1).
TEST(UdpCbrTraffic, AwayTunnelThenRouteOptimized_11_3_1) {
  Testbed bed({.start_link = "a"});
  bed.mn().start_udp_cbr(bed.cn_address(), 100ms, 160, at(500ms), at(4s));
  bed.cn().start_udp_cbr(bed.cn_address(), bed.home_address(), 100ms, 160, at(500ms), at(4s));
  bed.run_until(at(5s));
  EXPECT_EQ(signalling(bed.mn(), at(0s), at(5s)),
            (V{"1000 tx BU(H)", "1025000 rx BA 0", "1121000 tx HoTI (tunnel)", "1121000 tx CoTI",
               "1143000 rx CoT", "1163000 rx HoT (tunnel)", "1163000 tx BU()", "1185000 rx BA 0"}));
  const auto& up = bed.mn().udp_sent();
  ASSERT_EQ(up.size(), 35u);
  EXPECT_EQ(count_sent_path(up, std::nullopt), 6u);  // 0-5: no care-of address acknowledged
  EXPECT_EQ(up[6].path, PathKind::kTunnel);
  EXPECT_EQ(count_sent_path(up, PathKind::kRouteOptimized), 28u);  // 7-34
  EXPECT_TRUE(up[7].route_optimized);
  EXPECT_EQ(lost_ranges(up, bed.cn().udp_received()), (V{"0-5"}));
  EXPECT_EQ(lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()), (V{"0-5"}));
  // Down: 6 through the tunnel (1100 ms + 21 ms: CN -> HA -> MN), 7-34 direct (11 ms).
  const auto& down = bed.mn().udp_received();
  ASSERT_EQ(down.size(), 29u);
  EXPECT_EQ(down[0].sequence, 6u);
  EXPECT_EQ(down[0].path, PathKind::kTunnel);
  EXPECT_EQ(down[0].at, at(1121ms));
  EXPECT_EQ(count_path(down, PathKind::kRouteOptimized), 28u);
  EXPECT_EQ(down[1].at, at(1211ms));
  // Up as the correspondent saw it: 6 without a Home Address option (reverse tunnel, 31 ms),
  // 7-34 with one.
  const auto& at_cn = bed.cn().udp_received();
  ASSERT_EQ(at_cn.size(), 29u);
  EXPECT_EQ(at_cn[0].path, PathKind::kHome);
  EXPECT_EQ(at_cn[0].at, at(1131ms));
  EXPECT_EQ(count_path(at_cn, PathKind::kRouteOptimized), 28u);
}

// Without route optimisation everything goes through the home agent (§10.4.1, §10.4.5).
TEST(UdpCbrTraffic, AwayWithoutRouteOptimizationUsesTheTunnel_10_4_5) {
  Testbed bed({.start_link = "a", .route_optimization = false});
  bed.mn().start_udp_cbr(bed.cn_address(), 100ms, 160, at(500ms), at(4s));
  bed.cn().start_udp_cbr(bed.cn_address(), bed.home_address(), 100ms, 160, at(500ms), at(4s));
  bed.run_until(at(5s));
  EXPECT_EQ(count_sent_path(bed.mn().udp_sent(), PathKind::kTunnel), 29u);
  EXPECT_EQ(count_path(bed.mn().udp_received(), PathKind::kTunnel), 29u);
  EXPECT_EQ(count_path(bed.cn().udp_received(), PathKind::kHome), 29u);
  EXPECT_EQ(bed.ha().node_counters().tunnelled, 29u);
  EXPECT_EQ(bed.ha().node_counters().reverse_tunnelled, 29u);
}

// With the log off nothing is logged (no string per event) but the registration counters are
// the same: one BU(H), one BA, the first registration taking 1024 ms (home agent's DAD).
TEST(MobileHostStats, LogOffKeepsRegistrationStats_11_7_1) {
  for (bool log : {true, false}) {
    Testbed bed({.start_link = "a", .log = log});
    bed.run_until(at(3s));
    EXPECT_EQ(bed.mn().log().empty(), !log);
    EXPECT_EQ(bed.ha().log().empty(), !log);
    const auto stats = bed.mn().registration_stats();
    EXPECT_EQ(stats.bu_home_sent, 1u);
    EXPECT_EQ(stats.ba_received, 1u);
    EXPECT_EQ(stats.ba_rejected, 0u);
    EXPECT_EQ(stats.first_registration, std::optional<Duration>(1024ms));
  }
}

}  // namespace
}  // namespace mipv6::sim

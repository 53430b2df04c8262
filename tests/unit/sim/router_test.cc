#include "sim/router.h"

#include <gtest/gtest.h>

#include "sim/link.h"
#include "sim_test_util.h"
#include "wire/chain.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;
using testing::make_packet;
using testing::RecordingNode;

// host a (2001:db8:1::a) -- lan1 (10 Mbit/s, 1 ms) -- router -- lan2 (100 Mbit/s, 2 ms) -- host b
struct TwoLinks {
  TwoLinks()
      : lan1(s, "lan1", LinkParams{.delay = 1ms, .bandwidth_bps = 10'000'000}, 1),
        lan2(s, "lan2", LinkParams{.delay = 2ms, .bandwidth_bps = 100'000'000}, 2),
        a(s, "a"),
        b(s, "b"),
        r(s, "r") {
    a.add_interface(MacAddress::synthetic(1)).add_address(addr("2001:db8:1::a"));
    b.add_interface(MacAddress::synthetic(2)).add_address(addr("2001:db8:2::b"));
    r.add_interface(MacAddress::synthetic(3)).add_address(addr("2001:db8:1::1"));
    r.add_interface(MacAddress::synthetic(4)).add_address(addr("2001:db8:2::1"));
    r.add_connected_routes();
    lan1.attach(*a.interface(1));
    lan1.attach(*r.interface(1));
    lan2.attach(*r.interface(2));
    lan2.attach(*b.interface(1));
  }
  // a sends to b through its default router.
  void a_sends(std::size_t size, std::uint8_t hop_limit = 64, const char* to = "2001:db8:2::b") {
    a.interface(1)->send_ipv6(addr("2001:db8:1::1"),
                              make_packet(addr("2001:db8:1::a"), addr(to), size, hop_limit));
  }

  Scheduler s;
  Link lan1, lan2;
  RecordingNode a, b;
  Router r;
};

TEST(Router, ForwardsAcrossTwoLinksWithExactArrivalTime) {
  TwoLinks net;
  net.a_sends(1000);  // 1014-byte frames: 811.2 us on lan1, 81.12 us on lan2
  net.s.run_all();
  ASSERT_EQ(net.b.received.size(), 1u);
  EXPECT_EQ(net.b.received[0].at, at(Duration(811'200 + 1'000'000 + 81'120 + 2'000'000)));
  EXPECT_EQ(net.b.received[0].frame.source, net.r.interface(2)->mac());
  EXPECT_EQ(net.r.counters().forwarded, 1u);
}

TEST(Router, DecrementsHopLimit_Rfc8200_3) {
  TwoLinks net;
  net.a_sends(100, 64);
  net.s.run_all();
  ASSERT_EQ(net.b.received.size(), 1u);
  auto h = wire::decode_ipv6_header(net.b.received[0].frame.packet);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->hop_limit, 63);
  EXPECT_EQ(h->destination, addr("2001:db8:2::b"));
}

TEST(Router, DiscardsPacketWhoseHopLimitWouldReachZero_Rfc8200_3) {
  TwoLinks net;
  net.a_sends(100, 1);
  net.a_sends(100, 0);
  net.a_sends(100, 2);
  net.s.run_all();
  EXPECT_EQ(net.b.received.size(), 1u);
  EXPECT_EQ(net.r.counters().dropped_hop_limit, 2u);
}

TEST(Router, DropsWithoutRouteOrNeighbour) {
  TwoLinks net;
  net.a_sends(100, 64, "2001:db8:9::1");   // no route
  net.a_sends(100, 64, "2001:db8:2::99");  // on-link, but nobody has it
  net.s.run_all();
  EXPECT_EQ(net.r.counters().dropped_no_route, 1u);
  EXPECT_EQ(net.r.counters().dropped_no_neighbour, 1u);
  EXPECT_TRUE(net.b.received.empty());
}

TEST(Router, DoesNotForwardLinkLocalDestinations_Rfc4291_2_5_6) {
  TwoLinks net;
  net.a_sends(100, 64, "fe80::b");
  net.s.run_all();
  EXPECT_EQ(net.r.counters().dropped_scope, 1u);
}

TEST(Router, KeepsPacketsForItselfAndMulticast) {
  TwoLinks net;
  net.a_sends(100, 64, "2001:db8:2::1");  // the router's other address
  net.a.interface(1)->send_ipv6(addr("ff02::2"), make_packet(addr("fe80::a"), addr("ff02::2")));
  net.s.run_all();
  EXPECT_EQ(net.r.counters().local, 2u);
  EXPECT_EQ(net.r.counters().forwarded, 0u);
}

TEST(Router, DropsMalformedPackets) {
  TwoLinks net;
  net.a.interface(1)->send_frame(net.r.interface(1)->mac(), wire::Bytes(10));
  net.s.run_all();
  EXPECT_EQ(net.r.counters().dropped_malformed, 1u);
}

TEST(Router, LongestPrefixWinsAndGatewayIsTheNextHop) {
  Scheduler s;
  Router r(s, "r");
  Interface& i1 = r.add_interface(MacAddress::synthetic(1));
  Interface& i2 = r.add_interface(MacAddress::synthetic(2));
  r.add_route(Route{addr("::"), 0, &i1, addr("2001:db8:1::fe")});
  r.add_route(Route{addr("2001:db8::"), 32, &i1, std::nullopt});
  r.add_route(Route{addr("2001:db8:5::"), 48, &i2, std::nullopt});
  EXPECT_EQ(r.lookup(addr("2001:db8:5::1"))->out, &i2);
  EXPECT_EQ(r.lookup(addr("2001:db8:6::1"))->prefix_len, 32);
  EXPECT_EQ(r.lookup(addr("2001:db9::1"))->gateway, addr("2001:db8:1::fe"));
}

// The ICMPv6 error host a received, checked for a valid checksum and source/destination.
wire::Icmpv6Message error_received_by_a(const TwoLinks& net, std::size_t index = 0) {
  const wire::Bytes& packet = net.a.received.at(index).frame.packet;
  auto layout = wire::walk_chain(packet);
  EXPECT_TRUE(layout);
  EXPECT_EQ(layout->upper_protocol, wire::ip_proto::kIcmpv6);
  EXPECT_EQ(layout->ipv6.source, addr("2001:db8:1::1"));  // the ingress interface (RFC 4443 §2.2)
  EXPECT_EQ(layout->ipv6.destination, addr("2001:db8:1::a"));
  auto msg = wire::ByteSpan(packet).subspan(layout->upper_offset);
  EXPECT_EQ(wire::icmpv6_checksum(layout->ipv6.source, layout->ipv6.destination, msg), 0);
  auto decoded = wire::decode_icmpv6(msg);
  EXPECT_TRUE(decoded);
  return *decoded;
}

TEST(Router, HopLimitExceededIsAnsweredWithTimeExceededCode0_Rfc4443_3_3) {
  TwoLinks net;
  net.a_sends(100, 1);
  net.s.run_all();
  ASSERT_EQ(net.a.received.size(), 1u);
  // 114-byte frame to the router, 162-byte error back, both at 10 Mbit/s over 1 ms.
  EXPECT_EQ(net.a.received[0].at, at(Duration(91'200 + 1'000'000 + 129'600 + 1'000'000)));
  auto m = error_received_by_a(net);
  EXPECT_EQ(m.code, 0);
  auto* te = std::get_if<wire::TimeExceeded>(&m.body);
  ASSERT_NE(te, nullptr);
  EXPECT_EQ(te->invoking_packet, make_packet(addr("2001:db8:1::a"), addr("2001:db8:2::b"), 100, 1));
  EXPECT_EQ(net.r.counters().icmp_errors_sent, 1u);
}

TEST(Router, NoRouteIsAnsweredWithDestinationUnreachableCode0_Rfc4443_3_1) {
  TwoLinks net;
  net.a_sends(100, 64, "2001:db8:9::1");
  net.s.run_all();
  ASSERT_EQ(net.a.received.size(), 1u);
  auto m = error_received_by_a(net);
  EXPECT_EQ(m.code, 0);
  EXPECT_TRUE(std::holds_alternative<wire::DestinationUnreachable>(m.body));
}

TEST(Router, UnresolvableNeighbourIsAnsweredWithAddressUnreachableCode3_Rfc4443_3_1) {
  TwoLinks net;
  net.a_sends(100, 64, "2001:db8:2::99");
  net.s.run_all();
  ASSERT_EQ(net.a.received.size(), 1u);
  auto m = error_received_by_a(net);
  EXPECT_EQ(m.code, 3);
  EXPECT_TRUE(std::holds_alternative<wire::DestinationUnreachable>(m.body));
}

TEST(Router, ErrorCarriesAsMuchOfTheInvokingPacketAsFitsIn1280Bytes_Rfc4443_2_4_c) {
  TwoLinks net;
  net.a_sends(1500, 1);
  net.s.run_all();
  ASSERT_EQ(net.a.received.size(), 1u);
  EXPECT_EQ(net.a.received[0].frame.packet.size(), 1280u);
  auto m = error_received_by_a(net);
  EXPECT_EQ(std::get<wire::TimeExceeded>(m.body).invoking_packet.size(), 1232u);
}

TEST(Router, NeverAnswersAnIcmpv6ErrorWithAnError_Rfc4443_2_4_e) {
  TwoLinks net;
  wire::Icmpv6Message error;
  error.body = wire::TimeExceeded{0, wire::Bytes(8)};
  wire::PacketSpec spec;
  spec.header.source = addr("2001:db8:1::a");
  spec.header.destination = addr("2001:db8:2::b");
  spec.header.hop_limit = 1;
  spec.upper_protocol = wire::ip_proto::kIcmpv6;
  wire::encode_icmpv6(error, spec.upper);
  net.a.interface(1)->send_ipv6(addr("2001:db8:1::1"), wire::build_packet(spec));
  net.s.run_all();
  EXPECT_EQ(net.r.counters().dropped_hop_limit, 1u);
  EXPECT_TRUE(net.a.received.empty());
}

TEST(Router, IcmpErrorsCanBeDisabled) {
  TwoLinks net;
  net.r.set_icmp_errors(false);
  net.a_sends(100, 1);
  net.s.run_all();
  EXPECT_TRUE(net.a.received.empty());
  EXPECT_EQ(net.r.counters().dropped_hop_limit, 1u);
}

}  // namespace
}  // namespace mipv6::sim
